// The table screen: felt, seats, board, pots, action bar, chat and hand log.

import { el, svg, clear, fmt, serverNow } from "./ui.js";
import { cardEl, cardsInline, cardsSpoken } from "./cards.js";
import { handRunning, potTotal } from "./state.js";
import { play } from "./sound.js";
import { TournamentBar } from "./tournaments.js";

// Tall screens get a standing oval (the same query as in style.css).
const PORTRAIT = "(max-width: 720px), (orientation: portrait) and (max-width: 1000px)";

// Where seat `rel` (0 = bottom centre, then clockwise) of `n` sits, as
// fractions of the felt box; `k` scales the radius (1 = on the rail).
function position(rel, n, k, portrait) {
  const angle = Math.PI / 2 + (rel * 2 * Math.PI) / n;
  const rx = portrait ? 0.5 * k * 0.94 : 0.5 * k * 1.02;
  const ry = portrait ? 0.5 * k * 0.98 : 0.5 * k * 1.06;
  return { x: 0.5 + rx * Math.cos(angle), y: 0.5 + ry * Math.sin(angle) };
}

function pct(v) {
  return `${(v * 100).toFixed(2)}%`;
}

// A small clock drawn in SVG (a glyph such as U+23F1 is missing from many fonts).
function clockIcon() {
  return svg("svg", { class: "bank-icon", viewBox: "0 0 16 16", width: 10, height: 10, "aria-hidden": "true" },
    svg("circle", { cx: 8, cy: 8, r: 6.5, fill: "none", stroke: "currentColor", "stroke-width": 1.8 }),
    svg("path", { d: "M8 4.5V8l2.5 1.5", fill: "none", stroke: "currentColor", "stroke-width": 1.8, "stroke-linecap": "round" }));
}

function chipClass(amount, bb) {
  const units = amount / Math.max(1, bb || 1);
  if (units >= 100) return "chip-black";
  if (units >= 25) return "chip-purple";
  if (units >= 5) return "chip-green";
  if (units >= 1) return "chip-red";
  return "chip-blue";
}

function chipStack(amount, bb, count = 1) {
  return el("span", { class: "chips" },
    Array.from({ length: count }, (_, i) => el("span", { class: `chip ${chipClass(amount, bb)}`, style: { "--i": i } })));
}

// Log kinds worth saying aloud as they happen (not "Dealt to you", not chat).
const SPOKEN = new Set(["act", "street", "show", "win", "warn", "hand"]);

function spoken(entry) {
  return entry.parts.map((p) => (p && p.cards ? cardsSpoken(p.cards) : p)).join("");
}

// `added(item)` hears of each item appended after the last one rendered (not
// of a full redraw: a table just opened does not read out its history).
function appendNew(list, items, last, max, draw, added = null) {
  const idx = last ? items.lastIndexOf(last) : -1;
  if (idx < 0) clear(list);
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
  for (const item of items.slice(idx + 1)) {
    list.append(draw(item));
    if (added && idx >= 0) added(item);
  }
  while (list.children.length > max) list.firstChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
  return items[items.length - 1] || null;
}

// Bet sizes: [key, label, accessible name, street ("pre", "post" or "any")].
// A fraction f of the pot raises to the current bet + f x (the middle, every bet
// on the table and our call); 2.5x and 3x multiply the bet to match (preflop).
const PRESETS = [
  ["min", "Min", "Minimum", "pre"],
  ["x2.5", "2.5x", "Two and a half times the bet", "pre"],
  ["x3", "3x", "Three times the bet", "pre"],
  ["third", "\u2153", "A third of the pot", "post"],
  ["half", "\u00bd", "Half the pot", "post"],
  ["two-thirds", "\u2154", "Two thirds of the pot", "post"],
  ["three-quarters", "\u00be", "Three quarters of the pot", "post"],
  ["pot", "Pot", "The pot", "any"],
  ["max", "All in", "All in", "any"],
];
const FRACTIONS = { third: 1 / 3, half: 1 / 2, "two-thirds": 2 / 3, "three-quarters": 3 / 4, pot: 1 };
const MULTIPLES = { "x2.5": 2.5, x3: 3 };

// How big a bet may be in each game: "no" limit, "pot" limit, "fixed" limit.
const LIMITS = { NT: "no", PO: "pot", PO5: "pot", FT: "fixed" };
const GAME_NAMES = { NT: "NL Hold'em", PO: "PLO", PO5: "PLO5", FT: "FL Hold'em" };
const HOLE_CARDS = { NT: 2, PO: 4, PO5: 5, FT: 2 };

const PRE_ACTIONS = [["checkfold", "Check/Fold"], ["check", "Check"], ["call", "Call any"]];

export class TableView {
  constructor(root, handlers) {
    this.root = root;
    this.h = handlers; // {act(action, amount), sit(seat), sitOut(), sitIn(), topUp(), leave(), lobby(), chat(text), localError(msg)}
    this.state = null;
    this.sig = {};
    this.turnKey = undefined;
    this.chatLast = null;
    this.logLast = null;
    this.build();
    this.timer = setInterval(() => this.tick(), 200);
    this.portrait = null;
    window.addEventListener("resize", () => { if (this.state) this.render(this.state, this.ctx, true); });
  }

