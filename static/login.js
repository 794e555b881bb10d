// The desktop login page: live status over a websocket (or Server-Sent Events where no websocket
// gets through), countdown, phone simulator.
// No inline script: the page hands its data over in data- attributes, its texts too (data-texts,
// JSON in the page's language: relay/pages/outcomes.py).
(function () {
  "use strict";
  const root = document.getElementById("login");
  if (!root) return;

  const sessionId = root.dataset.session;
  const expiresAt = Number(root.dataset.expiresAt);
  const el = (id) => document.getElementById(id);
  const statusLine = el("status");
  const I18N = JSON.parse(root.dataset.texts);
  const TEXT = I18N.status;
  const FINAL = new Set(["completed", "expired", "cancelled", "denied", "failed"]);

  let status = root.dataset.status;
  let attempts = 0;
  let unopened = 0; // websockets in a row that closed before they ever opened
  let socket = null;
  let finished = false;

  function setStatus(text) {
    if (statusLine.textContent !== text) statusLine.textContent = text;
  }

  // A new QR: the server sends its URL every qr_rotate seconds while the login waits (the old
  // code stops working soon after), and the page draws it (static/qr.js), the same SVG the
  // server draws for the first one. Built with DOM calls: no markup from the wire.
  function showCode(event) {
    if (root.dataset.scanUrl === event.scan_url) return; // the code on the page already
    let modules;
    try {
      modules = window.RelayQR.encode(event.scan_url);
    } catch (failed) {
      window.location.reload(); // the server draws the current code
      return;
    }
    const svg = window.RelayQR.svgElement(document, modules);
    const frame = el("qr");
    frame.replaceChild(svg, frame.querySelector("svg"));
    root.dataset.scanUrl = event.scan_url;
    if (el("simulator")) el("simulator").dataset.url = event.scan_url;
  }

  // How the login ended, by its reason code; the provider's own words are on the phone.
  function outcome(event) {
    if (event.reason && I18N.reasons[event.reason]) return I18N.reasons[event.reason];
    if (event.status === "failed" && event.reason) return I18N.failed.replace("{reason}", event.reason);
    return TEXT[event.status];
  }

  function show(event) {
    if (event.status === "pending" && event.scan_url) showCode(event);
    status = event.status;
    root.dataset.status = status;
    setStatus(TEXT[status] || status);
    el("qr").classList.toggle("dimmed", status !== "pending");
    if (status !== "pending") {
      // Scanned: the QR has done its job; what is left to do is on the phone (or Cancel).
      el("steps").hidden = true;
      el("same-device").hidden = true;
      if (el("here")) el("here").hidden = true;
      if (el("other-device")) el("other-device").hidden = true;
      if (el("simulator")) el("simulator").hidden = true;
    }
    if (status === "confirmed") {
      finished = true;
      window.location.assign("/sessions/" + sessionId + "/resume");
      return;
    }
    if (status === "expired") {
      // Refresh for a new code, or give up and go back to the app.
      el("refresh-form").hidden = false;
      el("outcome").hidden = false;
      el("outcome-text").textContent = "";
      el("outcome-text").hidden = true;
      el("countdown-line").hidden = true;
      el("steps").hidden = true;
    }
    if (status === "denied" || status === "failed" || status === "cancelled") {
      el("outcome").hidden = false;
      el("outcome-text").textContent = outcome(event);
      el("outcome-text").hidden = false;
      el("steps").hidden = true;
      el("countdown-line").hidden = true;
    }
    if (FINAL.has(status)) {
      finished = true;
      el("actions").hidden = true;
    }
  }

  // Exponential back-off with jitter: 0.5 s, 1 s, 2 s, … at most 10 s.
  function backoff() {
    const delay = Math.min(10000, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    return delay;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    try {
      socket = new WebSocket(scheme + "//" + window.location.host + "/sessions/" + sessionId + "/live");
    } catch (refused) {
      socket = null;
      if (!fallBack()) {
        setStatus(I18N.reconnecting);
        window.setTimeout(connect, backoff());
      }
      return;
    }
    socket.onopen = () => {
      opened = true;
      unopened = 0;
    };
    socket.onmessage = (message) => {
      attempts = 0;
      show(JSON.parse(message.data));
    };
    socket.onclose = (closed) => {
      if (finished) return;
      if (closed.code === 1008) {
        setStatus(I18N.elsewhere);
        return;
      }
      if (!opened) {
        unopened += 1;
        // Twice in a row no websocket got through (a proxy or a firewall): use the event stream.
        if (unopened >= 2 && fallBack()) return;
      }
      const delay = backoff();
      if (attempts > 2) setStatus(I18N.reconnecting);
      window.setTimeout(connect, delay);
    };
  }

  // The same status events over Server-Sent Events. Quietly: the user hears of it only when
  // this fails too. EventSource reconnects by itself (the server asks for 2 s) and gets the
  // current state first; it gives up only when refused outright, and then we try again later.
  function fallBack() {
    if (typeof window.EventSource !== "function") return false;
    const stream = new EventSource("/sessions/" + sessionId + "/events");
    stream.addEventListener("status", (message) => {
      attempts = 0;
      show(JSON.parse(message.data));
      if (finished) stream.close();
    });
    stream.onerror = () => {
      if (finished) {
        stream.close();
        return;
      }
      setStatus(I18N.reconnecting);
      if (stream.readyState === EventSource.CLOSED) window.setTimeout(fallBack, backoff());
    };
    return true;
  }

  function tick() {
    const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    const text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    const countdown = el("countdown");
    if (countdown.textContent !== text) countdown.textContent = text;
    if (left === 0 || FINAL.has(status)) return;
    window.setTimeout(tick, 1000);
  }

  const simulator = el("simulator");
  if (simulator) {
    simulator.addEventListener("click", () => {
      window.open(simulator.dataset.url, "qr-relay-phone", "width=390,height=780");
    });
  }

  show({ status: status });
  if (!FINAL.has(status)) {
    connect();
    tick();
  }
})();
