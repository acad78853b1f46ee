// Tournaments (docs/protocol.md "tournament"): the lobby's Tournaments tab, the
// create-tournament dialog, the bar over a tournament table and the result dialog.
// A tournament's table is an ordinary table; app.js follows the player to it.

import { el, clear, fmt, modal } from "./ui.js";

// The blind structure a new tournament gets: [small blind, big blind, big-blind ante].
export const LEVELS = {
  regular: [[10, 20, 0], [15, 30, 0], [25, 50, 0], [50, 100, 10], [75, 150, 15], [100, 200, 25],
    [150, 300, 40], [200, 400, 50], [300, 600, 75], [400, 800, 100], [600, 1200, 150],
    [800, 1600, 200], [1000, 2000, 300], [1500, 3000, 400], [2000, 4000, 500]],
  turbo: [[25, 50, 0], [50, 100, 10], [100, 200, 25], [200, 400, 50], [400, 800, 100],
    [800, 1600, 200], [1600, 3200, 400], [3200, 6400, 800]],
};

export function ordinal(n) {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] || s[v] || s[0]}`;
}

function clockText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Seconds to the next level (or the end of the break) now, counted down from when the
// `tournament` message arrived (entry.at, this device's ms); null on the last level.
export function secondsLeft(entry, now = Date.now()) {
  const t = entry.t;
  if (t.time_to_next_level === null || t.time_to_next_level === undefined) return null;
  return Math.max(0, t.time_to_next_level - (now - entry.at) / 1000);
}

function blindsText(blinds) {
  if (!blinds) return "";
  const [sb, bb, ante] = blinds;
  return `${fmt(sb)}/${fmt(bb)}${ante ? ` ante ${fmt(ante)}` : ""}`;
}

function payoutsText(payouts) {
  if (!payouts || !payouts.length) return "\u2014";
  return payouts.map((p, i) => `${ordinal(i + 1)} ${fmt(p)}`).join(" \u00b7 ");
}

const STATUS = { registering: "Registering", running: "Running", finished: "Finished" };

// The lobby's Tournaments tab.
export class TournamentsView {
  // handlers: {register(id), unregister(id), start(id), open(id), create(spec) -> Promise, named(then)}
  constructor(root, handlers) {
    this.root = root;
    this.h = handlers;
    this.listEl = el("div", { class: "lobby-list", id: "tournament-list" });
    clear(root).append(
      el("div", { class: "lobby" },
        el("div", { class: "lobby-hero" },
          el("div", {},
            el("h1", { class: "lobby-title" }, "Tournaments"),
            el("p", { class: "lobby-tag" }, "Sit-and-gos and multi-table freezeouts \u00b7 the buy-in comes from your bankroll")),
          el("button", { class: "btn btn-primary", id: "btn-create-tournament", type: "button", onclick: () => this.h.named(() => this.openCreate()) }, "+ New tournament")),
        el("div", { class: "lobby-head tourney-head" },
          el("span", { class: "col-name" }, "Tournament"), el("span", { class: "col-buyin" }, "Buy-in"),
          el("span", { class: "col-seats" }, "Players"), el("span", { class: "col-stats" }, "Prizes"),
          el("span", { class: "col-go" }, "")),
        this.listEl));
  }

  // list: the tournaments (entries {t, at}) or null before the first answer; ctx:
  // {named: the player has a session, created: Set of ids this player made, tables: tournament id -> table id}
  render(list, ctx) {
    clear(this.listEl);
    if (!ctx.named) {
      this.listEl.append(el("div", { class: "lobby-empty" },
        el("p", {}, "Choose a name to see and join the tournaments."),
        el("button", { class: "btn btn-primary", type: "button", onclick: () => this.h.named(() => {}) }, "Choose a name")));
      return;
    }
    if (list === null) {
      this.listEl.append(el("div", { class: "lobby-empty" }, "Loading tournaments\u2026"));
      return;
    }
    if (!list.length) {
      this.listEl.append(el("div", { class: "lobby-empty" },
        el("p", {}, "No tournaments yet."),
        el("button", { class: "btn btn-primary", type: "button", onclick: () => this.h.named(() => this.openCreate()) }, "Create the first tournament")));
      return;
    }
    for (const { t } of list) {
      const you = t.you || {};
      const multi = !t.capacity;
      const buttons = [];
      if (t.status === "registering") {
        if (you.registered) {
          buttons.push(el("button", { class: "btn btn-ghost btn-sm btn-unregister", type: "button", onclick: () => this.h.unregister(t.id) }, "Unregister"));
        } else {
          buttons.push(el("button", { class: "btn btn-primary btn-sm btn-register", type: "button", onclick: () => this.h.register(t.id) }, "Register"));
        }
        if (multi && ctx.created.has(t.id)) {
          buttons.push(el("button", {
            class: "btn btn-primary btn-sm btn-start", type: "button", disabled: t.registered < 2,
            title: t.registered < 2 ? "At least two players must register" : "Start the tournament now",
            onclick: () => this.h.start(t.id),
          }, "Start"));
        }
      } else if (t.status === "running" && ctx.tables.has(t.id) && you.place === null) {
        buttons.push(el("button", { class: "btn btn-primary btn-sm btn-open", type: "button", onclick: () => this.h.open(t.id) }, "Open table"));
      }
      let state = STATUS[t.status] || t.status;
      if (t.status === "running") {
        state += ` \u00b7 level ${t.level}${t.on_break ? " (break)" : ""} \u00b7 ${blindsText(t.blinds)} \u00b7 ${t.players_left} left`;
      }
      if (you.place) state += ` \u00b7 you finished ${ordinal(you.place)}`;
      else if (you.registered) state += " \u00b7 you are registered";
      this.listEl.append(el("div", {
        class: `lobby-row tourney-row ${you.registered ? "mine" : ""}`,
        dataset: { tournament: t.id, status: t.status },
      },
        el("div", { class: "col-name" },
          el("div", { class: "t-name" }, t.name, el("span", { class: "t-kind" }, multi ? ` multi-table (${t.seats} a table)` : ` sit-and-go`)),
          el("div", { class: "t-players t-status" }, state)),
        el("div", { class: "col-buyin" }, fmt(t.buy_in), el("span", { class: "t-stat-label" }, ` \u00b7 ${fmt(t.starting_stack)} chips`)),
        el("div", { class: "col-seats" }, el("span", { class: "seat-count t-registered" }, multi ? `${t.registered}` : `${t.registered}/${t.capacity}`)),
        el("div", { class: "col-stats" },
          el("span", { class: "t-pool" }, `Pool ${fmt(t.pool)}`),
          el("span", { class: "t-payouts" }, ` \u00b7 ${payoutsText(t.payouts)}`)),
        el("div", { class: "col-go" }, buttons)));
    }
  }

  openCreate() {
    const field = (label, input, hint) => el("label", { class: "field" }, el("span", { class: "field-label" }, label), input,
      hint ? el("span", { class: "field-hint" }, hint) : null);
    const name = el("input", { id: "tn-name", type: "text", maxlength: 40, value: "Sit & Go", autocomplete: "off" });
    const kind = el("select", { id: "tn-kind" },
      el("option", { value: "sng", selected: true }, "Sit-and-go (starts when full)"),
      el("option", { value: "multi" }, "Multi-table (you start it)"));
    const seats = el("select", { id: "tn-seats" },
      [2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => el("option", { value: n, selected: n === 6 }, n === 2 ? "2 (heads-up)" : `${n}`)));
    const buyIn = el("input", { id: "tn-buyin", type: "number", min: 1, step: 1, value: 100, inputmode: "numeric" });
    const stack = el("input", { id: "tn-stack", type: "number", min: 1, step: 1, value: 1500, inputmode: "numeric" });
    const secs = el("input", { id: "tn-seconds", type: "number", min: 1, max: 86400, step: 1, value: 300, inputmode: "numeric" });
    const speed = el("select", { id: "tn-levels" },
      el("option", { value: "regular", selected: true }, "Regular (from 10/20)"),
      el("option", { value: "turbo" }, "Turbo (from 25/50)"));
    const join = el("input", { id: "tn-register", type: "checkbox", checked: true });
    const seatsLabel = el("span", { class: "field-label" }, "Players");
    kind.addEventListener("change", () => { seatsLabel.textContent = kind.value === "multi" ? "Seats a table" : "Players"; });
    const dlg = modal({
      title: "New tournament",
      id: "tournament-dialog",
      body: [
        field("Name", name),
        field("Kind", kind),
        el("div", { class: "field-row" },
          el("label", { class: "field" }, seatsLabel, seats), field("Buy-in", buyIn), field("Starting stack", stack)),
        el("div", { class: "field-row" }, field("Blinds", speed), field("Level (seconds)", secs)),
        el("label", { class: "field field-check" }, join, el("span", {}, "Register me")),
      ],
      buttons: [
        { label: "Cancel", class: "btn-ghost" },
        {
          label: "Create tournament", class: "btn-primary", submit: true, id: "tn-submit",
          onclick: async (close) => {
            const ints = [buyIn, stack, secs].map((i) => i.value.trim());
            if (!name.value.trim()) { dlg.error("Give the tournament a name."); return; }
            if (ints.some((v) => !/^\d+$/.test(v) || Number(v) < 1)) { dlg.error("Buy-in, starting stack and level length must be whole numbers above 0."); return; }
            const spec = {
              name: name.value.trim(), seats: Number(seats.value), buy_in: Number(buyIn.value),
              starting_stack: Number(stack.value), levels: LEVELS[speed.value], seconds: Number(secs.value),
            };
            if (kind.value === "multi") spec.multi_table = true;
            dlg.error("");
            try {
              await this.h.create(spec, join.checked);
              close();
            } catch (err) {
              dlg.error(err.message || String(err));
            }
          },
        },
      ],
    });
  }
}

// The bar over a tournament table: name, level, blinds, the time to the next level
// (counted down here), players left, average stack, your place.
export class TournamentBar {
  constructor() {
    this.entry = null;
    this.nameEl = el("strong", { class: "tb-name" });
    this.levelEl = el("span", { class: "tb-level", id: "tb-level" });
    this.blindsEl = el("span", { class: "tb-blinds", id: "tb-blinds" });
    this.clockEl = el("span", { class: "tb-clock", id: "tb-clock" });
    this.leftEl = el("span", { class: "tb-left", id: "tb-left" });
    this.avgEl = el("span", { class: "tb-avg", id: "tb-avg" });
    this.placeEl = el("span", { class: "tb-place", id: "tb-place" });
    this.el = el("div", { class: "tourney-bar", id: "tourney-bar", role: "status", hidden: true },
      this.nameEl, this.levelEl, this.blindsEl, this.clockEl, this.leftEl, this.avgEl, this.placeEl);
  }

  // entry: {t: the tournament message, at: when it arrived}, or null (a cash table).
  update(entry) {
    this.entry = entry;
    this.el.hidden = !entry;
    if (!entry) return;
    const t = entry.t;
    this.nameEl.textContent = t.name;
    const running = t.status === "running";
    this.levelEl.textContent = running ? `Level ${t.level}` : STATUS[t.status] || t.status;
    this.blindsEl.textContent = running && t.blinds ? `Blinds ${blindsText(t.blinds)}` : "";
    this.leftEl.textContent = t.players_left ? `${t.players_left} left` : "";
    this.avgEl.textContent = t.average_stack ? `Avg stack ${fmt(t.average_stack)}` : "";
    const you = t.you || {};
    this.placeEl.textContent = you.place ? `You finished ${ordinal(you.place)}${you.prize ? ` \u00b7 won ${fmt(you.prize)}` : ""}` : "";
    this.placeEl.hidden = !you.place;
    this.tick();
  }

  tick() {
    const entry = this.entry;
    if (!entry) return;
    const t = entry.t;
    if (t.status !== "running") { this.clockEl.textContent = ""; return; }
    const left = secondsLeft(entry);
    if (left === null) this.clockEl.textContent = "Last level";
    else if (t.on_break) this.clockEl.textContent = `Break \u00b7 ${clockText(left)}`;
    else this.clockEl.textContent = `Next level in ${clockText(left)}`;
  }
}

// Placed (or the tournament is over): your place and prize, and the way back.
export function resultDialog(t, { lobby, watch }) {
  const you = t.you || {};
  const won = you.place === 1;
  const body = [
    el("p", { class: "tourney-result" },
      won ? "You won " : "You finished ", el("strong", { id: "result-place" }, won ? "1st" : ordinal(you.place)),
      ` in ${t.name}`, t.registered ? ` (of ${t.registered} players).` : "."),
    el("p", {}, you.prize ? ["Prize: ", el("strong", { id: "result-prize" }, fmt(you.prize)), " \u2014 paid into your bankroll."]
      : el("span", { id: "result-prize" }, "No prize this time.")),
  ];
  const buttons = [];
  if (watch) buttons.push({ label: "Keep watching", class: "btn-ghost", id: "result-watch", onclick: (close) => { close(); watch(); } });
  buttons.push({ label: "Back to the lobby", class: "btn-primary", submit: true, id: "result-lobby", onclick: (close) => { close(); lobby(); } });
  return modal({ title: won ? "You won the tournament!" : "Tournament result", id: "tournament-result", body, buttons });
}
