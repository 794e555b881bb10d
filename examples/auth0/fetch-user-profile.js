function fetchUserProfile(accessToken, context, callback) {
  /*
   * Auth0 custom social connection -> QR login relay: the "Fetch User Profile Script".
   * docs/auth0.md walks through the whole connection.
   *
   * EDIT ONE LINE before pasting: RELAY_USERINFO_URL, the first line after this comment. It is
   * the relay's issuer followed by /userinfo, e.g. https://login.example.com/userinfo (the same
   * host as the connection's Authorization URL and Token URL). Nothing else needs editing. Left
   * as it is, the script fails every login with an Error that says so.
   *
   * Where it goes, the whole file: Auth0 Dashboard > Authentication > Social > (the connection)
   * > Fetch User Profile Script; or, through the Management API, options.scripts.fetchUserProfile
   * as one string.
   *
   * What it does: Auth0 has just redeemed the relay's code at /token and calls
   * fetchUserProfile(accessToken, context, callback), context being the token response. The
   * script sends the access token to the relay's /userinfo as "Authorization: Bearer <token>"
   * with Node's built-in http(s) module (no versioned require, so it does not depend on which npm
   * modules the Auth0 runtime offers) and maps the answer onto the Auth0 profile:
   *
   *   sub                 -> user_id         always; "PROVIDER:SUBJECT", stable per person
   *   name                -> name            with the "profile" scope, when the provider gave one
   *   picture             -> picture         the same
   *   preferred_username  -> nickname        the same
   *   idp                 -> relay_provider  always; the relay's provider name, e.g. "wechat"
   *
   * Any answer other than HTTP 200 with a JSON object holding a sub fails the login with an
   * Error whose message carries the HTTP status and the relay's error and error_description:
   *   relay /userinfo answered HTTP 401 (invalid_token: the access token is invalid, expired or
   *   revoked)
   * A relay that cannot be reached, or does not answer within 10 s, fails it with
   *   relay /userinfo: the request failed: <the network error>
   */
  var RELAY_USERINFO_URL = 'https://RELAY_HOST/userinfo';

  var TIMEOUT_MS = 10000;
  var MAX_BODY_BYTES = 64 * 1024;

  var URL = require('url').URL;
  var done = false;

  function finish(error, profile) {
    if (done) return;
    done = true;
    callback(error, profile);
  }

  // `context` (the token response, with id_token when the scope includes openid) goes unused:
  // trusting the id_token would mean verifying it against the relay's JWKS here, while /userinfo,
  // reached over TLS with the access token, gives the same claims.

  if (typeof accessToken !== 'string' || accessToken === '') {
    finish(new Error('relay: Auth0 passed no access token to fetchUserProfile'));
    return;
  }

  var url;
  try {
    url = new URL(RELAY_USERINFO_URL);
  } catch (e) {
    finish(new Error('relay: RELAY_USERINFO_URL is not a valid URL: ' + RELAY_USERINFO_URL));
    return;
  }
  if (url.hostname === 'relay_host') {
    // The placeholder (a URL's host reads in lower case): say so rather than look up RELAY_HOST.
    finish(new Error('relay: edit the script: set RELAY_USERINFO_URL to https://<your relay>/userinfo'));
    return;
  }
  // https in production; plain http only for a relay on a test network.
  var transport = url.protocol === 'http:' ? require('http') : require('https');

  var request = transport.request(
    url,
    {
      method: 'GET',
      headers: {
        Authorization: 'Bearer ' + accessToken,
        Accept: 'application/json',
      },
      timeout: TIMEOUT_MS,
    },
    function (response) {
      var chunks = [];
      var size = 0;
      response.on('data', function (chunk) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          response.destroy();
          finish(new Error('relay /userinfo: the answer is larger than ' + MAX_BODY_BYTES + ' bytes'));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', function (error) {
        finish(new Error('relay /userinfo: reading the answer failed: ' + error.message));
      });
      response.on('end', function () {
        var text = Buffer.concat(chunks).toString('utf8');
        var body = null;
        try {
          body = JSON.parse(text);
        } catch (e) {
          body = null;
        }
        var isObject = body !== null && typeof body === 'object' && !Array.isArray(body);

        if (response.statusCode !== 200) {
          var detail;
          if (isObject && typeof body.error === 'string') {
            detail = body.error + (body.error_description ? ': ' + body.error_description : '');
          } else {
            detail = response.headers['www-authenticate'] || text.slice(0, 200) || 'no body';
          }
          finish(new Error('relay /userinfo answered HTTP ' + response.statusCode + ' (' + detail + ')'));
          return;
        }
        if (!isObject) {
          finish(new Error('relay /userinfo answered HTTP 200 without a JSON object: ' + text.slice(0, 200)));
          return;
        }
        if (typeof body.sub !== 'string' || body.sub === '') {
          finish(new Error('relay /userinfo answered HTTP 200 without a sub'));
          return;
        }

        var profile = { user_id: body.sub };
        if (typeof body.name === 'string' && body.name) profile.name = body.name;
        if (typeof body.picture === 'string' && body.picture) profile.picture = body.picture;
        if (typeof body.preferred_username === 'string' && body.preferred_username) {
          profile.nickname = body.preferred_username;
        }
        if (typeof body.idp === 'string' && body.idp) profile.relay_provider = body.idp;

        finish(null, profile);
      });
    }
  );
  request.on('timeout', function () {
    request.destroy(new Error('no answer within ' + TIMEOUT_MS + ' ms'));
  });
  request.on('error', function (error) {
    finish(new Error('relay /userinfo: the request failed: ' + error.message));
  });
  request.end();
}
