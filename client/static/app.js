// The browser client: session, routing (#/ lobby, #/table/<id>), and the glue
// between the connection, the table states and the views.

import { el, $, toast, modal, closeModal, modalOpen, fmt, setClockOffset, serverNow } from "./ui.js";
import { Links, shardOf } from "./net.js";
import { errorText } from "./errors.js";
import { play, muted, setMuted, played } from "./sound.js";
import { record, recorded, openReplay, fetchHands, downloadPhh, handRow } from "./history.js";
import { fromTable, applyEvent, handRunning, setClock } from "./state.js";
import { TableView } from "./table.js";
import { Presenter } from "./pace.js";
import { LobbyView } from "./lobby.js";
import { TournamentsView, resultDialog } from "./tournaments.js";
import { NAME_HINT, playerName } from "./names.js";

const TOKEN_KEY = "poker.token";
const NAME_KEY = "poker.name";
const COLORS_KEY = "poker.fourColor";
const ALERTS_KEY = "poker.alerts";
const TAB_KEY = "poker.lobbyTab";
const TOURNEY_KEY = "poker.tournaments."; // + player id: what this browser knows of their tournaments

const app = {
  token: localStorage.getItem(TOKEN_KEY),
  pendingName: null,
  me: null, // {player, name, bankroll}
  seats: {}, // table id -> my seat
  tables: new Map(), // table id -> state
  lobby: null,
  route: { view: "lobby", table: null },
  online: false,
  pending: new Map(), // rid -> {onError, table}
  joinAfterWatch: null,
  resyncTimers: new Map(),
  helloTables: new Set(),
  sounds: played, // every sound played (the browser tests read it)
  turnKeys: new Map(), // table id -> the turn we last alerted about
  turnTables: new Set(), // tables where it is our turn
  guest: false, // a nameless session, only to watch: a name is asked to sit or create
  afterName: null, // what to do once the player has chosen a name
  waiting: new Map(), // table id -> {position, length, until_ms, seat}: the server's waiting lists we are on
  offerAfterWatch: null, // a table where a seat is held for us, whose state is on its way
  notes: [], // every notification shown (the browser tests read it, as they read sounds)
  tournaments: null, // tournament id -> {t: the last tournament message, at: when it came}; null before the first
  tourney: { tables: {}, created: [], shown: [] }, // kept per player (TOURNEY_KEY): table id -> tournament id,
  // the multi-table tournaments this player made (only they may start them), the results already shown
  creating: new Map(), // rid of a create_tournament not yet answered -> register the creator too
};
window.__poker = app; // for debugging and the browser tests

// -- connection -----------------------------------------------------------------

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const PROTOCOL = 2; // docs/protocol.md: table events come in batches ("events")

// One socket, or in a cluster one per shard whose tables we follow (net.js Links).
const conn = new Links({
  url: wsUrl,
  hello(shard) {
    if (app.token) {
      // Resume: the server answers each table as a watch from that version (each
      // socket the tables it plays; shard null: the main socket).
      const tables = {};
      for (const [id, st] of app.tables) {
        if (shardOf(id) === shard && typeof st.v === "number" && !st.resyncing && !st.closed) tables[id] = st.v;
      }
      if (shard === null) app.helloTables = new Set(Object.keys(tables));
      return { type: "hello", protocol: PROTOCOL, token: app.token, tables };
    }
    app.helloTables = new Set();
    return { type: "hello", protocol: PROTOCOL, name: app.pendingName };
  },
  onMessage: handle,
  onStatus: setStatus,
});

app.conn = conn;

function send(msg, { onError = null } = {}) {
  const rid = conn.send(msg);
  if (rid === null) {
    toast("Not connected \u2014 reconnecting\u2026");
    return null;
  }
  app.pending.set(rid, { onError, type: msg.type, table: msg.table });
  if (app.pending.size > 200) app.pending.delete(app.pending.keys().next().value);
  return rid;
}

let statusTimer = null;
function setStatus(status, detail) {
  app.online = status === "online";
  const box = $("#conn");
  box.className = `conn conn-${status}`;
  const text = box.querySelector(".conn-text");
  clearInterval(statusTimer);
  if (status === "online") text.textContent = "Online";
  else if (status === "connecting") text.textContent = detail.attempt ? "Reconnecting\u2026" : "Connecting\u2026";
  else {
    const update = () => {
      const s = Math.max(0, Math.ceil((detail.at - Date.now()) / 1000));
      text.textContent = s ? `Offline \u2014 retrying in ${s}s` : "Offline \u2014 retrying\u2026";
    };
    update();
    statusTimer = setInterval(update, 500);
  }
  box.title = status === "online" ? "Connected to the server" : "Not connected; the client retries automatically";
  document.body.classList.toggle("is-offline", status !== "online");
  if (status === "offline" && detail.code === 1008) toast("The server closed the connection. Reconnecting\u2026");
  renderCurrent();
}

// -- messages -------------------------------------------------------------------

function handle(msg) {
  dispatch(msg);
  if (msg.type === "table" || msg.type === "events" || msg.type === "turn" || msg.type === "welcome") updateTurnAlert();
}

function dispatch(msg) {
  switch (msg.type) {
    case "welcome": return onWelcome(msg);
    case "tables": return onTables(msg.tables || []);
    case "table": return onTable(msg);
    case "events":
      // Everything one change did at the table: events[i] has version v + i.
      (msg.events || []).forEach((event, i) => onEvent({ table: msg.table, v: msg.v + i, event }));
      return;
    case "turn": return onTurn(msg);
    case "bankroll":
      if (app.me) app.me.bankroll = msg.bankroll;
      renderHeader();
      return;
    case "seats": return onSeats(msg.seats);
    case "error": return onError(msg);
    case "tournaments": return onTournaments(msg.tournaments || []);
    case "tournament": return onTournament(msg);
    case "tournament_table": return onTournamentTable(msg);
    case "tournament_moved": return onTournamentMoved(msg);
    case "table_closed": return onTableClosed(msg);
    case "waiting": return onWaiting(msg);
    case "seat_offered": return onSeatOffered(msg);
    case "paused": return showPaused(true);
    case "resumed":
      if (showPaused(false)) toast("Play resumed.", "info");
      return;
    default:
      return;
  }
}