  build() {
    const r = this.root;
    clear(r);
    this.titleEl = el("h1", { class: "table-title" });
    this.subEl = el("div", { class: "table-sub" });
    this.btnSitOut = el("button", { class: "btn btn-ghost btn-sm", id: "btn-sitout", onclick: () => this.h.sitOutToggle() }, "Sit out");
    this.btnSitOutBB = el("button", { class: "btn btn-ghost btn-sm", id: "btn-sitout-bb", title: "Play on until the big blind reaches you, then sit out instead of posting it", onclick: () => this.h.sitOutToggle("big_blind") }, "Sit out at big blind");
    this.btnPostIn = el("button", { class: "btn btn-ghost btn-sm", id: "btn-post-in", title: "Post the big blind (and a small blind you missed) and play the next hand, instead of waiting for the big blind", onclick: () => this.h.sitIn(true) }, "Post & play now");
    this.btnRunTwice = el("button", { class: "btn btn-ghost btn-sm", id: "btn-run-twice", "aria-pressed": "false", onclick: () => this.h.runTwice() }, "Run it twice");
    this.btnTopUp = el("button", { class: "btn btn-ghost btn-sm", id: "btn-topup", onclick: () => this.h.topUp() }, "Add chips");
    this.btnLeave = el("button", { class: "btn btn-ghost btn-sm", id: "btn-leave", onclick: () => this.h.leave() }, "Leave seat");
    this.tournamentBar = new TournamentBar(); // at a tournament's table: its level, clock, players left
    const topbar = el("div", { class: "table-topbar" },
      el("button", { class: "btn btn-ghost btn-sm btn-back", id: "btn-lobby", onclick: () => this.h.lobby(), title: "Back to the lobby" }, "\u2190 Lobby"),
      el("div", { class: "table-heading" }, this.titleEl, this.subEl, this.tournamentBar.el),
      el("div", { class: "table-controls" }, this.btnSitOut, this.btnPostIn, this.btnSitOutBB, this.btnRunTwice,
        this.btnTopUp, this.btnLeave));

    this.seatsLayer = el("div", { class: "seats-layer" });
    this.boardEl = el("div", { class: "board", id: "board", role: "group", "aria-label": "Board" });
    this.board2El = el("div", { class: "board board-second", id: "board-second", role: "group", "aria-label": "Second board", hidden: true });
    this.announcer = el("div", { class: "sr-only", id: "announcer", role: "log", "aria-live": "polite" });
    this.potTotalEl = el("div", { class: "pot-total", id: "pot-total" });
    this.potsEl = el("div", { class: "pots", id: "pots" });
    this.resultEl = el("div", { class: "result", id: "result", "aria-live": "polite" });
    this.centerMsg = el("div", { class: "center-msg" });
    this.felt = el("div", { class: "felt", id: "felt" },
      el("div", { class: "felt-rail" }),
      el("div", { class: "felt-cloth" }, el("div", { class: "felt-logo" }, "POKERSERVER")),
      el("div", { class: "center" }, this.potTotalEl, this.boardEl, this.board2El, this.potsEl, this.resultEl, this.centerMsg),
      this.seatsLayer);
    const feltWrap = el("div", { class: "felt-wrap" }, this.felt);

    // -- action bar
    this.statusEl = el("div", { class: "action-status", id: "action-status" });
    this.btnFold = el("button", { class: "btn act act-fold", id: "act-fold", onclick: () => this.fold() },
      el("span", { class: "act-label" }, "Fold"), el("kbd", {}, "F"));
    this.btnCall = el("button", { class: "btn act act-call", id: "act-call", onclick: () => this.checkOrCall() },
      el("span", { class: "act-label" }, "Check"), el("kbd", {}, "C"));
    this.btnRaise = el("button", { class: "btn act act-raise", id: "act-raise", onclick: () => this.raise() },
      el("span", { class: "act-label" }, "Raise"), el("kbd", {}, "R"));
    this.amountBox = el("input", {
      id: "amount", class: "amount", type: "text", inputmode: "numeric", autocomplete: "off",
      "aria-label": "Bet or raise to", spellcheck: "false",
    });
    this.amountBox.addEventListener("input", () => this.amountTyped());
    this.amountBox.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); this.raise(); }
      if (e.key === "Escape") this.amountBox.blur();
    });
    this.slider = el("input", { id: "slider", class: "slider", type: "range", min: 0, max: 0, step: 1, "aria-label": "Amount" });
    this.slider.addEventListener("input", () => {
      this.amountBox.value = this.slider.value;
      this.amountTyped();
    });
    // Typing is free; leaving the box puts the amount back in the legal range
    // (leaving it for the raise button: raise() clamps, says so, and sends nothing).
    this.amountBox.addEventListener("blur", (e) => { if (e.relatedTarget !== this.btnRaise) this.clampBox(false); });
    this.amountBox.addEventListener("keydown", (e) => {
      if (e.key === "ArrowUp" || e.key === "ArrowDown") { e.preventDefault(); this.step(e.key === "ArrowUp" ? 1 : -1); }
    });
    // The mouse wheel over the amount or the slider steps a big blind.
    for (const target of [this.amountBox, this.slider]) {
      target.addEventListener("wheel", (e) => {
        if (!this.myTurn() || !this.betName || !e.deltaY) return;
        e.preventDefault();
        this.step(e.deltaY < 0 ? 1 : -1);
      }, { passive: false });
    }
    this.btnMinus = el("button", { class: "btn step", id: "amount-minus", type: "button", "aria-label": "One big blind less", onclick: () => this.step(-1) }, "\u2212");
    this.btnPlus = el("button", { class: "btn step", id: "amount-plus", type: "button", "aria-label": "One big blind more", onclick: () => this.step(1) }, "+");
    this.presets = el("div", { class: "presets" },
      PRESETS.map(([key, label, name, when]) =>
        el("button", { class: "btn preset", type: "button", dataset: { preset: key, when }, "aria-label": name, onclick: () => this.preset(key) }, label)));
    this.amountRange = el("div", { class: "amount-range", id: "amount-range" });
    this.amountHint = el("div", { class: "amount-hint", id: "amount-hint", role: "status" });
    this.raiseBox = el("div", { class: "raise-box" },
      this.presets,
      el("div", { class: "raise-row" }, this.btnMinus, this.slider, this.btnPlus, this.amountBox),
      this.amountRange,
      this.amountHint);
    // Act in advance, while others act: done when the turn comes, dropped when it no longer fits.
    this.pre = null;
    this.preButtons = PRE_ACTIONS.map(([kind, label]) => el("button", {
      class: "btn btn-sm pre", type: "button", id: `pre-${kind}`, "aria-pressed": "false", dataset: { pre: kind },
      onclick: () => this.choosePre(kind),
    }, label));
    this.preBox = el("div", { class: "pre-actions", id: "pre-actions", role: "group", "aria-label": "Act in advance", hidden: true }, this.preButtons);
    this.actButtons = el("div", { class: "act-buttons", hidden: true }, this.btnFold, this.btnCall, this.btnRaise);
    this.allowed = new Map();
    this.raiseBox.hidden = true;
    this.turnClock = el("div", { class: "turn-clock" });
    this.actionBar = el("div", { class: "action-bar", id: "action-bar" },
      el("div", { class: "action-left" }, this.statusEl, this.turnClock),
      el("div", { class: "action-right" }, this.preBox, this.raiseBox, this.actButtons));

    // -- side panel: chat + log
    this.chatList = el("ol", { class: "chat-list", id: "chat-list", "aria-live": "polite" });
    this.chatInput = el("input", {
      id: "chat-input", class: "chat-input", type: "text", maxlength: 200, placeholder: "Say something\u2026",
      autocomplete: "off", "aria-label": "Chat message",
    });
    const chatForm = el("form", {
      class: "chat-form", id: "chat-form",
      onsubmit: (e) => {
        e.preventDefault();
        const text = this.chatInput.value.trim();
        if (!text) return;
        if (this.h.chat(text)) this.chatInput.value = "";
      },
    }, this.chatInput, el("button", { class: "btn btn-sm btn-primary", type: "submit" }, "Send"));
    this.logList = el("ol", { class: "log-list", id: "hand-log" });
    this.tabChat = el("button", { class: "tab active", type: "button", id: "tab-chat", onclick: () => this.showTab("chat") }, "Chat");
    this.tabLog = el("button", { class: "tab", type: "button", id: "tab-log", onclick: () => this.showTab("log") }, "Hand log");
    this.tabHistory = el("button", { class: "tab", type: "button", id: "tab-history", onclick: () => this.showTab("history") }, "History");
    this.chatPane = el("div", { class: "pane pane-chat active" }, this.chatList, chatForm);
    this.logPane = el("div", { class: "pane pane-log" }, this.logList);
    this.historyList = el("ol", { class: "history-list", id: "history-list" });
    this.historyPane = el("div", { class: "pane pane-history" }, this.historyList);
    this.tabs = {
      chat: [this.tabChat, this.chatPane, this.chatList],
      log: [this.tabLog, this.logPane, this.logList],
      history: [this.tabHistory, this.historyPane, this.historyList],
    };
    const side = el("aside", { class: "side" },
      el("div", { class: "tabs" }, this.tabChat, this.tabLog, this.tabHistory),
      this.chatPane, this.logPane, this.historyPane);

    r.appendChild(this.announcer);
    r.appendChild(el("div", { class: "table-layout" },
      el("div", { class: "table-main" }, topbar, feltWrap, this.actionBar),
      side));
  }

  showTab(which) {
    for (const [name, [tab, pane]] of Object.entries(this.tabs)) {
      tab.classList.toggle("active", name === which);
      pane.classList.toggle("active", name === which);
    }
    this.tab = which;
    const list = this.tabs[which][2];
    list.scrollTop = which === "history" ? 0 : list.scrollHeight;
    if (which === "history") { this.historyKey = null; this.renderHistory(this.state); }
  }

  // The History tab: reloaded when it opens and when a hand ends.
  renderHistory(state) {
    if (this.tab !== "history" || !state) return;
    const key = `${state.id}:${state.hand ? state.hand.number : 0}:${handRunning(state)}`;
    if (key === this.historyKey) return;
    this.historyKey = key;
    this.h.history(state.id).then((rows) => {
      if (this.historyKey !== key) return;
      clear(this.historyList);
      if (!rows.length) this.historyList.append(el("li", { class: "history-empty" }, "No finished hands yet."));
      this.historyList.append(...rows);
    });
  }

  reset() {
    this.sig = {};
    this.turnKey = undefined;
    this.chatLast = null;
    this.logLast = null;
    clear(this.seatsLayer);
    clear(this.boardEl);
    clear(this.board2El);
    this.board2El.hidden = true;
    clear(this.chatList);
    clear(this.logList);
    clear(this.announcer);
    clear(this.historyList);
    this.historyKey = null;
    this.seatEls = null;
  }

  // ctx: {me: player id, bankroll, online}
  render(state, ctx, force = false) {
    const portrait = window.matchMedia(PORTRAIT).matches;
    if (force || portrait !== this.portrait || !this.state || this.state.id !== state.id
        || !this.seatEls || this.seatEls.length !== state.seats.length) {
      this.portrait = portrait;
      this.sig = {};
      this.layoutSeats(state, portrait);
    }
    this.state = state;
    this.ctx = ctx;
    // A tournament's table: no sitting down, topping up, leaving or sitting out (the
    // server refuses them there); the bar shows the tournament.
    this.tournament = ctx.tournament || null;
    this.tournamentBar.update(this.tournament);
    this.renderHeading(state);
    this.renderSeats(state);
    this.sig.betsHand = state.hand ? state.hand.number : null;
    this.renderCenter(state);
    this.renderActions(state, ctx);
    this.renderChat(state);
    this.renderLog(state);
    this.renderHistory(state);
    this.tick();
  }

  layoutSeats(state, portrait) {
    clear(this.seatsLayer);
    const n = state.seats.length;
    const you = state.you ?? 0;
    this.layoutYou = state.you;
    this.seatEls = [];
    for (let i = 0; i < n; i++) {
      const rel = (i - you + n) % n;
      const p = position(rel, n, 1, portrait);
      // Bets sit between the seat and the middle; nearer the middle for the
      // lower seats, whose cards stand up above their plates.
      const down = Math.max(0, Math.sin(Math.PI / 2 + (rel * 2 * Math.PI) / n));
      const b = position(rel, n, (portrait ? 0.56 : 0.62) - 0.16 * down, portrait);
      const d = position(rel - (n > 6 ? 0.3 : 0.24), n, 0.74 - 0.2 * down, portrait);
      const seat = el("div", { class: "seat", dataset: { seat: i }, style: { left: pct(p.x), top: pct(p.y) } });
      const bet = el("div", { class: "bet", dataset: { seat: i }, style: { left: pct(b.x), top: pct(b.y) } });
      const button = el("div", { class: "dealer", style: { left: pct(d.x), top: pct(d.y) }, title: "Dealer button" }, "D");
      this.seatsLayer.append(bet, button, seat);
      this.seatEls.push({ seat, bet, button });
    }
  }

  renderHeading(state) {
    this.titleEl.textContent = state.name;
    this.titleEl.title = state.name; // the whole name, when the heading ellipsizes it
    const parts = [GAME_NAMES[state.game] || "NL Hold'em", `Blinds ${fmt(state.small_blind)}/${fmt(state.big_blind)}`];
    if (LIMITS[state.game] === "fixed") parts.push(`bets ${fmt(state.big_blind)}/${fmt(2 * state.big_blind)}`);
    if (state.ante) parts.push(`ante ${fmt(state.ante)}`);
    if (state.min_buy_in !== undefined && !this.tournament) parts.push(`buy-in ${fmt(state.min_buy_in)}\u2013${fmt(state.max_buy_in)}`);
    if (state.hand) parts.push(`hand #${state.hand.number}`);
    this.subEl.textContent = parts.join(" \u00b7 ");
    this.subEl.hidden = !!this.tournament; // the tournament's bar says it (level, blinds, ante) in its place
    const mine = state.you !== null && !this.tournament ? state.seats[state.you] : null;
    this.btnSitOut.hidden = !mine;
    this.btnSitOutBB.hidden = !mine || mine.sitting_out || !!mine.sit_out_next;
    // Back from sitting out: wait for the big blind ("I'm back"), or post now and play.
    this.btnPostIn.hidden = !mine || !mine.sitting_out || mine.stack === 0;
    // At a table that runs it twice: whether you agree, when all in (it stands until changed).
    this.btnRunTwice.hidden = !mine || !state.run_it_twice;
    if (mine) {
      this.btnRunTwice.setAttribute("aria-pressed", String(!!mine.run_twice));
      this.btnRunTwice.textContent = mine.run_twice ? "Run it twice: yes" : "Run it twice: no";
      this.btnRunTwice.title = mine.run_twice ? "You agree to run the board twice when all in: click to stop"
        : "Agree to run the board twice when all in (every player still in must agree)";
    }
    this.btnTopUp.hidden = !mine;
    this.btnLeave.hidden = !mine;
    if (mine) {
      // Sitting out: come back. A sit-out planned (after this hand, or at the big
      // blind): stay in. Otherwise sit out: during a hand you are in, once it is over.
      const planned = !!mine.sit_out_next;
      const inHand = handRunning(state) && mine.in_hand;
      this.btnSitOut.textContent = mine.sitting_out ? "I'm back" : planned ? "Stay in"
        : inHand ? "Sit out next hand" : "Sit out";
      this.btnSitOut.title = planned ? (mine.sit_out_next === "big_blind" ? "You sit out at the big blind: stay in instead"
        : "You sit out when this hand is over: stay in instead") : "";
      this.btnSitOut.disabled = mine.sitting_out && mine.stack === 0;
      this.btnSitOut.classList.toggle("btn-primary", mine.sitting_out || planned);
      this.btnSitOut.classList.toggle("btn-ghost", !(mine.sitting_out || planned));
      this.btnTopUp.disabled = mine.stack >= state.max_buy_in;
    }
  }

  renderSeats(state) {
    if (state.you !== this.layoutYou) this.layoutSeats(state, this.portrait);
    const hand = state.hand;
    const running = handRunning(state);
    const canSit = state.you === null && !this.tournament && !state.closed;
    const winners = new Set();
    for (const r of state.results) for (const w of r.winners) winners.add(w.seat);
    state.seats.forEach((s, i) => {
      const { seat, bet, button } = this.seatEls[i];
      const isButton = hand && hand.button === i;
      button.classList.toggle("show", !!isButton);
      const acting = running && hand.to_act === i;
      const betAmount = s ? s.bet : 0;
      const betSig = `${betAmount}`;
      if (this.sig[`b${i}`] !== betSig) {
        // A bet gathered into the pot (same hand, the street's bets collected): chips fly there.
        const before = Number(this.sig[`b${i}`] || 0);
        if (before > 0 && betAmount === 0 && hand && this.sig.betsHand === hand.number) {
          this.flyChips(bet, this.potsEl.lastElementChild || this.potTotalEl, before, state.big_blind);
        }
        this.sig[`b${i}`] = betSig;
        clear(bet);
        if (betAmount > 0) {
          bet.append(chipStack(betAmount, state.big_blind, Math.min(3, 1 + Math.floor(Math.log10(betAmount / Math.max(1, state.big_blind) + 1)))),
            el("span", { class: "bet-amount" }, fmt(betAmount)));
          bet.classList.add("show");
        } else bet.classList.remove("show");
      }
      const sig = JSON.stringify([s, acting, canSit, winners.has(i), i === state.you, running]);
      if (this.sig[`s${i}`] === sig) return;
      this.sig[`s${i}`] = sig;
      seat.className = "seat";
      clear(seat);
      if (!s) {
        seat.classList.add("seat-empty");
        if (canSit) {
          seat.append(el("button", {
            class: "sit-btn", type: "button", onclick: () => this.h.sit(i), "aria-label": `Sit at seat ${i + 1}`,
          }, el("span", { class: "sit-plus" }, "+"), el("span", {}, "Sit here")));
        } else {
          seat.append(el("div", { class: "empty-dot" }, `${i + 1}`));
        }
        return;
      }
      const me = i === state.you;
      if (me) seat.classList.add("seat-me");
      if (acting) seat.classList.add("seat-acting");
      if (s.folded || s.leaving) seat.classList.add("seat-folded");
      if (s.sitting_out) seat.classList.add("seat-out");
      if (!s.connected) seat.classList.add("seat-away");
      if (winners.has(i)) seat.classList.add("seat-winner");

      // cards
      const cards = el("div", { class: "seat-cards", role: "group", "aria-label": me ? "Your cards" : `${s.name}'s cards` });
      const showCards = s.cards && (me ? !s.leaving : !s.folded || s.hand_name);
      // Omaha's four or five cards overlap, each rank and suit corner still showing.
      cards.classList.toggle("seat-cards-many", (HOLE_CARDS[state.game] || 2) > 2);
      if (showCards && s.cards) {
        for (const c of s.cards) cards.append(cardEl(c, { size: me ? "lg" : "md", dim: s.folded || s.mucked }));
        if (s.hand_name && (s.folded === false)) cards.classList.add("seat-cards-shown");
      } else if (s.has_cards && !s.folded && running) {
        for (let k = 0; k < (HOLE_CARDS[state.game] || 2); k++) cards.append(cardEl(null, { size: "sm" }));
        cards.classList.add("seat-cards-backs");
      }
      seat.append(cards);

      const initial = (s.name || "?").trim().charAt(0).toUpperCase() || "?";
      const plate = el("div", { class: "plate" },
        el("div", { class: "avatar", "aria-hidden": "true" }, initial),
        el("div", { class: "plate-text" },
          el("div", { class: "seat-name", title: s.name }, s.name),
          el("div", { class: "seat-stack" }, s.all_in && running ? "All in" : fmt(s.stack),
            s.time_bank_ms === null ? null : " ", s.time_bank_ms === null ? null : el("span", {
              class: "seat-bank", title: "Time bank",
              "aria-label": `time bank ${Math.round(s.time_bank_ms / 1000)} seconds`,
            }, clockIcon(), `${Math.round(s.time_bank_ms / 1000)}s`))),
        el("div", { class: "timer" }, el("div", { class: "timer-fill" })));
      seat.append(plate);

      let tag = null;
      let tagClass = "";
      if (winners.has(i) && s.won) { tag = `Wins ${fmt(s.won)}`; tagClass = "tag-win"; }
      else if (s.hand_name && !s.folded) { tag = s.hand_name; tagClass = "tag-hand"; }
      else if (s.leaving) tag = "Left";
      else if (!s.connected) { tag = "Disconnected"; tagClass = "tag-away"; }
      else if (s.sitting_out) { tag = "Sitting out"; tagClass = "tag-dim"; }
      else if (s.waits_for_big_blind) { tag = "Waiting for BB"; tagClass = "tag-dim"; }
      else if (s.last) { tag = s.last; tagClass = `tag-${s.last.toLowerCase().replace(/\s+/g, "-")}`; }
      if (tag) seat.append(el("div", { class: `seat-tag ${tagClass}` }, tag));
      if (winners.has(i) && s.hand_name) seat.append(el("div", { class: "seat-hand-name" }, s.hand_name));
    });
  }

  // Chips sliding from one place on the felt to another (none when the
  // player asked for reduced motion). Returns the flying element, or null.
  flyChips(from, to, amount, bb) {
    if (!from || !to || window.matchMedia("(prefers-reduced-motion: reduce)").matches) return null;
    const box = this.felt.getBoundingClientRect();
    const a = from.getBoundingClientRect();
    const b = to.getBoundingClientRect();
    if (!box.width || !a.width || !b.width) return null;
    const chip = el("div", { class: "flying-chip", "aria-hidden": "true" }, chipStack(amount, bb, 2));
    chip.style.left = `${a.left + a.width / 2 - box.left}px`;
    chip.style.top = `${a.top + a.height / 2 - box.top}px`;
    this.felt.append(chip);
    const dx = b.left + b.width / 2 - (a.left + a.width / 2);
    const dy = b.top + b.height / 2 - (a.top + a.height / 2);
    const anim = chip.animate([
      { transform: "translate(-50%, -50%)", opacity: 1 },
      { transform: `translate(calc(-50% + ${dx}px), calc(-50% + ${dy}px))`, opacity: 0.4 },
    ], { duration: 450, easing: "ease-in" });
    const done = () => chip.remove();
    anim.onfinish = done;
    anim.oncancel = done;
    return chip;
  }

  renderCenter(state) {
    const hand = state.hand;
    // board: append new cards only, so the deal animation plays once
    const board = hand ? hand.board : [];
    const boardSig = board.join("");
    if (this.sig.board !== boardSig) {
      const had = this.sig.board || "";
      const keep = boardSig.startsWith(had) ? had.length / 2 : 0;
      if (!keep) clear(this.boardEl);
      while (this.boardEl.children.length > keep) this.boardEl.lastChild.remove();
      board.slice(keep).forEach((c, k) => {
        const card = cardEl(c, { size: "board", deal: true });
        card.style.animationDelay = `${k * 90}ms`;
        this.boardEl.append(card);
      });
      for (let k = board.length; k < 5; k++) {
        if (!this.boardEl.querySelector(`.slot[data-k="${k}"]`)) {
          this.boardEl.append(el("div", { class: "card card-board slot", dataset: { k } }));
        }
      }
      // slots always after real cards
      for (const slot of [...this.boardEl.querySelectorAll(".slot")]) {
        if (Number(slot.dataset.k) < board.length) slot.remove();
        else this.boardEl.append(slot);
      }
      this.sig.board = boardSig;
    }
    // Run twice: the second board under the first (the cards both share included).
    const second = hand && hand.second_board ? hand.second_board : [];
    if (this.sig.board2 !== second.join("")) {
      this.sig.board2 = second.join("");
      clear(this.board2El);
      for (const c of second) this.board2El.append(cardEl(c, { size: "board" }));
      this.board2El.hidden = second.length === 0;
    }
    const running = handRunning(state);
    const total = potTotal(state);
    this.potTotalEl.textContent = total > 0 ? `Pot ${fmt(total)}` : "";
    const pots = hand && running ? hand.pots.filter((p) => p.amount > 0 && !p.awarded) : [];
    const potSig = JSON.stringify(pots.map((p) => p.amount));
    if (this.sig.pots !== potSig) {
      this.sig.pots = potSig;
      clear(this.potsEl);
      pots.forEach((p, k) => {
        this.potsEl.append(el("div", { class: "pot" },
          chipStack(p.amount, state.big_blind, 3),
          el("span", { class: "pot-text" },
            el("span", { class: "pot-label" }, pots.length > 1 ? (k === 0 ? "Main " : `Side ${k} `) : ""),
            el("span", { class: "pot-amount" }, fmt(p.amount)))));
      });
    }
    // result banner
    // Each pot won: chips fly from the middle to the winners.
    const handNo = hand ? hand.number : null;
    if (this.sig.resultsHand === handNo) {
      for (const r of state.results.slice(this.sig.resultsCount || 0)) {
        for (const w of r.winners) {
          if (this.seatEls[w.seat]) this.flyChips(this.potTotalEl, this.seatEls[w.seat].seat, w.amount, state.big_blind);
        }
      }
    }
    this.sig.resultsHand = handNo;
    this.sig.resultsCount = state.results.length;
    const resSig = JSON.stringify(state.results);
    if (this.sig.result !== resSig) {
      this.sig.result = resSig;
      clear(this.resultEl);
      for (const r of state.results) {
        const names = r.winners.map((w) => `${state.seats[w.seat] ? state.seats[w.seat].name : `seat ${w.seat + 1}`}`);
        const label = state.results.length > 1 ? (r.pot === 0 ? "Main pot" : `Side pot ${r.pot}`) : null;
        this.resultEl.append(el("div", { class: "result-line" },
          label ? el("span", { class: "result-pot" }, `${label}: `) : null,
          el("strong", {}, names.join(" & ")),
          ` ${r.winners.length > 1 ? "split" : "wins"} ${fmt(r.amount)}`,
          r.hand ? el("span", { class: "result-hand" }, ` \u2014 ${r.hand}`) : null));
      }
    }
    const seated = state.seats.filter(Boolean).length;
    let msg = "";
    if (!hand && seated < 2) msg = seated ? "Waiting for another player\u2026" : "Waiting for players\u2026";
    else if (!running && !state.results.length && seated < 2) msg = "Waiting for another player\u2026";
    this.centerMsg.textContent = msg;
  }

  // -- actions -----------------------------------------------------------------

  renderActions(state, ctx) {
    const legal = state.legal;
    const mine = state.you !== null ? state.seats[state.you] : null;
    const myTurn = !!(legal && mine && legal.seat === state.you && ctx.online);
    this.actionBar.classList.toggle("my-turn", myTurn);
    this.actionBar.classList.toggle("watching", !mine);
    let status = "";
    if (!ctx.online) status = "Reconnecting\u2026 your seat is kept.";
    else if (!mine) status = state.seats.some((s) => !s) ? "You are watching. Pick an empty seat to play." : "You are watching. The table is full.";
    else if (myTurn) status = "Your turn";
    else if (mine.stack === 0 && !(handRunning(state) && mine.in_hand)) status = "You are out of chips: add chips to play on.";
    else if (mine.sitting_out) status = "You are sitting out.";
    else if (mine.waits_for_big_blind) status = "You will be dealt in at the big blind.";
    else if (handRunning(state) && mine.in_hand && !mine.folded) {
      const to = state.hand.to_act;
      status = to !== null && to !== undefined && state.seats[to] ? `Waiting for ${state.seats[to].name}\u2026` : "";
    } else if (handRunning(state)) status = "Waiting for the next hand\u2026";
    else status = state.seats.filter((s) => s && !s.sitting_out).length < 2 ? "Waiting for another player\u2026" : "Next hand soon\u2026";
    this.statusEl.textContent = status;

    const key = myTurn ? JSON.stringify([state.hand && state.hand.number, legal]) : null;
    if (key !== this.turnKey) {
      this.turnKey = key;
      this.setupTurn(myTurn ? legal : null, mine);
    }
    // The bet sizes of this street (2.5x and 3x preflop, fractions of the pot after).
    const preflop = !!(state.hand && state.hand.street === "preflop");
    for (const b of this.presets.querySelectorAll(".preset")) {
      b.hidden = b.dataset.when !== "any" && (b.dataset.when === "pre") !== preflop;
    }
    // While an action is on its way, nothing can be clicked twice.
    const busy = !!state.acting;
    for (const [b, ok] of this.allowed) b.disabled = busy || !ok;
    this.renderPre(state, ctx, mine, myTurn);
  }

  // -- pre-actions ------------------------------------------------------------------

  // Whether we could be asked to act later in this betting round.
  preActionable(state, mine) {
    const hand = state.hand;
    return !!(mine && handRunning(state) && mine.in_hand && !mine.folded && !mine.all_in && !mine.leaving
      && mine.stack > 0 && ["preflop", "flop", "turn", "river"].includes(hand.street));
  }

  choosePre(kind) {
    const st = this.state;
    const mine = st && st.you !== null ? st.seats[st.you] : null;
    if (!this.preActionable(st, mine)) return;
    this.pre = this.pre && this.pre.kind === kind ? null
      : { kind, hand: st.hand.number, street: st.hand.street };
    this.renderPre(st, this.ctx, mine, false);
  }

  renderPre(state, ctx, mine, myTurn) {
    const hand = state.hand;
    const able = this.preActionable(state, mine) && ctx.online;
    const facing = able && hand.current_bet > mine.bet;
    const pre = this.pre;
    if (pre) {
      let gone = !able || hand.number !== pre.hand || hand.street !== pre.street;
      // "Check" was chosen when nobody had bet: a bet since cancels it.
      if (!gone && pre.kind === "check" && facing) {
        gone = true;
        this.announce("Check cancelled: there is a bet to call.");
      }
      if (gone) this.pre = null;
    }
    if (myTurn && this.pre && !state.acting) {
      const legal = state.legal;
      const acts = new Set(legal.actions);
      const kind = this.pre.kind;
      this.pre = null;
      let action = null;
      if (kind === "checkfold") action = acts.has("check") ? "check" : "fold";
      else if (kind === "check") action = acts.has("check") ? "check" : null;
      else if (kind === "call") action = acts.has("call") ? "call" : acts.has("check") ? "check" : null;
      if (action) queueMicrotask(() => this.h.act(action));
    }
    this.preBox.hidden = !able || myTurn;
    for (const b of this.preButtons) {
      const kind = b.dataset.pre;
      b.setAttribute("aria-pressed", String(!!(this.pre && this.pre.kind === kind)));
      b.disabled = kind === "check" && facing;
    }
  }

  // The buttons for a new turn: every button shows; only the legal ones are enabled.
  setupTurn(legal, mine) {
    this.actButtons.hidden = !legal;
    this.raiseBox.hidden = !legal;
    this.amountHint.textContent = "";
    this.allowed = new Map();
    if (!legal) {
      if (document.activeElement === this.amountBox) this.amountBox.blur();
      return;
    }
    const acts = new Set(legal.actions);
    const canCheck = acts.has("check");
    const grow = acts.has("bet") ? "bet" : acts.has("raise") ? "raise to" : null;
    this.announce(`Your turn: ${canCheck ? "check" : `call ${fmt(legal.call)}`}`
      + `${grow ? `, or ${grow} ${fmt(legal.min_to)} to ${fmt(legal.max_to)}` : ""}.`);
    this.btnCall.querySelector(".act-label").textContent = canCheck ? "Check"
      : `Call ${fmt(legal.call)}${mine && legal.call >= mine.stack ? " (all in)" : ""}`;
    const betName = acts.has("bet") ? "bet" : acts.has("raise") ? "raise" : null;
    // Short of a full raise, all in may still raise (or bet) a little: the raise button does it.
    this.allInOnly = !betName && acts.has("all_in") && legal.max_to > 0;
    this.betName = betName;
    // Fixed limit: one size (min_to = max_to), one Bet/Raise button, no slider.
    this.fixed = LIMITS[this.state.game] === "fixed";
    this.potLimit = LIMITS[this.state.game] === "pot";
    this.raiseBox.hidden = this.fixed;
    // Pot limit: "All in" only when the stack fits in the pot; the Pot button is the maximum.
    for (const b of this.presets.querySelectorAll(".preset[data-preset=max]")) b.hidden = this.potLimit && !acts.has("all_in");
    this.allowed.set(this.btnFold, acts.has("fold"));
    this.allowed.set(this.btnCall, canCheck || acts.has("call"));
    this.allowed.set(this.btnRaise, !!betName || this.allInOnly);
    for (const b of this.presets.querySelectorAll(".preset")) this.allowed.set(b, !!betName);
    this.allowed.set(this.slider, !!betName);
    this.allowed.set(this.amountBox, !!betName);
    this.raiseBox.classList.toggle("off", !betName);
    const label = this.btnRaise.querySelector(".act-label");
    for (const b of [this.btnMinus, this.btnPlus]) this.allowed.set(b, !!betName);
    if (betName && this.fixed) {
      label.textContent = `${betName === "bet" ? "Bet" : "Raise to"} ${fmt(legal.min_to)}`;
    } else if (betName) {
      this.slider.min = legal.min_to;
      this.slider.max = legal.max_to;
      this.amountBox.value = String(legal.min_to);
      this.slider.value = String(legal.min_to);
      this.amountRange.textContent = `Min ${fmt(legal.min_to)} \u00b7 Max ${fmt(legal.max_to)}`;
      this.amountTyped();
    } else {
      this.amountBox.value = "";
      this.amountRange.textContent = "";
      label.textContent = this.allInOnly ? `All in ${fmt(legal.max_to)}` : (acts.has("call") ? "Raise" : "Bet");
    }
  }

  amountTyped() {
    const legal = this.state && this.state.legal;
    if (!legal) return;
    const text = this.amountBox.value.trim();
    const label = this.btnRaise.querySelector(".act-label");
    const verb = this.betName === "bet" ? "Bet" : "Raise to";
    if (/^\d+$/.test(text)) {
      const n = Number(text);
      if (n >= legal.min_to && n <= legal.max_to) this.slider.value = String(n);
      const allIn = n === legal.max_to && !(this.potLimit && !legal.actions.includes("all_in"));
      label.textContent = allIn ? `All in ${fmt(n)}` : n === legal.max_to && this.potLimit
        ? `${verb} ${fmt(n)} (pot)` : `${verb} ${fmt(n)}`;
      this.amountHint.textContent = "";
      this.amountBox.classList.remove("invalid");
    } else {
      label.textContent = verb;
      this.amountBox.classList.toggle("invalid", text.length > 0);
    }
    for (const b of this.presets.querySelectorAll(".preset")) {
      b.classList.toggle("active", String(this.presetAmount(b.dataset.preset)) === text);
    }
  }

  // The server's legal range (legal.min_to..legal.max_to): the client never
  // works out a minimum raise itself.
  clamp(n) {
    const legal = this.state.legal;
    return Math.max(legal.min_to, Math.min(legal.max_to, n));
  }

  // Put the box back in the legal range; `explain` says so under it.
  clampBox(explain) {
    const legal = this.state && this.state.legal;
    const text = this.amountBox.value.trim();
    if (!legal || !this.betName || !/^\d+$/.test(text)) return true;
    const n = Number(text);
    const to = this.clamp(n);
    if (to === n) return true;
    this.amountBox.value = String(to);
    this.amountTyped();
    if (explain) {
      this.amountHint.textContent = n < to
        ? `The minimum ${this.betName} is to ${fmt(to)}: the amount is now ${fmt(to)}.`
        : `You can ${this.betName} to ${fmt(to)} at most (all in): the amount is now ${fmt(to)}.`;
    }
    return false;
  }

  // One big blind more (dir 1) or less (-1), within the legal range.
  step(dir) {
    const legal = this.state && this.state.legal;
    if (!legal || !this.betName || !this.myTurn()) return;
    const text = this.amountBox.value.trim();
    const now = /^\d+$/.test(text) ? Number(text) : legal.min_to;
    this.amountBox.value = String(this.clamp(now + dir * Math.max(1, this.state.big_blind || 1)));
    this.amountTyped();
  }

  presetAmount(key) {
    const st = this.state;
    const legal = st.legal;
    if (!legal) return 0;
    const cur = st.hand ? st.hand.current_bet : 0;
    // The pot a pot-sized raise is measured on: the middle, every bet on the table, and our call.
    const pot = potTotal(st) + legal.call;
    let to;
    if (key === "min") to = legal.min_to;
    else if (key === "max") to = legal.max_to;
    else if (key === "pot" && this.potLimit) to = legal.max_to; // the server's pot limit, exactly
    else if (key in MULTIPLES) to = Math.round(cur * MULTIPLES[key]);
    else to = cur + Math.floor(pot * (FRACTIONS[key] ?? 1));
    return this.clamp(to);
  }

  preset(key) {
    const n = this.presetAmount(key);
    this.amountBox.value = String(n);
    this.amountTyped();
  }

  myTurn() {
    return !!(this.state && this.state.legal && this.state.you !== null && !this.actButtons.hidden);
  }

  fold() {
    if (this.myTurn() && !this.btnFold.disabled) this.h.act("fold");
  }

  checkOrCall() {
    if (!this.myTurn() || this.btnCall.disabled) return;
    this.h.act(this.state.legal.actions.includes("check") ? "check" : "call");
  }

  raise() {
    if (!this.myTurn() || this.btnRaise.disabled) return;
    if (!this.betName) {
      if (this.allInOnly) this.h.act("all_in");
      return;
    }
    if (this.fixed) {
      this.h.act(this.betName, this.state.legal.min_to); // the one size fixed limit allows
      return;
    }
    const text = this.amountBox.value.trim();
    if (!/^\d+$/.test(text)) {
      const msg = text === "" ? "Type an amount to bet or raise to." : `\u201c${text}\u201d is not a whole number of chips.`;
      this.amountHint.textContent = msg;
      this.amountBox.classList.add("invalid");
      this.h.localError(msg);
      return;
    }
    if (!this.clampBox(true)) return; // out of range: clamped and said so; a second click sends it
    this.h.act(this.betName, Number(text));
  }

  // keyboard shortcuts: f, c, r (not while typing in the chat)
  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const t = e.target;
    // Typing in a text box (the chat, the amount) is never a shortcut; Enter in the amount box raises.
    const typing = t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "range"));
    if (typing) return false;
    const k = e.key.toLowerCase();
    if (k === "f") { this.fold(); return true; }
    if (k === "c") { this.checkOrCall(); return true; }
    if (k === "r") { this.raise(); return true; }
    return false;
  }

  // -- chat and log -------------------------------------------------------------

  // Each state is a new value (state.js applies events without changing the
  // old one), but chat lines and log entries are shared between states: a list
  // is appended to from the last entry it rendered, wherever that now sits (the
  // lists are trimmed at the front); an entry no longer there redraws it all.
  renderChat(state) {
    this.chatLast = appendNew(this.chatList, state.chat, this.chatLast, 100,
      (m) => el("li", { class: "chat-msg" }, el("span", { class: "chat-name" }, m.name), el("span", { class: "chat-text" }, m.text)));
  }

  renderLog(state) {
    this.logLast = appendNew(this.logList, state.log, this.logLast, 200,
      (entry) => el("li", { class: `log-${entry.kind}` }, entry.parts.map((p) => (p && p.cards ? cardsInline(p.cards) : p))),
      (entry) => { if (SPOKEN.has(entry.kind)) this.announce(spoken(entry)); });
  }

  // A line for screen readers (the live region is a log: each line is read once).
  announce(text) {
    this.announcer.append(el("p", {}, text));
    while (this.announcer.children.length > 8) this.announcer.firstChild.remove();
  }

  // -- clock ---------------------------------------------------------------------

  tick() {
    this.tournamentBar.tick();
    const st = this.state;
    if (!st || !this.seatEls) return;
    const clock = st.clock;
    const running = handRunning(st);
    let text = "";
    this.seatEls.forEach(({ seat }, i) => {
      const fill = seat.querySelector(".timer-fill");
      if (!fill) return;
      const timer = fill.parentElement;
      if (!clock || clock.seat !== i || !running) {
        timer.classList.remove("on", "bank", "low");
        return;
      }
      const now = serverNow();
      const total = clock.total || (clock.total = Math.max(1000, clock.deadline_ms - clock.received));
      let left = clock.deadline_ms - now;
      let frac;
      let bank = !!clock.bank;
      if (bank) frac = left / total;
      else if (left > 0) frac = left / total;
      else {
        bank = true;
        left = (clock.time_bank_ms || 0) + left;
        frac = clock.time_bank_ms ? left / clock.time_bank_ms : 0;
      }
      frac = Math.max(0, Math.min(1, frac));
      timer.classList.add("on");
      timer.classList.toggle("bank", bank);
      timer.classList.toggle("low", !bank && left < 5000);
      fill.style.transform = `scaleX(${frac})`;
      if (i === st.you) {
        // Five seconds left on our own clock: a warning, once per deadline.
        if (!bank && left < 5000 && left > 0 && this.warnedFor !== clock.deadline_ms) {
          this.warnedFor = clock.deadline_ms;
          play("warning");
        }
        const secs = Math.max(0, Math.ceil(left / 1000));
        text = bank ? `Time bank ${secs}s` : `${secs}s`;
        if (!bank && clock.time_bank_ms) text += ` + ${Math.round(clock.time_bank_ms / 1000)}s bank`;
      }
    });
    this.turnClock.textContent = text;
    this.turnClock.classList.toggle("bank", text.startsWith("Time bank"));
  }
}
