// The server's error codes (docs/protocol.md) in words a player understands.
// The raw message is written for developers, except `illegal`'s, which the
// rules write for players ("the minimum raise is to 40"), and `tournament`'s: those are kept.

export const SENTENCES = {
  bad_json: "The server could not read what this page sent. Reload the page if it happens again.",
  protocol: "This page is older than the server: reload it.",
  bad_message: "The server did not understand that request. Reload the page if it happens again.",
  unknown_type: "The server did not understand that request. Reload the page if it happens again.",
  binary: "The server did not understand that request. Reload the page if it happens again.",
  hello_first: "Still connecting \u2014 try again in a moment.",
  bad_token: "Your session has expired. Choose a nickname to play again.",
  no_table: "That table does not exist any more.",
  not_seated: "You need a seat at this table to do that.",
  seat_taken: "That seat is taken, or you already sit at this table.",
  seat_reserved: "That seat is held for the next player on the table's waiting list just now: join the list, or try again in a moment.",
  waiting_list: "You cannot join or leave that waiting list now: a seat may be free (sit down instead), or you are on the list already (or no longer).",
  buy_in: "That amount is outside the table's buy-in limits, or more than your bankroll.",
  no_tournament: "That tournament does not exist any more.",
  tournament: "The tournament does not allow that now.",
  illegal: "The rules do not allow that now.",
  chat: "A chat message is 1 to 200 characters.",
  unavailable: "The table's server cannot be reached just now. Your seat and chips are safe: try again in a moment.",
  rate_limited: "Slow down \u2014 too many clicks at once. Try again in a second.",
  paused: "Play is paused: the server cannot save the game just now. Your seat and chips are safe, and play resumes by itself.",
  internal: "Something went wrong on the server. Nothing was changed: please try again.",
};

// What to tell the player about an `error` message.
export function errorText(err) {
  if (!err) return "Something went wrong.";
  // `illegal`'s and `tournament`'s messages say why, for players ("the tournament has
  // started: registration is closed", "the buy-in is 100; your bankroll is 40").
  if ((err.code === "illegal" || err.code === "tournament") && err.message) {
    return err.message.charAt(0).toUpperCase() + err.message.slice(1) + (/[.!?]$/.test(err.message) ? "" : ".");
  }
  return SENTENCES[err.code] || "Something went wrong. Please try again.";
}