// The server cannot save the game (a failing disk): until "resumed" nothing that changes the
// table is accepted. Say so plainly over every view. True if the banner changed.
function showPaused(on) {
  const banner = $("#paused-banner");
  if (!banner || banner.hidden === !on) return false;
  banner.textContent = on ? errorText({ code: "paused" }) : "";
  banner.hidden = !on;
  document.body.classList.toggle("is-paused", on);
  return true;
}

function onWelcome(msg) {
  showPaused(false);       // a fresh session: the server says "paused" after this if it is
  app.me = { player: msg.player, name: msg.name, bankroll: msg.bankroll };
  app.token = msg.token;
  app.pendingName = null;
  if (!app.guest) {
    // A guest's session only watches: it is not kept, the next visit browses nameless again.
    localStorage.setItem(TOKEN_KEY, msg.token);
    localStorage.setItem(NAME_KEY, msg.name);
  }
  app.seats = { ...(msg.seats || {}) };
  app.waiting = new Map(); // the server tells each list we are on right after welcome
  loadTourney();
  if ($("#name-dialog") && !app.guest) closeModal(); // (a guest's welcome is not the name's answer)
  renderHeader();
  // Tables named in hello were answered by the server; others need a watch.
  for (const [id, st] of app.tables) {
    if (st.closed) continue;
    if (!app.helloTables.has(id)) {
      st.resyncing = true;
      watch(id);
    }
  }
  if (app.route.view === "table" && !app.tables.has(app.route.table)) watch(app.route.table);
  // Follow every table we sit at, so a turn there is noticed from anywhere.
  for (const id of Object.keys(app.seats)) if (!app.tables.has(id) && id !== app.route.table) watch(id);
  if (app.route.view === "lobby") send({ type: "tables" });
  if (!app.guest) send({ type: "tournaments" }); // the lobby's tab, and the bar over a tournament table
  setTimeout(checkTurns, 800);
  if (app.afterName && !app.guest) {
    const then = app.afterName;
    app.afterName = null;
    then();
  }
}

// A cluster's shard socket said hello: its seats are ours too; follow their tables.
function onSeats(seats) {
  Object.assign(app.seats, seats);
  for (const id of Object.keys(seats)) if (!app.tables.has(id) && id !== app.route.table) watch(id);
  renderHeader();
}

function onTables(tables) {
  app.lobby = tables;
  renderLobby();
}

function onTable(msg) {
  const prev = app.tables.get(msg.table);
  const st = fromTable(msg, prev);
  if (prev && prev.acting) st.acting = null;
  app.tables.set(msg.table, st);
  if (st.you !== null && st.you !== undefined) app.seats[msg.table] = st.you;
  else delete app.seats[msg.table];
  if (prev && prev.resyncing && prev.log) {
    st.log.push({ kind: "info", parts: ["(table resynchronised)"] });
  }
  if (st.you !== null && $("#sit-dialog")) closeModal();
  if (app.joinAfterWatch === msg.table) {
    app.joinAfterWatch = null;
    if (st.you === null) {
      const free = st.seats.findIndex((s) => !s);
      if (free >= 0) openSit(msg.table, free);
      else toast("The table is full.", "info");
    }
  }
  if (app.offerAfterWatch === msg.table) {
    app.offerAfterWatch = null;
    offerSeat(msg.table);
  }
  if (app.route.view === "table" && app.route.table === msg.table) presenter.reset();
  renderTable(msg.table);
}

function onEvent(msg) {
  const st = app.tables.get(msg.table);
  if (!st || st.resyncing) return;
  if (msg.v <= st.v) return; // already seen
  if (msg.v !== st.v + 1) {
    // A gap: ask for the whole table again.
    st.resyncing = true;
    send({ type: "watch", table: msg.table });
    return;
  }
  const ev = msg.event || {};
  const wasMine = st.you;
  record(st, ev);
  const next = applyEvent(st, ev, msg.v, app.me && app.me.player);
  app.tables.set(msg.table, next);
  if (ev.type === "action" && ev.seat === wasMine) next.acting = null;
  if (ev.type === "seated" && app.me && ev.player === app.me.player) {
    app.seats[msg.table] = ev.seat;
    if ($("#sit-dialog")) closeModal();
  }
  if (ev.type === "left" && ev.seat === wasMine) delete app.seats[msg.table];
  if (ev.type === "top_up" && ev.seat === next.you && $("#topup-dialog")) closeModal();
  if (ev.type === "to_act" && ev.seat === next.you) scheduleTurnCheck(msg.table);
  if (app.route.view === "table" && app.route.table === msg.table) {
    playFor(ev);
    presenter.event(ev, msg.v, st);
  }
  renderTable(msg.table);
}

// The table on screen makes its sounds; a turn anywhere makes the turn sound.
function playFor(ev) {
  if (ev.type === "hand_started" || ev.type === "street") play("deal");
  else if (ev.type === "action" && ev.action === "check") play("check");
  else if (ev.type === "action" && ev.action !== "fold") play("chips");
  else if (ev.type === "award") play("chips");
}

function onTurn(msg) {
  const st = app.tables.get(msg.table);
  if (!st) return;
  st.legal = msg.legal;
  st.acting = null;
  if (st.hand) st.hand.to_act = msg.seat;
  setClock(st, { seat: msg.seat, deadline_ms: msg.deadline_ms, time_bank_ms: msg.time_bank_ms });
  renderTable(msg.table);
}

