// The client's copy of one table: built from a full `table` message, then kept
// in step by applying versioned `event`s in order. Pure data, no DOM: this
// module (and clock.js, its only import) also runs under Node in the tests
// (tests/js/check_state.mjs), which check that the events and a full `table`
// message at the same version give the same picture.
//
// `applyEvent(state, event, v, me) -> state` is a pure function: it returns a
// new state and leaves its argument alone, so a caller may apply one event or a
// batch of them, and keep the old state for an animation.
//
// Log lines are arrays of parts: strings, or {cards: [...]} for inline cards,
// with a `kind` for styling. They are rendered with textContent only.

import { serverNow } from "./clock.js";

const MAX_LOG = 200;
const MAX_CHAT = 100;

// A full `table` message. Per docs/protocol.md, `hand.pots` are the pots as
// collected at the end of the last betting round: this street's bets are each
// seat's `bet`, not in a pot yet (the pot total adds them: see potTotal).
export function fromTable(msg, previous = null) {
  const view = msg.view || {};
  const seats = (view.seats || []).map((s) => (s ? normSeat(s) : null));
  const hand = view.hand ? {
    ...view.hand,
    board: [...(view.hand.board || [])],
    second_board: [...(view.hand.second_board || [])], // run twice: the whole second board
    pots: (view.hand.pots || []).map((p) => ({ amount: p.amount, eligible: [...(p.eligible || [])] })),
  } : null;
  const state = {
    id: msg.table,
    name: msg.name || msg.table,
    v: msg.v,
    you: msg.you ?? null,
    min_buy_in: msg.min_buy_in,
    max_buy_in: msg.max_buy_in,
    small_blind: view.small_blind,
    big_blind: view.big_blind,
    game: view.game || "NT", // "NT", "PO" (pot-limit Omaha; "PO5" five cards), "FT" (fixed limit)
    ante: view.ante || 0,
    ante_kind: view.ante_kind || "each", // "each": in everyone's contribution; else dead money
    run_it_twice: !!view.run_it_twice, // all-in players who all agree may see two boards
    seats,
    hand,
    legal: view.legal || null,
    clock: msg.clock ? { ...msg.clock, received: serverNow(), bank: false, hand: view.hand ? view.hand.number : null } : null,
    chat: (msg.chat || []).slice(-MAX_CHAT),
    results: [],
    log: previous && previous.id === msg.table ? previous.log : [],
    resyncing: false,
  };
  if (hand && hand.street === "complete") {
    hand.to_act = null;
    hand.pots = [];
  }
  // A resync during the same hand keeps what the events told of its end (who won what,
  // with which hand): a full view does not carry the results.
  if (previous && previous.id === msg.table && previous.hand && hand && previous.hand.number === hand.number) {
    state.results = previous.results || [];
    seats.forEach((seat, i) => {
      const before = previous.seats[i];
      if (seat && before && before.player === seat.player) {
        seat.won = before.won;
        seat.hand_name = seat.hand_name || before.hand_name;
        seat.last = before.last;
      }
    });
  }
  return state;
}

function normSeat(s) {
  return {
    seat: s.seat, player: s.player, name: s.name || s.player, stack: s.stack ?? 0,
    bet: s.bet ?? 0, sitting_out: !!s.sitting_out, waiting: !!s.waiting, in_hand: !!s.in_hand,
    folded: !!s.folded, all_in: !!s.all_in, has_cards: !!s.has_cards,
    cards: s.cards || null, mucked: !!s.mucked,
    connected: s.connected === undefined ? true : !!s.connected,
    hand_name: null, last: null, won: 0, leaving: !!s.leaving, sit_out_next: s.sit_out_next || null,
    time_bank_ms: s.time_bank_ms ?? null, run_twice: !!s.run_twice,
    // The server's word (sent only when true): this seat is not dealt in before the big blind reaches it.
    waits_for_big_blind: !!s.waits_for_big_blind,
  };
}

// Who waits for the big blind. A full view says it (each seat's `waits_for_big_blind`,
// from game/views.py waiting_for_big_blind); the events do not, so after each event
// the server's rule is applied to the seats as the events left them (the same fields
// the server reads): tests/test_client_state.py checks at every full view of many
// hands that the two agree. A seat waits when it has chips, is `waiting`, is not sitting
// out, leaving or in the running hand, the table has dealt before, and two other players
// are ready for the next hand.
function readiness(state) {
  const running = handRunning(state);
  const chips = (s) => s.stack > 0 && !s.sitting_out && !s.leaving;
  const ready = state.seats.filter((s) => s && !s.waiting && !s.sitting_out && !s.leaving && s.sit_out_next !== "hand"
    && (chips(s) || (running && s.in_hand && !s.folded))).length;
  const going = state.hand !== null && ready >= 2;
  for (const s of state.seats) {
    if (s) s.waits_for_big_blind = going && s.waiting && chips(s) && !(running && s.in_hand);
  }
}

