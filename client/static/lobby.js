// The lobby: the list of tables, watch / join, and a dialog to create a table.

import { el, clear, fmt, modal } from "./ui.js";

const SORTS = {
  default: null,
  stakes: (a, b) => b.big_blind - a.big_blind || b.small_blind - a.small_blind,
  players: (a, b) => b.seats_taken - a.seats_taken,
  avg_pot: (a, b) => (b.avg_pot || 0) - (a.avg_pot || 0),
};
const VIEW_KEY = "poker.lobbyView";

function stakes(t) {
  return `${t.small_blind}/${t.big_blind}`;
}

// The games a table can play (PHH variant codes), as the New table dialog offers them.
const GAMES = [["NT", "No-Limit Hold'em"], ["PO", "Pot-Limit Omaha"], ["PO5", "Pot-Limit Omaha, 5 cards"], ["FT", "Fixed-Limit Hold'em"]];
const HOLE_CARDS = { NT: 2, PO: 4, PO5: 5, FT: 2 };
const MAX_STAKE = 1000000; // server/lobby.py MAX_STAKE

// What is wrong with a New table form, in a sentence, or null: the checks of
// POST /api/tables (server/lobby.py table_config, game/table.py new_table), made
// here first so that a player reads why, not the server's words for developers.
export function createProblem(spec) {
  const name = spec.name.trim();
  if (!name) return "Give the table a name.";
  if ([...name].length > 40) return "A table's name is at most 40 characters.";
  if (/[\p{C}\p{Z}]/u.test(name.replace(/ /g, ""))) return "A table's name may not contain control characters or special spaces.";
  const { seats, small_blind: sb, big_blind: bb, min_buy_in: lo, max_buy_in: hi } = spec;
  if (![sb, bb, lo, hi].every(Number.isSafeInteger)) return "Blinds and buy-ins must be whole numbers of chips.";
  if (sb < 1) return "The small blind must be at least 1 chip.";
  if (sb > MAX_STAKE) return `The small blind can be at most ${fmt(MAX_STAKE)} chips.`;
  if (bb < sb) return `The big blind must be at least the small blind (${fmt(sb)}).`;
  if (bb > MAX_STAKE) return `The big blind can be at most ${fmt(MAX_STAKE)} chips.`;
  const most = 1000 * bb;
  if (lo < 1) return "The minimum buy-in must be at least 1 chip.";
  if (lo > most) return `The minimum buy-in can be at most 1,000 big blinds (${fmt(most)} chips).`;
  if (hi < lo) return `The maximum buy-in must be at least the minimum buy-in (${fmt(lo)}).`;
  if (hi > most) return `The maximum buy-in can be at most 1,000 big blinds (${fmt(most)} chips).`;
  const cards = HOLE_CARDS[spec.game || "NT"] || 2;
  if (seats * cards + 5 > 52) {
    const fit = Math.floor(47 / cards);
    return `One deck deals this game to at most ${fit} players: choose ${fit} seats or fewer.`;
  }
  return null;
}