function onError(msg) {
  const p = msg.rid !== undefined ? app.pending.get(msg.rid) : null;
  if (msg.code === "bad_token") {
    localStorage.removeItem(TOKEN_KEY);
    app.token = null;
    app.me = null;
    app.tables.clear();
    renderHeader();
    askName("Your session has expired. Choose a nickname to play again.");
    return;
  }
  if (!app.me && (msg.code === "bad_message" || msg.code === "hello_first") && $("#name-dialog")) {
    nameDialog && nameDialog.error("That nickname is not allowed: use 1\u201320 letters, digits, spaces, _ - or .");
    return;
  }
  if (p && p.table) {
    const st = app.tables.get(p.table);
    if (st && st.acting === msg.rid) { st.acting = null; renderTable(p.table); }
    if (p.type === "watch" && st && st.resyncing) st.resyncing = false;
  }
  if (p && p.onError) p.onError(msg);
  else toast(errorText(msg));
  if (msg.code === "no_table" && app.route.view === "table" && p && p.type === "watch") {
    app.tables.delete(p.table);
    go("#/");
  }
}

// -- tournaments ---------------------------------------------------------------------

function loadTourney() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(TOURNEY_KEY + app.me.player) || "null"); } catch (err) { saved = null; }
  app.tourney = { tables: {}, created: [], shown: [], ...(saved || {}) };
  // Only the tables we still sit at (the server's word, in welcome) are kept.
  for (const id of Object.keys(app.tourney.tables)) if (!(id in app.seats)) delete app.tourney.tables[id];
  saveTourney();
}

function saveTourney() {
  if (!app.me || app.guest) return;
  app.tourney.shown = app.tourney.shown.slice(-50);
  app.tourney.created = app.tourney.created.slice(-50);
  localStorage.setItem(TOURNEY_KEY + app.me.player, JSON.stringify(app.tourney));
}

// The tournament a table belongs to ({t, at}), when we know it is one.
function tournamentAt(tableId) {
  const st = app.tables.get(tableId);
  const tid = app.tourney.tables[tableId] || (st && st.tournament);
  if (!tid) return null;
  return (app.tournaments && app.tournaments.get(tid)) || { t: { id: tid, name: "Tournament", status: "running", players_left: null, you: {} }, at: Date.now() };
}

function tableOfTournament(tid) {
  return Object.keys(app.tourney.tables).find((id) => app.tourney.tables[id] === tid) || null;
}

function onTournaments(list) {
  const known = app.tournaments || new Map();
  app.tournaments = new Map();
  const at = Date.now();
  for (const t of list) app.tournaments.set(t.id, { t, at });
  // The list leaves finished ones out: keep those we played in, for their result.
  for (const [id, entry] of known) if (!app.tournaments.has(id) && entry.t.you && entry.t.you.registered) app.tournaments.set(id, entry);
  for (const t of list) checkResult(t);
  renderTournaments();
  renderCurrent();
}

function onTournament(t) {
  if (!app.tournaments) app.tournaments = new Map();
  app.tournaments.set(t.id, { t, at: Date.now() });
  if (t.rid !== undefined && app.creating.has(t.rid)) {
    const { register, resolve } = app.creating.get(t.rid);
    app.creating.delete(t.rid);
    app.tourney.created.push(t.id);
    saveTourney();
    if (register) send({ type: "register", tournament: t.id });
    resolve();
  }
  checkResult(t);
  renderTournaments();
  renderCurrent();
}

// Placed, or the tournament is over: say where we finished and what we won, once.
function checkResult(t) {
  const you = t.you || {};
  if (!you.registered || !you.place) return;
  const key = `${t.id}:${you.place}`;
  if (app.tourney.shown.includes(key)) return;
  app.tourney.shown.push(key);
  saveTourney();
  const here = app.route.view === "table" ? app.tables.get(app.route.table) : null;
  const watching = t.status === "running" && here && !here.closed;
  resultDialog(t, { lobby: () => go("#/"), watch: watching ? () => {} : null });
}

// The tournament started: our table. Play it as any table.
function onTournamentTable(msg) {
  app.tourney.tables[msg.table] = msg.tournament;
  saveTourney();
  if (app.route.view === "table" && app.route.table === msg.table) {
    if (!app.tables.has(msg.table)) watch(msg.table);
  } else go(`#/table/${encodeURIComponent(msg.table)}`);
}

// Moved to another table (balancing, or ours was broken): follow, without a reload.
function onTournamentMoved(msg) {
  app.tourney.tables[msg.table] = msg.tournament;
  delete app.tourney.tables[msg.from];
  saveTourney();
  const st = app.tables.get(msg.from);
  if (st) st.moved = msg.table;
  const onOld = app.route.view === "table" && app.route.table === msg.from;
  if (onOld || app.route.view !== "table") {
    toast(`You move to table ${msg.number}.`, "info");
    if (onOld) go(`#/table/${encodeURIComponent(msg.table)}`);
    else if (!app.tables.has(msg.table)) watch(msg.table);
  } else if (!app.tables.has(msg.table)) watch(msg.table);
}

// A table went (a tournament table broken or finished, or an operator closed it).
function onTableClosed(msg) {
  const st = app.tables.get(msg.table);
  const tid = app.tourney.tables[msg.table];
  delete app.seats[msg.table];
  if (tid) { delete app.tourney.tables[msg.table]; saveTourney(); }
  if (!st) return;
  st.closed = true;
  st.tournament = tid; // its bar stays up (with your place) while it is on screen
  st.legal = null;
  if (app.route.view === "table" && app.route.table === msg.table) {
    // A tournament's last table stays on screen under the result; a moved player has
    // already gone to their new table.
    st.log.push({ kind: "info", parts: ["(this table has closed)"] });
    if (!tid && !st.moved) {
      toast("This table has closed.", "info");
      go("#/");
    } else renderCurrent();
  } else app.tables.delete(msg.table);
}

