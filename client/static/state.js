// The client's copy of one table: built from a full `table` message, then kept
// in step by applying versioned `event`s in order. Pure data, no DOM.
//
// Log lines are arrays of parts: strings, or {cards: [...]} for inline cards,
// with a `kind` for styling. They are rendered with textContent only.

import { serverNow } from "./ui.js";

const MAX_LOG = 200;
const MAX_CHAT = 100;

export function fromTable(msg, previous = null) {
  const view = msg.view || {};
  const seats = (view.seats || []).map((s) => (s ? normSeat(s) : null));
  const hand = view.hand ? { ...view.hand, board: [...(view.hand.board || [])], pots: view.hand.pots || [] } : null;
  const state = {
    id: msg.table,
    name: msg.name || msg.table,
    v: msg.v,
    you: msg.you ?? null,
    min_buy_in: msg.min_buy_in,
    max_buy_in: msg.max_buy_in,
    small_blind: view.small_blind,
    big_blind: view.big_blind,
    ante: view.ante || 0,
    seats,
    hand,
    legal: view.legal || null,
    clock: msg.clock ? { ...msg.clock, received: serverNow(), bank: false, hand: view.hand ? view.hand.number : null } : null,
    chat: (msg.chat || []).slice(-MAX_CHAT),
    // chips in the middle, bets on this street included (the view's pots include them)
    total: hand ? sumPots(hand.pots) : 0,
    results: [],
    log: previous && previous.id === msg.table ? previous.log : [],
    resyncing: false,
  };
  if (hand && hand.street === "complete") state.hand.to_act = null;
  // The view's pots count this street's bets too (an unmatched bet even looks
  // like a side pot); the felt shows bets in front of the seats, so until the
  // next `pots` event show what is already in the middle as one pot.
  const bets = seats.reduce((a, s) => a + (s ? s.bet : 0), 0);
  if (hand && bets > 0 && hand.pots.length) {
    const middle = state.total - bets;
    const eligible = [...new Set(hand.pots.flatMap((p) => p.eligible || []))];
    hand.pots = middle > 0 ? [{ amount: middle, eligible }] : [];
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
    hand_name: null, last: null, won: 0, leaving: false,
  };
}

function sumPots(pots) {
  return (pots || []).reduce((a, p) => a + (p.amount || 0), 0);
}

export function handRunning(state) {
  return !!(state.hand && state.hand.street !== "complete");
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

// Apply one event (already checked to be the next `v`). `me` is our player id.
export function applyEvent(state, ev, me) {
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
        // Mid-hand: the seat folds and empties when the hand ends.
        s.leaving = true;
        s.stack = 0;
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
      if (s) { s.sitting_out = true; log(state, "info", `${who} sits out`); }
      break;
    case "sat_in":
      if (s) { s.sitting_out = false; s.waiting = true; log(state, "info", `${who} is back`); }
      break;
    case "top_up":
      if (s) { s.stack = ev.stack; log(state, "info", `${who} adds ${ev.amount} chips`); }
      break;
    case "hand_started": {
      const inHand = new Set(ev.seats || []);
      state.hand = {
        number: ev.hand, street: "preflop", board: [], button: ev.button,
        small_blind: ev.small_blind, big_blind: ev.big_blind, to_act: null,
        current_bet: 0, min_raise: state.big_blind, pots: [],
      };
      state.total = 0;
      state.results = [];
      state.legal = null;
      state.clock = null;
      seats.forEach((seat, i) => {
        if (!seat) return;
        Object.assign(seat, {
          in_hand: inHand.has(i), folded: false, bet: 0, cards: null, mucked: false,
          all_in: false, has_cards: false, hand_name: null, last: null, won: 0,
        });
        if (inHand.has(i)) seat.waiting = false;
        const stack = ev.stacks ? ev.stacks[String(i)] : undefined;
        if (typeof stack === "number") seat.stack = stack;
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
      state.total += ev.amount;
      if (ev.kind !== "ante") {
        s.bet += ev.amount;
        if (hand) hand.current_bet = Math.max(hand.current_bet, s.bet);
      }
      s.all_in = !!ev.all_in;
      s.last = ev.kind === "ante" ? "Ante" : ev.kind === "small" ? "Small blind" : "Big blind";
      const kind = ev.kind === "ante" ? "an ante" : ev.kind === "small" ? "the small blind" : "the big blind";
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
        s.last = "Fold";
        log(state, "act", `${who} folds`);
      } else if (a === "check") {
        s.last = "Check";
        log(state, "act", `${who} checks`);
      } else {
        s.bet = ev.to;
        if (typeof ev.stack === "number") s.stack = ev.stack;
        s.all_in = !!ev.all_in;
        state.total += ev.amount || 0;
        if (hand) {
          const raiseSize = ev.to - hand.current_bet;
          if (a !== "call" && raiseSize >= hand.min_raise) hand.min_raise = raiseSize;
          hand.current_bet = Math.max(hand.current_bet, ev.to);
        }
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
        state.total -= ev.amount;
        log(state, "info", `${ev.amount} returned to ${who}`);
      }
      break;
    case "pots":
      if (hand) hand.pots = ev.pots || [];
      seats.forEach((seat) => { if (seat) seat.bet = 0; });
      state.total = sumPots(ev.pots);
      break;
    case "street":
      if (hand) {
        hand.street = ev.street;
        hand.board = [...(ev.board || [])];
        hand.current_bet = 0;
        hand.min_raise = state.big_blind;
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
        s.has_cards = false;
        if (state.you !== ev.seat) s.cards = null;
        s.last = "Muck";
        log(state, "act", `${who} mucks`);
      }
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
      state.total -= ev.amount || 0;
      if (hand && hand.pots[ev.pot]) hand.pots[ev.pot] = { ...hand.pots[ev.pot], awarded: true };
      seats.forEach((seat) => { if (seat) seat.bet = 0; });
      state.results.push({ pot: ev.pot, amount: ev.amount, winners: ev.winners || [], hand: ev.hand || null });
      const potName = ev.pot ? `side pot ${ev.pot}` : (hand && hand.pots.length > 1 ? "the main pot" : "the pot");
      log(state, "win", `${names.join(", ")} from ${potName}${ev.hand ? ` with ${ev.hand}` : ""}`);
      break;
    }
    case "hand_ended":
      if (hand) { hand.street = "complete"; hand.to_act = null; }
      state.legal = null;
      state.clock = null;
      state.total = 0;
      seats.forEach((seat, i) => {
        if (!seat) return;
        seat.bet = 0;
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
    default:
      break;
  }
}