function sumPots(pots) {
  return (pots || []).reduce((a, p) => a + (p.amount || 0), 0);
}

export function handRunning(state) {
  return !!(state.hand && state.hand.street !== "complete");
}

// The chips in the middle: the collected pots not yet paid out, plus every
// bet in front of the seats on this street.
export function middlePot(state) {
  if (!handRunning(state)) return 0;
  return sumPots(state.hand.pots.filter((p) => !p.awarded));
}

export function potTotal(state) {
  if (!handRunning(state)) return 0;
  return middlePot(state) + state.seats.reduce((a, s) => a + (s ? s.bet : 0), 0);
}

export function seatName(state, i) {
  const s = state.seats[i];
  return s ? s.name : `seat ${i + 1}`;
}

function log(state, kind, ...parts) {
  state.log.push({ kind, parts });
  if (state.log.length > MAX_LOG) state.log.splice(0, state.log.length - MAX_LOG);
}

const STREET_NAMES = { flop: "Flop", turn: "Turn", river: "River" };

// A turn's clock. The server sends a second clock for the same turn when the
// time bank starts: its deadline is the bank's end and time_bank_ms is 0.
export function setClock(state, c) {
  const prev = state.clock;
  const same = prev && prev.seat === c.seat && state.hand && prev.hand === state.hand.number;
  const bank = !!(same && (prev.bank || (prev.time_bank_ms > 0 && !c.time_bank_ms && c.deadline_ms > prev.deadline_ms)));
  if (same && prev.deadline_ms === c.deadline_ms && prev.time_bank_ms === c.time_bank_ms) return;
  state.clock = {
    seat: c.seat, deadline_ms: c.deadline_ms, time_bank_ms: c.time_bank_ms || 0,
    received: serverNow(), bank, hand: state.hand ? state.hand.number : null,
  };
}

// Antes go straight into the middle (they are not the bet to call). A short
// ante all in makes a side pot at once, as the server's view shows it: the
// same split as game/pots.py's side_pots, on the antes alone.
function antePots(antes, live) {
  const levels = [...new Set(live.map((i) => antes[i] || 0).filter((a) => a > 0))].sort((a, b) => a - b);
  const pots = [];
  let previous = 0;
  for (const level of levels) {
    let amount = 0;
    for (const a of Object.values(antes)) amount += Math.min(a, level) - Math.min(a, previous);
    if (amount) pots.push({ amount, eligible: live.filter((i) => (antes[i] || 0) >= level) });
    previous = level;
  }
  return pots;
}

function copy(state) {
  return {
    ...state,
    seats: state.seats.map((s) => (s ? { ...s } : null)),
    hand: state.hand ? {
      ...state.hand,
      board: state.hand.board.slice(),
      second_board: (state.hand.second_board || []).slice(),
      pots: state.hand.pots.map((p) => ({ ...p, eligible: p.eligible.slice() })),
    } : null,
    results: state.results.slice(),
    log: state.log.slice(),
    chat: state.chat.slice(),
  };
}

// Apply one event (the caller checked it is the next `v`). `me` is our player
// id. Returns the new state; `state` is not changed.
export function applyEvent(state, ev, v, me) {
  const next = copy(state);
  next.v = v;
  step(next, ev, me);
  readiness(next);
  return next;
}

