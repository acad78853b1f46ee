// The server's clock (deadlines are its epoch milliseconds), as well as we know it.
// No DOM here: state.js imports it, and state.js also runs under Node in the tests.

let clockOffset = 0;

export function setClockOffset(ms) {
  clockOffset = ms;
}

export function serverNow() {
  return Date.now() + clockOffset;
}