function renderTournaments() {
  if (app.route.view !== "lobby") return;
  const tables = new Map();
  for (const [table, tid] of Object.entries(app.tourney.tables)) tables.set(tid, table);
  const list = app.tournaments ? [...app.tournaments.values()].filter((e) => e.t.status !== "finished") : null;
  tournamentsView.render(list, { named: !!(app.me && !app.guest), created: new Set(app.tourney.created), tables });
}

const tournamentHandlers = {
  register: (id) => named(() => send({ type: "register", tournament: id })),
  unregister: (id) => send({ type: "unregister", tournament: id }),
  start: (id) => send({ type: "start_tournament", tournament: id }),
  open: (id) => {
    const table = tableOfTournament(id);
    if (table) go(`#/table/${encodeURIComponent(table)}`);
  },
  named: (then) => named(then),
  create(spec, register) {
    // The answer is the new tournament (onTournament resolves), or an error.
    return new Promise((resolve, reject) => {
      const rid = send({ type: "create_tournament", ...spec }, {
        onError: (err) => { app.creating.delete(rid); reject(new Error(errorText(err))); },
      });
      if (rid === null) reject(new Error("Not connected \u2014 try again in a moment."));
      else app.creating.set(rid, { register, resolve });
    });
  },
};

// If it is our turn but no `turn` arrived (e.g. after a resume by events),
// ask for the full table, which carries `legal`.
function scheduleTurnCheck(id) {
  clearTimeout(app.resyncTimers.get(id));
  app.resyncTimers.set(id, setTimeout(() => {
    const st = app.tables.get(id);
    if (st && handRunning(st) && st.hand.to_act === st.you && st.you !== null && !st.legal && !st.resyncing
        && st.hand.street !== "showdown") {
      st.resyncing = true;
      send({ type: "watch", table: id });
    }
  }, 1200));
}

function checkTurns() {
  for (const [id, st] of app.tables) if (st.you !== null && handRunning(st) && st.hand.to_act === st.you) scheduleTurnCheck(id);
}

// -- actions ----------------------------------------------------------------------

function watch(id) {
  if (!app.me) return;
  send({ type: "watch", table: id }, {
    onError: (err) => toast(errorText(err)),
  });
}

function current() {
  return app.route.view === "table" ? app.tables.get(app.route.table) : null;
}

const tableHandlers = {
  act(action, amount) {
    const st = current();
    if (!st) return;
    const msg = { type: "act", table: st.id, action };
    if (amount !== undefined) msg.amount = amount;
    const rid = send(msg);
    if (rid !== null) { st.acting = rid; renderTable(st.id); }
  },
  sit(seat) {
    const st = current();
    if (!st) return;
    named(() => openSit(st.id, seat));
  },
  // Sit out (during a hand you are in: once it is over; "big_blind": instead of posting
  // the next big blind), or come back, or call a planned sit-out off.
  sitOutToggle(when) {
    const st = current();
    if (!st || st.you === null) return;
    const mine = st.seats[st.you];
    if (mine && (mine.sitting_out || mine.sit_out_next)) send({ type: "sit_in", table: st.id });
    else send({ type: "sit_out", table: st.id, when: when || "hand" });
  },
  // Back from sitting out, posting what is owed (a big blind, and a small blind missed)
  // to play the next hand.
  sitIn(post) {
    const st = current();
    if (st && st.you !== null) send({ type: "sit_in", table: st.id, post: !!post });
  },
  runTwice() {
    const st = current();
    const mine = st && st.you !== null ? st.seats[st.you] : null;
    if (mine) send({ type: "run_twice", table: st.id, agree: !mine.run_twice });
  },
  topUp() {
    const st = current();
    if (st && st.you !== null) openTopUp(st);
  },
  leave() {
    const st = current();
    if (!st || st.you === null) return;
    const mine = st.seats[st.you];
    const inHand = handRunning(st) && mine && mine.in_hand && !mine.folded;
    modal({
      title: "Leave your seat?",
      id: "leave-dialog",
      body: el("p", {}, inHand ? "You are in this hand: leaving folds it. Your stack goes back to your bankroll."
        : `Your stack of ${fmt(mine ? mine.stack : 0)} goes back to your bankroll.`),
      buttons: [
        { label: "Stay", class: "btn-ghost" },
        { label: "Leave seat", class: "btn-danger", submit: true, id: "leave-confirm", onclick: (close) => { send({ type: "leave", table: st.id }); close(); } },
      ],
    });
  },
  lobby() {
    go("#/");
  },
  chat(text) {
    const st = current();
    if (!st) return false;
    if (!app.me || app.guest) { named(() => {}); return false; }
    if (text.length > 200) { toast("A chat message is at most 200 characters."); return false; }
    return send({ type: "chat", table: st.id, text }) !== null;
  },
  localError(message) {
    toast(message);
  },
  // The History tab's rows: the server's last hands, replayable when this tab
  // recorded them, with a PHH download for the hands we played.
  async history(id) {
    const mine = recorded(id);
    let hands = await fetchHands(id);
    if (!hands.length) {
      hands = mine.slice().reverse().map((h) => ({ number: h.number, pot: 0, board: [], winners: [], shown: [], players: [] }));
    }
    return hands.map((summary) => {
      const rec = mine.find((h) => h.number === summary.number);
      const played = (rec && rec.you !== null) || (app.me && (summary.players || []).some((p) => p.name === app.me.name));
      return handRow(summary, {
        replayable: !!rec,
        mine: !!(played && app.token),
        onReplay: () => rec && openReplay(rec),
        onPhh: () => downloadPhh(id, summary.number, app.token),
      });
    });
  },
};

