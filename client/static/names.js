// The player-name rule: the server's (player_name in server/protocol.py), the same
// letter for letter (tests/test_names.py runs both over every assigned code point).
// 1-20 letters of any script, digits, spaces and _ - . once trimmed and composed (NFC).

export const NAME_RULE = /^[\p{L}\p{N}_ .-]{1,20}$/u;
export const NAME_HINT = "1\u201320 letters (any alphabet), digits, spaces, _ - .";

// What Python's str.strip() takes off (its whitespace: JavaScript's trim() differs by
// the separators \x1c-\x1f and \x85, and by \ufeff, which Python keeps).
const SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const ENDS = new RegExp(`^${SPACE}+|${SPACE}+$`, "gu");

// The name the server would keep, or null if it would refuse it.
export function playerName(raw) {
  const name = String(raw).replace(ENDS, "").normalize("NFC");
  return NAME_RULE.test(name) && !name.includes("\n") ? name : null;
}
