// Hand history: the table's last hands (the server's GET /api/tables/<id>/hands),
// the hands this tab watched, recorded event by event in sessionStorage so that
// a reload keeps them, a small replayer that steps through a recorded hand with
// the same state applier as the live table, and the PHH download of a hand you
// played (fetched with the token in an Authorization header, never in the URL).

import { el, clear, fmt, modal, toast } from "./ui.js";
import { cardEl, cardsInline } from "./cards.js";
import { fromTable, applyEvent, potTotal } from "./state.js";

const KEY = "poker.hands";
const KEEP = 40;            // recorded hands kept in this tab, all tables together
const NOT_KEPT = new Set(["clock", "chat", "presence", "to_act"]);
// The events a replay stops at (the others are applied on the way).
const STEPS = new Set(["blind", "action", "uncalled", "street", "show", "muck", "award"]);

const recording = new Map(); // table id -> the hand being recorded

function load() {
  try {
    const all = JSON.parse(sessionStorage.getItem(KEY) || "[]");
    return Array.isArray(all) ? all : [];
  } catch (err) {
    return [];
  }
}

function save(hand) {
  const all = load().filter((h) => !(h.table === hand.table && h.number === hand.number));
  all.push(hand);
  while (all.length > KEEP) all.shift();
  try {
    sessionStorage.setItem(KEY, JSON.stringify(all));
  } catch (err) {
    // storage full or off: the server's list still shows the hands
  }
}

// Called with the state *before* each event of a table.
export function record(state, ev) {
  if (ev.type === "hand_started") {
    recording.set(state.id, {
      table: state.id, name: state.name, number: ev.hand, you: state.you,
      small_blind: state.small_blind, big_blind: state.big_blind, ante: state.ante,
      seats: state.seats.map((s) => s && { seat: s.seat, player: s.player, name: s.name, stack: s.stack }),
      events: [ev],
    });
    return;
  }
  const hand = recording.get(state.id);
  if (!hand || NOT_KEPT.has(ev.type)) return;
  hand.events.push(ev);
  if (ev.type === "hand_ended") {
    recording.delete(state.id);
    save(hand);
  }
}

export function recorded(tableId) {
  return load().filter((h) => h.table === tableId);
}

// The states a replay shows: after the deal, then after each step event.
export function replaySteps(hand) {
  let st = fromTable({
    table: hand.table, name: hand.name, v: 0, you: hand.you,
    view: { seats: hand.seats, small_blind: hand.small_blind, big_blind: hand.big_blind, ante: hand.ante, hand: null },
  });
  const steps = [];
  hand.events.forEach((ev, k) => {
    st = applyEvent(st, ev, k + 1, null);
    const next = hand.events[k + 1];
    const dealt = ev.type === "hole_cards" && (!next || next.type !== "hole_cards");
    if (dealt || STEPS.has(ev.type)) steps.push(st);
  });
  return steps;
}

function stepText(st) {
  const entry = st.log[st.log.length - 1];
  if (!entry) return "";
  return entry.parts.map((p) => (p && p.cards ? cardsInline(p.cards) : p));
}