function openSit(tableId, seat, reason = null) {
  const st = app.tables.get(tableId);
  if (!st) return;
  const bankroll = app.me ? app.me.bankroll : 0;
  const lo = st.min_buy_in;
  const hi = Math.min(st.max_buy_in, bankroll);
  const amount = el("input", { id: "buyin-amount", type: "text", inputmode: "numeric", value: String(Math.max(lo, hi)), autocomplete: "off" });
  const slider = el("input", { id: "buyin-slider", type: "range", min: lo, max: Math.max(lo, hi), step: 1, value: Math.max(lo, hi) });
  slider.addEventListener("input", () => { amount.value = slider.value; });
  amount.addEventListener("input", () => { if (/^\d+$/.test(amount.value)) slider.value = amount.value; });
  const dlg = modal({
    title: `Take seat ${seat + 1}`,
    id: "sit-dialog",
    body: [
      reason ? el("p", { class: "notice notice-wait", id: "seat-offer-notice", role: "alert" }, reason) : null,
      el("p", { class: "muted" }, `${st.name} \u00b7 blinds ${fmt(st.small_blind)}/${fmt(st.big_blind)}`),
      el("div", { class: "buyin-limits" },
        el("span", {}, "Min ", el("strong", {}, fmt(lo))),
        el("span", {}, "Bankroll ", el("strong", {}, fmt(bankroll))),
        el("span", {}, "Max ", el("strong", {}, fmt(st.max_buy_in)))),
      el("label", { class: "field" }, el("span", { class: "field-label" }, "Buy-in"), el("div", { class: "raise-row" }, slider, amount)),
      bankroll < lo ? el("p", { class: "modal-warning" }, "Your bankroll is below this table's minimum buy-in.") : null,
    ],
    buttons: [
      { label: "Cancel", class: "btn-ghost" },
      {
        label: "Sit down", class: "btn-primary", submit: true, id: "buyin-submit",
        onclick: () => {
          const text = amount.value.trim();
          if (!/^\d+$/.test(text)) { dlg.error("The buy-in must be a whole number of chips."); return; }
          dlg.error("");
          send({ type: "sit", table: tableId, seat, buy_in: Number(text) }, {
            onError: (err) => dlg.error(err.code === "buy_in"
              ? `Buy in for ${fmt(lo)} to ${fmt(st.max_buy_in)} chips, and no more than your bankroll (${fmt(app.me ? app.me.bankroll : 0)}).`
              : errorText(err)),
          });
        },
      },
    ],
  });
}

// What a top-up may be now: from an empty stack it is a new buy-in, at least the
// table's minimum (game/table.py _top_up); never past the table's maximum stack,
// nor more than the bankroll.
function topUpLimits(st) {
  const mine = st.seats[st.you];
  const stack = mine ? mine.stack : 0;
  const room = Math.max(0, st.max_buy_in - stack);
  const bankroll = app.me ? app.me.bankroll : 0;
  return { stack, room, bankroll, lo: stack === 0 ? Math.max(1, st.min_buy_in) : 1, hi: Math.min(room, bankroll) };
}

// The limits in a sentence: what the dialog says, and how a refusal is answered.
function topUpRule(st) {
  const { stack, room, bankroll, lo, hi } = topUpLimits(st);
  const most = `up to ${fmt(room)} (the table maximum is ${fmt(st.max_buy_in)})`;
  const purse = bankroll < room ? `; your bankroll is ${fmt(bankroll)}` : "";
  if (stack === 0) {
    if (hi < lo) return `With no chips left you buy in again, for at least the table's minimum of ${fmt(lo)}: your bankroll (${fmt(bankroll)}) is less.`;
    return `With no chips left you buy in again: add at least the table's minimum buy-in of ${fmt(lo)}, and ${most}${purse}.`;
  }
  if (!room) return `Your stack is at the table maximum of ${fmt(st.max_buy_in)}: you cannot add chips now.`;
  return `You can add ${most}${purse}.`;
}

function openTopUp(opened) {
  // The table as it is now (each event makes a new state), while the dialog is open.
  const cur = () => app.tables.get(opened.id) || opened;
  const first = topUpLimits(cur());
  const amount = el("input", {
    id: "topup-amount", type: "text", inputmode: "numeric", autocomplete: "off",
    value: String(first.hi >= first.lo ? first.hi : first.lo),
  });
  const rule = el("p", { class: "muted", id: "topup-rule" });
  const limits = el("div", { class: "buyin-limits", id: "topup-limits" });
  const show = () => {
    const { lo, hi, bankroll } = topUpLimits(cur());
    rule.textContent = `${topUpRule(cur())} Chips are added between hands.`;
    limits.replaceChildren(
      el("span", {}, "Min ", el("strong", {}, fmt(lo))),
      el("span", {}, "Bankroll ", el("strong", {}, fmt(bankroll))),
      el("span", {}, "Max ", el("strong", {}, fmt(Math.max(0, hi)))));
  };
  show();
  // Out of range: put back in [min, max] when the box is left, and on submit (saying so, sending nothing).
  const clamp = () => {
    const { lo, hi } = topUpLimits(cur());
    const text = amount.value.trim();
    if (!/^\d+$/.test(text) || hi < lo) return null;
    const n = Number(text);
    const to = Math.min(hi, Math.max(lo, n));
    amount.value = String(to);
    return to === n ? null : to < n ? `The most you can add now is ${fmt(hi)}: the amount is now ${fmt(hi)}.`
      : `The least you can add now is ${fmt(lo)}: the amount is now ${fmt(lo)}.`;
  };
  amount.addEventListener("blur", (e) => { if (!e.relatedTarget || e.relatedTarget.id !== "topup-submit") clamp(); });
  const dlg = modal({
    title: "Add chips",
    id: "topup-dialog",
    body: [rule, limits, el("label", { class: "field" }, el("span", { class: "field-label" }, "Amount"), amount)],
    buttons: [
      { label: "Cancel", class: "btn-ghost" },
      {
        label: "Add chips", class: "btn-primary", submit: true, id: "topup-submit",
        onclick: () => {
          const text = amount.value.trim();
          if (!/^\d+$/.test(text)) { dlg.error("Enter a whole number of chips."); return; }
          const { lo, hi } = topUpLimits(cur());
          if (hi < lo) { dlg.error(topUpRule(cur())); return; }
          const clamped = clamp();
          if (clamped) { dlg.error(clamped); return; }
          dlg.error("");
          // The dialog closes when the top_up event arrives, or shows the server's refusal.
          send({ type: "top_up", table: opened.id, amount: Number(amount.value) }, {
            onError: (err) => {
              const now = cur();
              if (now.you === null) { dlg.error("You no longer have a seat at this table."); return; }
              show();
              dlg.error(err.code === "buy_in" ? `The server refused that amount. ${topUpRule(now)}` : errorText(err));
            },
          });
        },
      },
    ],
  });
}