function step(state, ev, me) {
  const seats = state.seats;
  const s = typeof ev.seat === "number" ? seats[ev.seat] : null;
  const who = typeof ev.seat === "number" ? seatName(state, ev.seat) : "";
  const hand = state.hand;
  switch (ev.type) {
    case "seated": {
      seats[ev.seat] = normSeat({
        seat: ev.seat, player: ev.player, name: ev.name, stack: ev.stack, waiting: true,
      });
      if (me && ev.player === me) state.you = ev.seat;
      log(state, "info", `${ev.name || ev.player} sits down with ${ev.stack}`);
      break;
    }
    case "left": {
      if (!s) break;
      log(state, "info", `${who} leaves the table`);
      if (handRunning(state) && s.in_hand) {
        // Mid-hand: the seat folds (a fold event follows if it was live), its
        // stack goes with the player, and it empties when the hand ends.
        s.leaving = true;
        s.stack = 0;
        s.cards = null;
      } else {
        seats[ev.seat] = null;
      }
      if (state.you === ev.seat) {
        state.you = null;
        state.legal = null;
      }
      break;
    }
    case "sat_out":
      if (s) { s.sitting_out = true; s.sit_out_next = null; log(state, "info", `${who} sits out`); }
      break;
    case "sat_in":
      if (s) {
        // Back posting what they missed: dealt in at the next hand; else they wait.
        if (s.sitting_out) { s.waiting = !ev.post; log(state, "info", `${who} is back`); }
        s.sitting_out = false;
        s.sit_out_next = null;
      }
      break;
    case "sit_out_next":
      if (s) {
        s.sit_out_next = ev.when;
        log(state, "info", ev.when === "big_blind" ? `${who} will sit out at the big blind`
          : `${who} will sit out after this hand`);
      }
      break;
    case "top_up":
      if (s) { s.stack = ev.stack; log(state, "info", `${who} adds ${ev.amount} chips`); }
      break;
    case "hand_started": {
      const inHand = new Set(ev.seats || []);
      state.hand = {
        number: ev.hand, street: "preflop", board: [], second_board: [], button: ev.button,
        small_blind: ev.small_blind, big_blind: ev.big_blind, to_act: null,
        current_bet: 0, pots: [], antes: {},
      };
      state.results = [];
      state.legal = null;
      state.clock = null;
      seats.forEach((seat, i) => {
        if (!seat) return;
        const dealt = inHand.has(i);
        const stack = ev.stacks ? ev.stacks[String(i)] : undefined;
        if (typeof stack === "number") seat.stack = stack;
        Object.assign(seat, {
          in_hand: dealt, folded: false, bet: 0, cards: null, mucked: false,
          all_in: false, has_cards: false, hand_name: null, last: null, won: 0,
          // Not dealt in with no chips: back only on the big blind (as the rules say).
          waiting: (seat.waiting || seat.stack === 0) && !dealt,
        });
      });
      log(state, "hand", `Hand #${ev.hand}`);
      break;
    }
    case "hole_cards":
      if (s) {
        s.has_cards = true;
        if (ev.cards) {
          s.cards = ev.cards;
          log(state, "mine", "Dealt to you: ", { cards: ev.cards });
        }
      }
      break;
    case "blind": {
      if (!s) break;
      s.stack -= ev.amount;
      if (ev.kind === "dead" || (ev.kind === "ante" && state.ante_kind !== "each")) {
        // Dead money (a missed small blind posted, a big-blind ante): in the main pot,
        // which every live player may win, and not a bet anyone must call.
        if (hand) {
          if (hand.pots.length) hand.pots[0].amount += ev.amount;
          else hand.pots = [{ amount: ev.amount, eligible: seats.map((x, i) => (x && x.in_hand && !x.folded ? i : -1)).filter((i) => i >= 0) }];
        }
      } else if (ev.kind === "ante") {
        if (hand) {
          hand.antes = { ...(hand.antes || {}), [ev.seat]: ev.amount };
          const live = seats.map((x, i) => (x && x.in_hand && !x.folded ? i : -1)).filter((i) => i >= 0);
          hand.pots = antePots(hand.antes, live);
        }
      } else {
        s.bet += ev.amount;
        if (hand) hand.current_bet = Math.max(hand.current_bet, s.bet);
      }
      s.all_in = !!ev.all_in;
      s.last = { ante: "Ante", small: "Small blind", dead: "Dead blind", straddle: "Straddle" }[ev.kind] || "Big blind";
      const kind = { ante: "an ante", small: "the small blind", dead: "a dead small blind",
        straddle: "a straddle" }[ev.kind] || "the big blind";
      log(state, "act", `${who} posts ${kind} of ${ev.amount}${ev.all_in ? " and is all in" : ""}`);
      break;
    }
    case "to_act":
      if (hand) hand.to_act = ev.seat;
      if (state.clock && state.clock.seat !== ev.seat) state.clock = null;
      if (state.legal && state.legal.seat !== ev.seat) state.legal = null;
      break;
    case "clock":
      setClock(state, ev);
      break;
    case "timeout":
      if (s) s.last = "Time";
      log(state, "warn", `${who} ran out of time`);
      break;
    case "action": {
      if (!s) break;
      const a = ev.action;
      if (a === "fold") {
        s.folded = true;
        s.has_cards = false;
        s.all_in = false;
        s.last = "Fold";
        // A folded seat can win no pot.
        if (hand) for (const p of hand.pots) p.eligible = p.eligible.filter((i) => i !== ev.seat);
        log(state, "act", `${who} folds`);
      } else if (a === "check") {
        s.last = "Check";
        log(state, "act", `${who} checks`);
      } else {
        s.bet = ev.to;
        if (typeof ev.stack === "number") s.stack = ev.stack;
        s.all_in = !!ev.all_in;
        if (hand) hand.current_bet = Math.max(hand.current_bet, ev.to);
        const allIn = ev.all_in ? " (all in)" : "";
        if (a === "call") { s.last = ev.all_in ? "All in" : "Call"; log(state, "act", `${who} calls ${ev.amount}${allIn}`); }
        else if (a === "bet") { s.last = ev.all_in ? "All in" : "Bet"; log(state, "act", `${who} bets ${ev.to}${allIn}`); }
        else { s.last = ev.all_in ? "All in" : "Raise"; log(state, "act", `${who} raises to ${ev.to}${allIn}`); }
      }
      if (state.clock && state.clock.seat === ev.seat) state.clock = null;
      if (state.legal && state.legal.seat === ev.seat) state.legal = null;
      break;
    }
    case "uncalled":
      if (s) {
        s.stack += ev.amount;
        s.bet = Math.max(0, s.bet - ev.amount);
        log(state, "info", `${ev.amount} returned to ${who}`);
      }
      break;
    case "pots":
      // The bets are collected. After the river this opens the showdown.
      if (hand) {
        hand.pots = (ev.pots || []).map((p) => ({ amount: p.amount, eligible: [...(p.eligible || [])] }));
        if (hand.street === "river") { hand.street = "showdown"; hand.to_act = null; }
      }
      seats.forEach((seat) => { if (seat) seat.bet = 0; });
      break;
    case "second_board":
      if (hand) hand.second_board = [...(ev.board || [])];
      log(state, "street", `Second board, ${STREET_NAMES[ev.street] || ev.street}: `, { cards: ev.board || [] });
      break;
    case "street":
      if (hand) {
        hand.street = ev.street;
        hand.board = [...(ev.board || [])];
        hand.current_bet = 0;
        hand.to_act = null;
      }
      seats.forEach((seat) => {
        if (seat && seat.last !== "All in" && seat.last !== "Fold") seat.last = null;
      });
      log(state, "street", `${STREET_NAMES[ev.street] || ev.street}: `, { cards: ev.board || ev.cards || [] });
      break;
    case "show":
      if (s) {
        s.cards = ev.cards;
        s.has_cards = true;
        s.hand_name = ev.hand || null;
        s.last = null;
        log(state, "show", `${who} shows `, { cards: ev.cards }, ev.hand ? ` \u2014 ${ev.hand}` : "");
      }
      if (hand) { hand.street = "showdown"; hand.to_act = null; }
      break;
    case "muck":
      if (s) {
        s.mucked = true;
        if (state.you !== ev.seat) s.cards = null;
        s.last = "Muck";
        log(state, "act", `${who} mucks`);
      }
      if (hand) hand.to_act = null;
      break;
    case "award": {
      const names = [];
      for (const w of ev.winners || []) {
        const ws = seats[w.seat];
        if (ws) {
          ws.stack += w.amount;
          ws.won += w.amount;
          if (ev.hand) ws.hand_name = ev.hand;
        }
        names.push(`${seatName(state, w.seat)} wins ${w.amount}`);
      }
      if (hand) {
        // An uncontested pot comes with no `pots` event: this street's bets are in it.
        if (hand.pots[ev.pot]) hand.pots[ev.pot] = { ...hand.pots[ev.pot], awarded: true };
        else hand.pots[ev.pot] = { amount: ev.amount, eligible: (ev.winners || []).map((w) => w.seat), awarded: true };
      }
      seats.forEach((seat) => { if (seat) seat.bet = 0; });
      state.results.push({ pot: ev.pot, amount: ev.amount, winners: ev.winners || [], hand: ev.hand || null });
      const potName = ev.pot ? `side pot ${ev.pot}` : (hand && hand.pots.length > 1 ? "the main pot" : "the pot");
      log(state, "win", `${names.join(", ")} from ${potName}${ev.hand ? ` with ${ev.hand}` : ""}`);
      break;
    }
    case "hand_ended":
      if (hand) { hand.street = "complete"; hand.to_act = null; hand.pots = []; }
      state.legal = null;
      state.clock = null;
      seats.forEach((seat, i) => {
        if (!seat) return;
        seat.bet = 0;
        seat.all_in = false;
        seat.has_cards = false;
        if (seat.leaving) { seats[i] = null; return; }
        const stack = ev.stacks ? ev.stacks[String(i)] : undefined;
        if (typeof stack === "number") seat.stack = stack;
      });
      break;
    case "chat":
      state.chat.push({ name: ev.name || ev.player, text: ev.text });
      if (state.chat.length > MAX_CHAT) state.chat.splice(0, state.chat.length - MAX_CHAT);
      break;
    case "presence":
      if (s) s.connected = !!ev.connected;
      break;
    case "time_bank":
      if (s) s.time_bank_ms = ev.time_bank_ms;
      break;
    case "run_twice":
      if (s) s.run_twice = !!ev.agree;
      log(state, "info", `${who} ${ev.agree ? "agrees" : "no longer agrees"} to run it twice`);
      break;
    default:
      break;
  }
}