// The replayer: a dialog with the board, each player, the pot and the action.
export function openReplay(hand) {
  const steps = replaySteps(hand);
  if (!steps.length) return;
  let k = 0;
  const counter = el("p", { class: "replay-step", id: "replay-step", "aria-live": "polite" });
  const what = el("p", { class: "replay-what", id: "replay-what" });
  const board = el("div", { class: "replay-board", role: "group", "aria-label": "Board" });
  const pot = el("p", { class: "replay-pot", id: "replay-pot" });
  const seats = el("ul", { class: "replay-seats", id: "replay-seats" });
  const show = () => {
    const st = steps[k];
    counter.textContent = `Step ${k + 1} of ${steps.length}`;
    clear(what).append(...[stepText(st)].flat());
    clear(board).append(...st.hand.board.map((c) => cardEl(c, { size: "sm" })));
    pot.textContent = potTotal(st) ? `Pot ${fmt(potTotal(st))}` : "";
    clear(seats);
    st.seats.forEach((s) => {
      if (!s || !s.in_hand) return;
      seats.append(el("li", { class: `replay-seat${s.folded ? " folded" : ""}${s.won ? " won" : ""}` },
        el("span", { class: "replay-name" }, s.name),
        el("span", { class: "replay-cards" }, (s.cards || []).map((c) => cardEl(c, { size: "sm" }))),
        el("span", { class: "replay-stack" }, fmt(s.stack)),
        s.bet ? el("span", { class: "replay-bet" }, `bet ${fmt(s.bet)}`) : null,
        s.won ? el("span", { class: "replay-won" }, `wins ${fmt(s.won)}`) : null,
        s.folded ? el("span", { class: "replay-folded" }, "folded") : null));
    });
    back.disabled = k === 0;
    forward.disabled = k === steps.length - 1;
  };
  const move = (d) => { k = Math.max(0, Math.min(steps.length - 1, k + d)); show(); };
  const dlg = modal({
    title: `Hand #${hand.number}`,
    id: "replay-dialog",
    body: [counter, what, board, pot, seats],
    buttons: [
      { label: "\u2190 Back", class: "btn-ghost", id: "replay-back", onclick: () => move(-1) },
      { label: "Next \u2192", class: "btn-primary", id: "replay-next", onclick: () => move(1) },
      { label: "Close", class: "btn-ghost", id: "replay-close" },
    ],
  });
  const back = dlg.root.querySelector("#replay-back");
  const forward = dlg.root.querySelector("#replay-next");
  dlg.root.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") { e.preventDefault(); move(-1); }
    if (e.key === "ArrowRight") { e.preventDefault(); move(1); }
  });
  show();
  setTimeout(() => forward.focus(), 0); // after modal()'s own focus: the arrow keys work at once
}

// The table's last hands, newest first ([] when the server cannot say).
export async function fetchHands(tableId) {
  try {
    const res = await fetch(`/api/tables/${encodeURIComponent(tableId)}/hands`, { cache: "no-store" });
    if (!res.ok) return [];
    const body = await res.json();
    return Array.isArray(body.hands) ? body.hands : [];
  } catch (err) {
    return [];
  }
}

// A hand you played as a PHH file: fetched with the token in a header, then
// offered as a download from a Blob (a token in a URL ends up in logs).
export async function downloadPhh(tableId, number, token) {
  let res;
  try {
    res = await fetch(`/api/tables/${encodeURIComponent(tableId)}/hands/${number}.phh`, {
      headers: { Authorization: `Bearer ${token}` }, cache: "no-store",
    });
  } catch (err) {
    toast("Could not reach the server for that hand.");
    return;
  }
  if (!res.ok) {
    toast(res.status === 403 ? "You can download only the hands you were dealt into."
      : res.status === 404 ? "The table no longer keeps that hand." : "Could not download that hand.");
    return;
  }
  const blob = new Blob([await res.text()], { type: "application/toml" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: `${tableId}-hand-${number}.phh`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// One line per hand in the History tab.
export function handRow(summary, { replayable, mine, onReplay, onPhh }) {
  const winners = (summary.winners || []).map((w) => `${w.name} wins ${fmt(w.amount)}`).join(", ");
  const shown = (summary.shown || []).find((s) => s.hand);
  return el("li", { class: "history-hand", dataset: { hand: summary.number } },
    el("div", { class: "history-head" },
      el("strong", {}, `#${summary.number}`),
      el("span", { class: "history-pot" }, ` \u00b7 pot ${fmt(summary.pot)}`),
      summary.board && summary.board.length ? el("span", { class: "history-board" }, " \u00b7 ", cardsInline(summary.board)) : null),
    el("div", { class: "history-result" }, winners || "No pot", shown ? ` (${shown.hand})` : ""),
    el("div", { class: "history-buttons" },
      el("button", {
        class: "btn btn-sm btn-ghost history-replay", type: "button", disabled: !replayable,
        title: replayable ? "Step through this hand" : "Only hands watched in this tab can be replayed",
        onclick: onReplay,
      }, "Replay"),
      mine ? el("button", { class: "btn btn-sm btn-ghost history-phh", type: "button", onclick: onPhh, title: "Download this hand as a PHH file" }, "PHH") : null));
}