// Run `then` as a named player: ask for a name first when there is none yet
// (browsing the lobby or watching needs no name; sitting and creating do).
function named(then) {
  if (app.me && !app.guest) { then(); return; }
  app.afterName = then;
  askName();
}

// Watching needs a session: a nameless visitor watches as a guest, whose
// session is dropped for a named one when they choose a name.
function startGuest() {
  if (app.token || conn.ws) return;
  app.guest = true;
  app.pendingName = `guest ${Math.floor(1000 + Math.random() * 9000)}`;
  conn.start();
}

let nameDialog = null;
function askName(reason) {
  const input = el("input", {
    id: "nickname", type: "text", maxlength: 20, autocomplete: "nickname",
    value: localStorage.getItem(NAME_KEY) || "", placeholder: "e.g. ann",
  });
  nameDialog = modal({
    title: "Welcome to the table",
    id: "name-dialog",
    onClose: () => { app.afterName = null; },
    body: [
      el("p", { class: "muted" }, reason || "Choose a nickname. You start with 10,000 play chips."),
      el("label", { class: "field" }, el("span", { class: "field-label" }, "Nickname"), input),
      el("p", { class: "field-hint" }, NAME_HINT),
    ],
    buttons: [{ label: "Not now", class: "btn-ghost", id: "name-cancel" }, {
      label: "Play", class: "btn-primary", submit: true, id: "name-submit",
      onclick: () => {
        const name = playerName(input.value);
        if (name === null) { nameDialog.error(`Use ${NAME_HINT}`); return; }
        nameDialog.error("");
        app.pendingName = name;
        if (app.guest) {
          // From guest to player: a new session under the chosen name.
          app.guest = false;
          app.token = null;
          app.me = null;
          conn.stop();
          conn.start();
          return;
        }
        if (conn.ws && conn.ws.readyState === 1 && !conn.ready) conn.sendRaw({ type: "hello", protocol: PROTOCOL, name });
        else if (!conn.ws) conn.start();
        else conn.reconnectNow();
      },
    }],
  });
}

// -- the waiting lists of full tables (kept by the server) ------------------------------
//
// The server keeps each full table's list in order (docs/protocol.md, wait): it tells us
// our place ("waiting") and, when a seat frees and we are first, holds it for us for a
// while ("seat_offered"): we alert the player (a sound, a notification when the page is
// hidden and they asked for them) and open the buy-in dialog. It never buys in by itself.

function tableName(id) {
  const st = app.tables.get(id);
  const row = (app.lobby || []).find((t) => t.id === id);
  return (st && st.name) || (row && row.name) || id;
}

function joinWaitingList(id) {
  send({ type: "wait", table: id }, { onError: (err) => { toast(errorText(err)); refreshLobby(); } });
}

function leaveWaitingList(id) {
  send({ type: "unwait", table: id }, {
    onError: (err) => {
      if (err.code !== "waiting_list") toast(errorText(err));
      else { app.waiting.delete(id); renderLobby(); } // no longer on it anyway
    },
  });
}

// Seconds left of the seat held for us at `id` (0 when none).
function heldFor(id) {
  const w = app.waiting.get(id);
  return w && w.until_ms ? Math.max(0, Math.round((w.until_ms - serverNow()) / 1000)) : 0;
}

function onWaiting(msg) {
  const id = msg.table;
  if (msg.position === null) {
    const was = app.waiting.get(id);
    app.waiting.delete(id);
    if (msg.reason === "seated") {
      toast(`You sit at ${tableName(id)}.`, "info");
      go(`#/table/${encodeURIComponent(id)}`);
    } else if (msg.reason === "expired") {
      if ($("#seat-offer-notice")) closeModal();
      toast(`The seat held for you at ${tableName(id)} was not taken in time: you left its waiting list.`, "info", 8000);
    } else if (msg.reason === "bankroll") {
      toast(`A seat came free at ${tableName(id)}, but your bankroll is below its minimum buy-in: you left its waiting list.`, "info", 8000);
    } else if (msg.reason === "closed" && was) {
      toast(`${tableName(id)} has closed: you left its waiting list.`, "info");
    }
  } else {
    const w = app.waiting.get(id) || { until_ms: null, seat: null };
    app.waiting.set(id, { ...w, position: msg.position, length: msg.length });
  }
  renderLobby();
}

function onSeatOffered(msg) {
  const id = msg.table;
  const w = app.waiting.get(id) || { position: 1, length: 1 };
  app.waiting.set(id, { ...w, until_ms: msg.until_ms, seat: msg.seat });
  const secs = heldFor(id);
  play("seat");
  showNotification("A seat is yours", `${tableName(id)}: it is held for you for ${secs} s.`, `seat-${id}`,
    () => offerSeat(id));
  renderLobby();
  offerSeat(id);
}

// The buy-in dialog for the seat held for us (over whatever is on screen), or, when
// another dialog is open, a toast: the lobby's notice keeps a button to take it.
function offerSeat(id) {
  const w = app.waiting.get(id);
  if (!w || !w.until_ms || !app.me) return;
  const st = app.tables.get(id);
  if (!st) { app.offerAfterWatch = id; watch(id); return; } // its buy-in limits first
  if (st.you !== null) return;
  const free = st.seats[w.seat] === null || st.seats[w.seat] === undefined ? w.seat : st.seats.findIndex((s) => !s);
  if (free === null || free < 0) return;
  const text = `A seat is yours at ${st.name} for ${heldFor(id)} s: after that it goes to the next player on the list.`;
  if (modalOpen()) { toast(text, "info", 8000); return; }
  openSit(id, free, text);
}

