// Plays Auth0's part for a custom social connection's Fetch User Profile Script: compiles the
// script's text as a function expression (the form Auth0 takes it in, a function and nothing
// else), with `require` as the only thing handed in, and calls
// fetchUserProfile(accessToken, context, callback).
//
//   node run-fetch-user-profile.js SCRIPT.js < {"accessToken": "...", "context": {...}}
//
// Prints one JSON object: {"calls": N, "error": {"name", "message"} | null, "profile": ... | null}
// for the callback's first call, N counting every call within a short while after it (a script
// must call back exactly once). Exits 1 when the script never calls back within WAIT_MS.
'use strict';

const fs = require('fs');

const WAIT_MS = 20000; // the script's own timeout is 10 s
const AFTER_MS = 200; // how long a second call is waited for

const source = fs.readFileSync(process.argv[2], 'utf8');
const { accessToken, context } = JSON.parse(fs.readFileSync(0, 'utf8'));

const fetchUserProfile = new Function('require', `return (\n${source}\n);`)(require);
if (typeof fetchUserProfile !== 'function') {
  throw new Error('the script is not one function');
}

let first = null;
let calls = 0;
const giveUp = setTimeout(() => {
  process.stdout.write(JSON.stringify({ calls: 0, error: null, profile: null }));
  process.exit(1);
}, WAIT_MS);

fetchUserProfile(accessToken, context, (error, profile) => {
  calls += 1;
  if (first !== null) return;
  clearTimeout(giveUp);
  first = {
    error: error ? { name: String(error.name), message: String(error.message) } : null,
    profile: profile === undefined ? null : profile,
  };
  // Exit on purpose: Node's default agent keeps the connection to the relay alive a while.
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ calls, ...first }));
    process.exit(0);
  }, AFTER_MS);
});
