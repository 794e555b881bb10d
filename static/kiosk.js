// The kiosk page (relay/kiosk/page.py): a full-screen QR that signs in one person after another.
// Each login: POST /kiosk/{client}/logins, draw its QR (static/qr.js), follow its status over a
// websocket (Server-Sent Events where no websocket gets through), and when it ends start the next
// one without a reload. Nothing of a login is kept once it ends: its socket, timers and drawing go
// with it (`login` below is the only reference), so the page can run for days.
// No inline script: the page hands its data over in data- attributes (texts: data-texts).
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  if (!root) return;

  const base = root.dataset.base; // the page's own path, as the relay spells it for its cookie
  const mode = root.dataset.mode; // "redirect" | "message"
  const targetOrigin = root.dataset.targetOrigin; // the first redirect_uri's origin
  const provider = root.dataset.provider;
  const I18N = JSON.parse(root.dataset.texts);
  const TEXT = I18N.status;
  const el = (id) => document.getElementById(id);
  const statusLine = el("status");
  const SHOW_OUTCOME_MS = 4000; // "Signed in" (or why not) stays this long, then the next QR

  let login = null; // the login on screen: {id, socket, stream, timers, ended}
  let previousId = ""; // the one before, whose cookie the server removes with the next start
  let failures = 0;
  let pendingStart = null; // the one timer that starts the next login

  function startIn(delay) {
    if (pendingStart !== null) window.clearTimeout(pendingStart);
    pendingStart = window.setTimeout(() => {
      pendingStart = null;
      start();
    }, delay);
  }

  function setState(status, text) {
    root.dataset.status = status;
    if (statusLine.textContent !== text) statusLine.textContent = text;
    el("qr").classList.toggle("dimmed", status !== "pending");
  }

  function drawCode(url) {
    const svg = window.RelayQR.svgElement(document, window.RelayQR.encode(url));
    el("qr").replaceChildren(svg);
    root.dataset.scanUrl = url;
  }

  function later(current, fn, ms) {
    const timer = window.setTimeout(() => {
      current.timers.delete(timer);
      fn();
    }, ms);
    current.timers.add(timer);
  }

  // Drop everything of this login: socket, stream, timers. The next login starts afterwards.
  function drop(current) {
    if (current.ended) return;
    current.ended = true;
    current.timers.forEach((timer) => window.clearTimeout(timer));
    current.timers.clear();
    if (current.socket) {
      current.socket.onopen = current.socket.onmessage = current.socket.onclose = null;
      current.socket.close();
      current.socket = null;
    }
    if (current.stream) {
      current.stream.close();
      current.stream = null;
    }
    if (login === current) login = null;
    previousId = current.id;
  }

  function nextLogin(delay) {
    if (login) drop(login);
    startIn(delay || 0);
  }

  async function start() {
    setState("starting", root.dataset.starting);
    el("match-code").hidden = true;
    const query = new URLSearchParams({ provider: provider });
    if (previousId) query.set("previous", previousId);
    let answer;
    try {
      const response = await fetch(base + "/logins?" + query, {
        method: "POST",
        credentials: "same-origin",
      });
      if (response.status === 403) {
        // Locked (its cookie is gone or too old): reloaded, the page says so, where retrying
        // would fail on and on without a word. A second later, so that a refusal for another
        // reason (the page then loads unlocked again) cannot reload it in a tight loop.
        setState("starting", I18N.reconnecting);
        window.setTimeout(() => window.location.reload(), 1000);
        return;
      }
      if (!response.ok) throw new Error("status " + response.status);
      answer = await response.json();
    } catch (failed) {
      // The relay is away or refuses for now: try again, waiting longer each time (10 s at most).
      failures += 1;
      setState("starting", I18N.reconnecting);
      startIn(Math.min(10000, 500 * 2 ** failures));
      return;
    }
    failures = 0;
    previousId = "";
    const current = { id: answer.session_id, socket: null, stream: null, timers: new Set(), ended: false, handing: false };
    login = current;
    drawCode(answer.scan_url);
    if (answer.match_code !== null && answer.match_code !== undefined) {
      el("match-number").textContent = answer.match_code;
      el("match-code").hidden = false;
    }
    setState("pending", TEXT.pending);
    // Should the stream not say so, the login's end is known anyway: its expiry, plus a little.
    // Counted from now on this screen's clock (expires_in), not against the relay's expires_at:
    // a kiosk's clock may be minutes or hours off, and ahead it would start login after login.
    later(current, () => nextLogin(0), answer.expires_in * 1000 + 3000);
    connect(current, 0);
  }

  function show(current, event) {
    if (current.ended || current.handing) return;
    const status = event.status;
    if (status === "pending") {
      if (event.scan_url && event.scan_url !== root.dataset.scanUrl) drawCode(event.scan_url);
      setState("pending", TEXT.pending);
      return;
    }
    if (status === "scanned") {
      el("match-code").hidden = true;
      setState("scanned", TEXT.scanned);
      return;
    }
    if (status === "confirmed") {
      setState("confirmed", TEXT.confirmed);
      if (mode === "redirect") {
        drop(current);
        window.location.assign("/sessions/" + current.id + "/resume");
      } else {
        handOver(current);
      }
      return;
    }
    if (status === "expired" || status === "completed") {
      nextLogin(0);
      return;
    }
    // denied, failed, cancelled: say so for a moment, then the next person's QR.
    let text = TEXT[status] || status;
    if (event.reason && I18N.reasons[event.reason]) text = I18N.reasons[event.reason];
    setState(status, text);
    drop(current);
    nextLogin(SHOW_OUTCOME_MS);
  }

  // Message mode: the code, once, posted to the window that embeds the page (or to this one).
  async function handOver(current) {
    current.handing = true; // what the stream says next (completed, its close) changes nothing
    let result = null;
    try {
      const response = await fetch(base + "/logins/" + encodeURIComponent(current.id) + "/code", {
        method: "POST",
        credentials: "same-origin",
      });
      if (response.ok) result = await response.json();
    } catch (failed) {
      result = null;
    }
    drop(current);
    let posted = false;
    if (result) {
      const message = { type: "qr-relay-login", code: result.code, state: result.state, iss: result.iss };
      const embedded = window.parent !== window;
      try {
        window.parent.postMessage(message, embedded ? targetOrigin : window.location.origin);
        posted = true;
      } catch (refused) {
        posted = false; // an origin the browser refuses: this person failed, the next one goes on
      }
    }
    setState(posted ? "completed" : "failed", posted ? TEXT.completed : TEXT.failed);
    nextLogin(SHOW_OUTCOME_MS);
  }

  function connect(current, attempt) {
    if (current.ended) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(scheme + "//" + window.location.host + "/sessions/" + current.id + "/live");
    } catch (refused) {
      fallBack(current);
      return;
    }
    current.socket = socket;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (message) => show(current, JSON.parse(message.data));
    socket.onclose = (closed) => {
      current.socket = null;
      if (current.ended || current.handing) return;
      if (closed.code === 1008) {
        nextLogin(2000); // not this browser's login (any more): a fresh one
        return;
      }
      if (!opened && attempt >= 1) {
        fallBack(current); // twice no websocket got through: the event stream
        return;
      }
      const delay = Math.min(10000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      later(current, () => connect(current, attempt + 1), delay);
    };
  }

  function fallBack(current) {
    if (typeof window.EventSource !== "function") {
      later(current, () => connect(current, 0), 5000);
      return;
    }
    const stream = new EventSource("/sessions/" + current.id + "/events");
    current.stream = stream;
    stream.addEventListener("status", (message) => show(current, JSON.parse(message.data)));
    stream.onerror = () => {
      if (current.ended) stream.close();
    };
  }

  startIn(0);
})();