function renderLobby() {
  if (app.route.view === "lobby") {
    lobbyView.render(app.lobby, {
      seats: app.seats, turns: app.turnTables, waiting: app.waiting, now: serverNow(),
    });
  }
}

// -- your turn, anywhere ----------------------------------------------------------------

function myTurnAt(st) {
  return !!(st.legal && st.you !== null && st.legal.seat === st.you && handRunning(st));
}

// The tab title, the header's link to the table, the lobby's badges, the turn
// sound and (when the page is hidden and the player asked for them) a notification.
function updateTurnAlert() {
  const turns = [...app.tables.values()].filter(myTurnAt);
  for (const st of turns) {
    const key = JSON.stringify([st.hand.number, st.hand.street, st.legal]);
    if (app.turnKeys.get(st.id) === key) continue;
    app.turnKeys.set(st.id, key);
    play("turn");
    notify(st);
  }
  for (const id of [...app.turnKeys.keys()]) if (!turns.some((st) => st.id === id)) app.turnKeys.delete(id);
  const here = app.route.view === "table" ? app.route.table : null;
  const elsewhere = turns.filter((st) => st.id !== here);
  const link = $("#turn-alert");
  link.hidden = !elsewhere.length;
  if (elsewhere.length) {
    link.textContent = `Your turn: ${elsewhere[0].name}${elsewhere.length > 1 ? ` (+${elsewhere.length - 1})` : ""}`;
    link.title = `Your turn at ${elsewhere.map((st) => st.name).join(", ")}`;
    link.href = `#/table/${encodeURIComponent(elsewhere[0].id)}`;
  }
  const ids = turns.map((st) => st.id).sort();
  if (ids.join(" ") !== [...app.turnTables].sort().join(" ")) {
    app.turnTables = new Set(ids);
    renderLobby();
  }
  setTitle();
}

function setTitle() {
  const turns = [...app.tables.values()].filter(myTurnAt);
  const here = app.route.view === "table" ? app.tables.get(app.route.table) : null;
  const first = turns.find((st) => st === here) || turns[0];
  const page = app.route.view === "lobby" ? "Lobby" : here ? here.name : "Table";
  document.title = first ? `(!) Your turn \u2014 ${first.name} \u2014 Pokerserver` : `${page} \u2014 Pokerserver`;
}

function notify(st) {
  showNotification("Your turn", st.name, `turn-${st.id}`, () => go(`#/table/${encodeURIComponent(st.id)}`));
}

// A notification, when the page is hidden and the player turned them on (the bell).
function showNotification(title, body, tag, onclick) {
  if (document.visibilityState !== "hidden" || localStorage.getItem(ALERTS_KEY) !== "1") return;
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => { window.focus(); onclick(); n.close(); };
    app.notes.push({ title, body, tag });
    if (app.notes.length > 50) app.notes.shift();
  } catch (err) {
    // some browsers allow notifications only from a service worker: the title still says it
  }
}

// -- rendering ----------------------------------------------------------------------

const lobbyView = new LobbyView($("#lobby-cash"), {
  watch: (id) => go(`#/table/${encodeURIComponent(id)}`),
  join: (id) => named(() => {
    const st = app.tables.get(id);
    go(`#/table/${encodeURIComponent(id)}`);
    if (st) {
      const free = st.seats.findIndex((s) => !s);
      if (st.you === null && free >= 0) openSit(id, free);
    } else app.joinAfterWatch = id;
  }),
  wait: (id) => named(() => joinWaitingList(id)),
  take: (id) => offerSeat(id),
  unwait: (id) => leaveWaitingList(id),
  named: (then) => named(then),
  async create(spec) {
    let res;
    try {
      res = await fetch("/api/tables", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec),
      });
    } catch (err) {
      throw new Error("The server cannot be reached just now: try again in a moment.");
    }
    let body = null;
    try { body = await res.json(); } catch (err) { body = null; }
    if (!res.ok) throw new Error(createRefusal(res.status, (body && body.error) || ""));
    refreshLobby();
    const table = body && (body.table || body);
    return table && typeof table === "object" ? { id: table.id } : null;
  },
});
// POST /api/tables refused (the form checks what it can first: lobby.js createProblem):
// the HTTP status in a sentence; the server's text is for developers.
function createRefusal(status, text) {
  if (status === 429) return "You have as many tables open as one player may: an unused table closes by itself after a while, then try again.";
  if (status === 503 && /paused/.test(text)) return errorText({ code: "paused" });
  if (status === 503) return "The server could not save the new table: try again in a moment.";
  if (status === 400 && /already \d+ tables/.test(text)) return "The server has as many tables as it can hold: join one of them, or try again later.";
  if (status === 400) return "The server refused these settings: check the blinds, the buy-ins and the seats, and try again.";
  return `The table could not be made just now (error ${status}): try again in a moment.`;
}

const tournamentsView = new TournamentsView($("#lobby-tournaments"), tournamentHandlers);

// The lobby's tabs: cash games or tournaments (remembered on this device).
function showTab(tab) {
  localStorage.setItem(TAB_KEY, tab);
  for (const [name, panel] of [["cash", "#lobby-cash"], ["tournaments", "#lobby-tournaments"]]) {
    $(panel).hidden = name !== tab;
    $(`#tab-${name}`).setAttribute("aria-selected", String(name === tab));
  }
  if (tab === "tournaments") {
    renderTournaments();
    if (app.online && app.me && !app.guest) send({ type: "tournaments" });
  }
}
$("#tab-cash").addEventListener("click", () => showTab("cash"));
$("#tab-tournaments").addEventListener("click", () => showTab("tournaments"));
showTab(localStorage.getItem(TAB_KEY) === "tournaments" ? "tournaments" : "cash");