export class LobbyView {
  constructor(root, handlers) {
    this.root = root;
    // {watch(id), join(id), wait(id), unwait(id), take(id), create(spec) -> Promise, named(then)}
    this.h = handlers;
    this.listEl = el("div", { class: "lobby-list", id: "lobby-list" });
    this.seatedEl = el("div", { class: "lobby-seated" });
    this.countEl = el("span", { class: "lobby-count" });
    // Sorting and filtering, remembered on this device.
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(VIEW_KEY) || "{}") || {}; } catch (err) { saved = {}; }
    this.sortEl = el("select", { id: "lobby-sort", "aria-label": "Sort tables by" },
      [["default", "Newest last"], ["stakes", "Stakes"], ["players", "Players"], ["avg_pot", "Average pot"]]
        .map(([v, label]) => el("option", { value: v, selected: saved.sort === v }, label)));
    this.stakesEl = el("select", { id: "lobby-stakes", "aria-label": "Stakes" });
    this.stakesWanted = saved.stakes || "";
    this.freeEl = el("input", { id: "lobby-free", type: "checkbox", checked: !!saved.free });
    for (const control of [this.sortEl, this.stakesEl, this.freeEl]) {
      control.addEventListener("change", () => {
        this.stakesWanted = this.stakesEl.value;
        localStorage.setItem(VIEW_KEY, JSON.stringify({ sort: this.sortEl.value, stakes: this.stakesWanted, free: this.freeEl.checked }));
        this.render();
      });
    }
    const tools = el("div", { class: "lobby-tools" },
      el("label", { class: "tool" }, el("span", {}, "Sort by"), this.sortEl),
      el("label", { class: "tool" }, el("span", {}, "Stakes"), this.stakesEl),
      el("label", { class: "tool tool-check" }, this.freeEl, el("span", {}, "Seats free")));
    clear(root).append(
      el("div", { class: "lobby" },
        el("div", { class: "lobby-hero" },
          el("div", {},
            el("h1", { class: "lobby-title" }, "Cash games"),
            el("p", { class: "lobby-tag" }, "No-Limit Texas Hold'em \u00b7 play chips")),
          el("button", { class: "btn btn-primary", id: "btn-create", onclick: () => this.h.named(() => this.openCreate()) }, "+ New table")),
        this.seatedEl,
        tools,
        el("div", { class: "lobby-head" },
          el("span", { class: "col-name" }, "Table"), el("span", { class: "col-blinds" }, "Blinds"),
          el("span", { class: "col-buyin" }, "Buy-in"), el("span", { class: "col-seats" }, "Seats"),
          el("span", { class: "col-stats" }, "Avg pot"), el("span", { class: "col-go" }, this.countEl)),
        this.listEl));
    this.tables = null;
    this.ctx = { seats: {}, turns: new Set(), waiting: new Map() };
  }

  // ctx: {seats: table id -> my seat, turns: ids of tables where it is our turn
  // (a badge on their rows), waiting: table id -> {position, length, until_ms} for each
  // server waiting list we are on (until_ms: a seat is held for us until then), now: the
  // server's time}.
  render(tables = this.tables, ctx = this.ctx) {
    this.tables = tables;
    this.ctx = ctx;
    clear(this.listEl);
    const mySeats = ctx.seats || {};
    const turns = ctx.turns || new Set();
    const lists = ctx.waiting || new Map();
    const seatedAt = (tables || []).filter((t) => mySeats[t.id] !== undefined && mySeats[t.id] !== null);
    clear(this.seatedEl);
    if (seatedAt.length) {
      this.seatedEl.append(el("div", { class: "notice" },
        "You have a seat at ",
        seatedAt.map((t, k) => [k ? ", " : "", el("a", { href: `#/table/${encodeURIComponent(t.id)}` }, t.name)]),
        "."));
    }
    for (const [id, w] of lists) {
      const at = (tables || []).find((t) => t.id === id);
      const name = el("strong", {}, at ? at.name : id);
      const left = w.until_ms ? Math.max(0, Math.round((w.until_ms - (ctx.now || Date.now())) / 1000)) : 0;
      this.seatedEl.append(el("div", { class: "notice notice-wait waiting-notice", dataset: { table: id }, role: "status" },
        left
          ? ["A seat is yours at ", name, ` for ${left} s: after that it goes to the next player on the list. `,
            el("button", { class: "btn btn-sm btn-primary btn-take-seat", type: "button", onclick: () => this.h.take(id) }, "Take the seat"), " "]
          : [`You are number ${w.position} of ${w.length} on the waiting list at `, name,
            ". When a seat frees up it is held for the first player on the list for a short while: you will be alerted "
            + "(a sound, and a notification if you turned them on). "],
        el("button", { class: "btn btn-sm btn-ghost btn-leave-list", type: "button", onclick: () => this.h.unwait(id) }, "Leave the list")));
    }
    if (tables === null) {
      this.listEl.append(el("div", { class: "lobby-empty" }, "Loading tables\u2026"));
      return;
    }
    // The stakes on offer, for the filter.
    const offered = [...new Set(tables.map(stakes))].sort((a, b) => Number(a.split("/")[1]) - Number(b.split("/")[1]));
    clear(this.stakesEl).append(el("option", { value: "" }, "All"),
      ...offered.map((v) => el("option", { value: v, selected: v === this.stakesWanted }, v)));
    // A tournament's tables are played by its players only: not among the cash games.
    let shown = tables.filter((t) => !t.tournament && (!this.stakesWanted || stakes(t) === this.stakesWanted)
      && (!this.freeEl.checked || t.seats_taken < t.seats));
    const sort = SORTS[this.sortEl.value];
    if (sort) shown = shown.slice().sort(sort);
    this.countEl.textContent = shown.length === tables.length
      ? `${tables.length} table${tables.length === 1 ? "" : "s"}` : `${shown.length} of ${tables.length} tables`;
    if (!tables.length) {
      this.listEl.append(el("div", { class: "lobby-empty" },
        el("p", {}, "No tables yet."),
        el("button", { class: "btn btn-primary", onclick: () => this.h.named(() => this.openCreate()) }, "Create the first table")));
      return;
    }
    if (!shown.length) this.listEl.append(el("div", { class: "lobby-empty" }, "No table matches these filters."));
    for (const t of shown) {
      const full = t.seats_taken >= t.seats;
      const mine = mySeats[t.id] !== undefined && mySeats[t.id] !== null;
      const waiting = lists.get(t.id);
      const dots = el("span", { class: "seat-dots", "aria-hidden": "true" },
        Array.from({ length: t.seats }, (_, k) => el("span", { class: `dot ${k < t.seats_taken ? "taken" : ""}` })));
      const players = (t.players || []).filter(Boolean);
      const turn = turns.has(t.id);
      let go = null;
      if (mine) go = null;
      else if (waiting) go = el("button", { class: "btn btn-sm btn-ghost btn-unwait", type: "button", title: `You are number ${waiting.position} on the list`, onclick: () => this.h.unwait(t.id) }, `#${waiting.position} \u00b7 Leave list`);
      else if (full || t.waiting) go = el("button", { class: "btn btn-sm btn-primary btn-wait", type: "button", title: "Join the table's waiting list: when a seat frees up it is held for the players on the list, in turn", onclick: () => this.h.wait(t.id) }, "Join waiting list");
      else go = el("button", { class: "btn btn-primary btn-sm btn-join", type: "button", onclick: () => this.h.join(t.id) }, "Join");
      this.listEl.append(el("div", {
        class: `lobby-row ${mine ? "mine" : ""} ${turn ? "my-turn-row" : ""}`,
        dataset: { table: t.id, bb: t.big_blind, taken: t.seats_taken, avgPot: t.avg_pot || 0 },
      },
        el("div", { class: "col-name" },
          el("div", { class: "t-name" }, t.name, turn ? el("span", { class: "turn-badge" }, "Your turn") : null),
          el("div", { class: "t-players" }, players.length ? players.join(", ") : "Empty table")),
        el("div", { class: "col-blinds" }, el("span", { class: "blinds" }, t.stakes || `${fmt(t.small_blind)}/${fmt(t.big_blind)}`),
          t.ante ? el("span", { class: "t-ante" }, ` ante ${fmt(t.ante)}`) : null),
        el("div", { class: "col-buyin" }, `${fmt(t.min_buy_in)}\u2013${fmt(t.max_buy_in)}`),
        el("div", { class: "col-seats" }, dots, el("span", { class: "seat-count" }, `${t.seats_taken}/${t.seats}`),
          t.waiting ? el("span", { class: "t-waiting" }, ` \u00b7 ${t.waiting} waiting`) : null),
        el("div", { class: "col-stats" }, el("span", { class: "t-stat-label" }, "Avg pot "), t.avg_pot !== undefined && t.hands ? fmt(Math.round(t.avg_pot)) : "\u2014",
          el("span", { class: "t-hands" }, t.hands ? ` \u00b7 ${fmt(t.hands)} hands` : "")),
        el("div", { class: "col-go" },
          el("button", { class: "btn btn-ghost btn-sm btn-watch", type: "button", onclick: () => this.h.watch(t.id) }, mine ? "Open" : "Watch"),
          go)));
    }
  }

  openCreate() {
    const field = (label, input, hint) => el("label", { class: "field" }, el("span", { class: "field-label" }, label), input,
      hint ? el("span", { class: "field-hint" }, hint) : null);
    const name = el("input", { id: "new-name", type: "text", maxlength: 40, value: "My table", autocomplete: "off" });
    const seats = el("select", { id: "new-seats" },
      [2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => el("option", { value: n, selected: n === 6 }, n === 2 ? "2 (heads-up)" : `${n}`)));
    const game = el("select", { id: "new-game" },
      GAMES.map(([code, label]) => el("option", { value: code, selected: code === "NT" }, label)));
    const sb = el("input", { id: "new-sb", type: "number", min: 1, step: 1, value: 1, inputmode: "numeric" });
    const bb = el("input", { id: "new-bb", type: "number", min: 1, step: 1, value: 2, inputmode: "numeric" });
    const minBuy = el("input", { id: "new-min", type: "number", min: 1, step: 1, value: 40, inputmode: "numeric" });
    const maxBuy = el("input", { id: "new-max", type: "number", min: 1, step: 1, value: 200, inputmode: "numeric" });
    // Until the user types them, the small blind and the buy-ins follow the big blind.
    let buyInTouched = false;
    let sbTouched = false;
    minBuy.addEventListener("input", () => { buyInTouched = true; });
    maxBuy.addEventListener("input", () => { buyInTouched = true; });
    sb.addEventListener("input", () => { sbTouched = true; });
    bb.addEventListener("input", () => {
      const b = Number(bb.value);
      if (!Number.isInteger(b) || b <= 0) return;
      if (!buyInTouched) {
        minBuy.value = String(b * 20);
        maxBuy.value = String(b * 100);
      }
      if (!sbTouched) sb.value = String(Math.max(1, Math.floor(b / 2)));
    });
    const dlg = modal({
      title: "New table",
      id: "create-dialog",
      body: [
        field("Name", name),
        field("Game", game, "Fixed limit: bets of the big blind, then twice it on the turn and river"),
        el("div", { class: "field-row" }, field("Seats", seats), field("Small blind", sb), field("Big blind", bb)),
        el("div", { class: "field-row" }, field("Min buy-in", minBuy), field("Max buy-in", maxBuy)),
      ],
      buttons: [
        { label: "Cancel", class: "btn-ghost" },
        {
          label: "Create table", class: "btn-primary", submit: true, id: "create-submit",
          onclick: async (close) => {
            const ints = [sb, bb, minBuy, maxBuy].map((i) => i.value.trim());
            if (!name.value.trim()) { dlg.error("Give the table a name."); return; }
            if (ints.some((v) => !/^\d+$/.test(v))) { dlg.error("Blinds and buy-ins must be whole numbers of chips."); return; }
            const spec = {
              name: name.value.trim(), seats: Number(seats.value), small_blind: Number(sb.value),
              big_blind: Number(bb.value), min_buy_in: Number(minBuy.value), max_buy_in: Number(maxBuy.value),
            };
            if (game.value !== "NT") spec.game = game.value;
            const problem = createProblem(spec);
            if (problem) { dlg.error(problem); return; }
            dlg.error("");
            try {
              const created = await this.h.create(spec);
              close();
              if (created && created.id) this.h.watch(created.id);
            } catch (err) {
              dlg.error(err.message || String(err));
            }
          },
        },
      ],
    });
  }
}