const tableView = new TableView($("#table-screen"), tableHandlers);
const presenter = new Presenter({
  render: (st) => tableView.render(st, { me: app.me && app.me.player, online: app.online, tournament: tournamentAt(st.id) }),
  real: () => (app.route.view === "table" ? app.tables.get(app.route.table) : null),
  me: () => app.me && app.me.player,
});
app.presenter = presenter;

function renderHeader() {
  const me = $("#me");
  me.hidden = !app.me || app.guest;
  $("#btn-name").hidden = !!(app.me && !app.guest);
  if (app.me) {
    me.querySelector(".me-name").textContent = app.me.name;
    me.querySelector(".me-bankroll").textContent = fmt(app.me.bankroll);
  }
}

let renderQueued = false;
function renderTable(id) {
  if (app.route.view !== "table" || app.route.table !== id) return;
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    renderCurrent();
  });
}

function renderCurrent() {
  if (app.route.view !== "table") return;
  const st = app.tables.get(app.route.table);
  if (!st) return;
  presenter.show(); // the real state, or a run-out on its way to it
  setTitle();
}

// -- routing ------------------------------------------------------------------------

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseRoute() {
  const m = location.hash.match(/^#\/table\/(.+)$/);
  return m ? { view: "table", table: decodeURIComponent(m[1]) } : { view: "lobby", table: null };
}

let lobbyTimer = null;
function refreshLobby() {
  if (app.online && app.me) send({ type: "tables" });
  else fetchTables();
  if (app.online && app.me && !app.guest && !$("#lobby-tournaments").hidden) send({ type: "tournaments" });
}

// The lobby over HTTP (before hello); its Date header also tells how far this
// device's clock is from the server's, so turn countdowns stay right.
function fetchTables() {
  const sent = Date.now();
  return fetch("/api/tables", { cache: "no-store" }).then((r) => {
    const date = Date.parse(r.headers.get("Date") || "");
    if (!Number.isNaN(date)) {
      const offset = date + 500 - (sent + Date.now()) / 2; // the header has whole seconds
      setClockOffset(Math.abs(offset) > 1500 ? offset : 0);
    }
    return r.json();
  }).then((data) => {
    onTables(Array.isArray(data) ? data : data.tables || []);
  }).catch(() => {});
}

function route() {
  const prev = app.route;
  const next = parseRoute();
  app.route = next;
  const lobbyEl = $("#lobby-screen");
  const tableEl = $("#table-screen");
  lobbyEl.hidden = next.view !== "lobby";
  tableEl.hidden = next.view !== "table";
  document.body.dataset.view = next.view;
  clearInterval(lobbyTimer);
  if (prev.view === "table" && prev.table !== next.table) {
    const st = app.tables.get(prev.table);
    if (st && st.closed) app.tables.delete(prev.table);
    else if (st && st.you === null && app.online && !heldFor(prev.table)) {
      send({ type: "unwatch", table: prev.table });
      app.tables.delete(prev.table);
    }
    tableView.reset();
    presenter.reset();
  }
  if (next.view === "lobby") {
    renderLobby();
    renderTournaments();
    refreshLobby();
    lobbyTimer = setInterval(refreshLobby, 4000);
  } else {
    if (app.tables.has(next.table)) renderCurrent();
    else if (app.online) watch(next.table);
    else startGuest();
  }
}

// -- keyboard -----------------------------------------------------------------------

document.addEventListener("keydown", (e) => {
  if (modalOpen() || app.route.view !== "table") return;
  if (tableView.key(e)) e.preventDefault();
});

$("#btn-name").addEventListener("click", () => named(() => {}));

// -- four-colour deck ------------------------------------------------------------------

function applyColors() {
  const four = localStorage.getItem(COLORS_KEY) !== "0";
  document.body.classList.toggle("four-color", four);
  const b = $("#four-color");
  b.setAttribute("aria-pressed", String(four));
  b.title = four ? "Four-colour deck (click for two colours)" : "Two-colour deck (click for four colours)";
}
$("#four-color").addEventListener("click", () => {
  localStorage.setItem(COLORS_KEY, localStorage.getItem(COLORS_KEY) === "0" ? "1" : "0");
  applyColors();
});

// -- sounds and notifications -------------------------------------------------------------

function applyMute() {
  const b = $("#mute");
  b.setAttribute("aria-pressed", String(muted()));
  b.title = muted() ? "Sounds are off (click to turn them on)" : "Sounds are on (click to mute)";
}
$("#mute").addEventListener("click", () => {
  setMuted(!muted());
  applyMute();
});

function applyAlerts() {
  const on = localStorage.getItem(ALERTS_KEY) === "1" && "Notification" in window && Notification.permission === "granted";
  $("#alerts").setAttribute("aria-pressed", String(on));
}
// Permission is asked only here, on the player's click.
$("#alerts").addEventListener("click", async () => {
  if (!("Notification" in window)) { toast("This browser cannot show notifications.", "info"); return; }
  if (localStorage.getItem(ALERTS_KEY) === "1" && Notification.permission === "granted") {
    localStorage.setItem(ALERTS_KEY, "0");
  } else {
    const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    if (answer === "granted") localStorage.setItem(ALERTS_KEY, "1");
    else toast("Notifications are blocked for this site: allow them in the browser's settings.", "info");
  }
  applyAlerts();
});

// -- start ------------------------------------------------------------------------------

applyColors();
applyMute();
applyAlerts();
renderHeader();
window.addEventListener("hashchange", route);
route();
if (app.route.view !== "lobby") fetchTables(); // the lobby does it anyway; the clock offset
// With a session, resume it; without, browse the lobby: a name is asked to sit or create.
if (app.token) conn.start();
else if (app.route.view === "table") startGuest();
