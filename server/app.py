"""The bottle app: the lobby API, health and metrics, static files, and ``/ws``.

One process, one thread, gevent. The module holds the running server's root
(:data:`root`) like gevent's examples hold their state: :func:`serve` sets it.
Each WebSocket gets one reader (:func:`serve_socket`, the loop below) and one
writer greenlet (:mod:`server.conn`); a clock greenlet drives every table's
timers (:func:`run_clock`); a lag greenlet measures how late the loop runs.

The Origin rule: a browser always sends ``Origin`` on a WebSocket handshake,
so a *wrong* one (not in ``--origins``; by default, not the same host as the
``Host`` header) is closed at once with 1008. A *missing* one is allowed:
bots and tests are not browsers, and a browser cannot leave it out.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any, Callable
from urllib.parse import urlsplit

import bottle
import gevent
import gevent.event
import orjson
from geventwebsocket.exceptions import WebSocketError

from game.cards import DECK
from server import config, handlers, limits, lobby, play, quotas, transfers
from server import conn as conns
from server import timers as timing
from server.bots import HouseBots
from server.effects import NO_JOURNAL, Effects, commit
from server.fanout import Fanout
from server.protocol import MAX_BYTES, ProtocolError, parse_json
from server.root import Root, finished_hands, new_root, total_chips

log = logging.getLogger("server.app")

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "client", "static")
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>pokerserver</title>
<h1>pokerserver</h1><p>The browser client is not built yet (no client/static/index.html).
The server is running: <a href="/api/tables">/api/tables</a>, WebSocket at <code>/ws</code>.</p>
"""

# The running server's state, set by serve(): the root, the transport, the timers,
# and the ports that commit() carries effects out through (run_server.py replaces
# the journal port once the journal is open).
root: Root = new_root()
fan = Fanout()
timers = timing.Timers()
ports = SimpleNamespace(journal=NO_JOURNAL, transport=fan,
                        timers=SimpleNamespace(schedule=partial(timing.schedule, timers)),
                        wallet=SimpleNamespace(send=None))   # a cluster's (server.cluster)
_shuffler = secrets.SystemRandom()


def now() -> float:
    """Wall-clock epoch seconds: deadlines are absolute so that they survive a restart."""
    return time.time()


def draw(players) -> tuple:
    """A tournament's random seat draw (``secrets.SystemRandom``), passed to the rules."""
    return tuple(_shuffler.sample(list(players), len(players)))


def shuffled() -> tuple:
    """A freshly shuffled deck (``secrets.SystemRandom``): randomness enters the rules
    only as this input to ``StartHand``."""
    deck = list(DECK)
    _shuffler.shuffle(deck)
    return tuple(deck)


def run(fx: Effects) -> None:
    """Carry out what a change caused (:func:`server.effects.commit`); on a cluster's
    shard, chips a step left in a bankroll go back to the wallet first."""
    if root.shard:
        transfers.sweep(root, fx)
    commit(fx, ports)


def wait_durable(timeout: float = 5.0) -> bool:
    """Block this greenlet until what was journaled so far is durable (HTTP replies)."""
    done = gevent.event.Event()
    ports.journal.when_durable(done.set)
    return done.wait(timeout)


@dataclass
class Runtime:
    """What the running process knows besides the root (not serialised)."""

    started: float = field(default_factory=time.time)
    loop_lag: float = 0.0           # the last measurement, seconds
    loop_lag_max: float = 0.0       # the largest since the last /metrics scrape
    stopping: bool = False
    # Why play is paused (the server cannot write its durable state), or None; and
    # what persistence/ gives to try again (True once state is saved again).
    paused: str | None = None
    resume_hook: Callable[[], bool] | None = None
    # Extension points for persistence/: called on graceful stop (after every
    # socket is closed, before exit), and extra Prometheus lines for /metrics.
    shutdown_hooks: list[Callable[[], None]] = field(default_factory=list)
    metrics_hooks: list[Callable[[], list[str]]] = field(default_factory=list)
    health_hooks: list[Callable[[], dict]] = field(default_factory=list)   # more /healthz fields
    greenlets: list = field(default_factory=list)
    server: Any = None              # the WSGIServer (serve)
    exit_code: int = 0              # what run_server.py exits with once stopped
    house_bots: HouseBots | None = None   # POST /api/tables with "bots": N
    # A cluster's shard (server.cluster): a socket's first frame goes through Redis
    # (who is this?), and a new table goes to the least-loaded shard.
    identify: Callable | None = None
    place_table: Callable[[], int] | None = None


runtime = Runtime()
app = bottle.Bottle()


# ---------------------------------------------------------------------------
# Origin


def origin_allowed(environ) -> bool:
    """The Origin rule (see the module doc)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return True
    allowed = config.settings.origins
    if allowed:
        return origin in allowed
    parts = urlsplit(origin)
    host = environ.get("HTTP_HOST", "")
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


def client_address(environ) -> str:
    """The client's address: the peer's, or behind a proxy in ``--trusted-proxies`` (a
    cluster's HAProxy, ``option forwardfor``) the last one its ``X-Forwarded-For`` adds.

    >>> config.configure(trusted_proxies=("10.0.0.2",)) and None
    >>> client_address({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 5.6.7.8"})
    '5.6.7.8'
    >>> client_address({"REMOTE_ADDR": "9.9.9.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"})
    '9.9.9.9'
    >>> config.configure(trusted_proxies=()) and None
    """
    peer = environ.get("REMOTE_ADDR", "")
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded and peer in config.settings.trusted_proxies:
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


# ---------------------------------------------------------------------------
# WebSocket


@app.get("/ws")
def websocket():
    ws = bottle.request.environ.get("wsgi.websocket")
    if ws is None:
        bottle.abort(400, "Expected a WebSocket request.")
    serve_socket(ws, bottle.request.environ)
    return ""


def serve_socket(ws, environ) -> None:
    """The reader loop of one connection: rate limits, then one message at a time."""
    if not origin_allowed(environ):
        log.info("refused Origin %r", environ.get("HTTP_ORIGIN"))
        ws.close(conns.CLOSE_POLICY, "origin not allowed")  # nothing else writes yet
        return
    sock = getattr(getattr(ws, "handler", None), "socket", None)
    if sock is not None:
        sock.settimeout(None)   # the handshake is done (see server.limits)
    address = client_address(environ)
    for header in [key for key in environ if key.startswith("HTTP_")]:
        del environ[header]     # a WebSocket lives long: its upgrade request's headers
                                # were a tenth of what an idle one costs
    c = conns.open_conn(ws, sock, address)
    fan.add(c)
    try:
        ws.on_ping = partial(conns.send_pong, c)   # the writer sends the pong
        ws.on_frame = partial(control_frame, c)
    except AttributeError:
        pass  # server.wsfix not installed: the library answers pings itself
    try:
        while c.closing is None and not runtime.stopping:
            try:
                raw = ws.receive()
            except WebSocketError:
                break
            if raw is None or c.closing is not None or not handle_frame(c, raw):
                break
            # Messages already buffered are read without blocking, so without this a
            # client pipelining requests would hold the loop and fill its own queue
            # before its writer ever ran: let the writer and the other sockets go first.
            gevent.sleep(0)
    except Exception:  # noqa: BLE001 - one broken connection must not affect the others
        log.exception("conn %d: reader failed", c.id)
    finally:
        run(handlers.goodbye(root, fan, c, now()))
        conns.stop_writer(c)
        conns.linger(c)


def control_frame(c, opcode: int) -> bool:
    """``ws.on_frame`` (server.wsfix): a ping, a pong or a fragment counts in the rate
    limit like a message, so a flood of them closes the socket too. False: stop reading."""
    if c.closing is not None:
        return False
    if conns.admit(c) == "flood":
        _flood(c, "frame")
        return False
    return True


def _flood(c, what: str) -> None:
    log.info("conn %d (%s): %s flood, closing", c.id, c.address, what)
    conns.close(c, conns.CLOSE_POLICY, "message flood")


def handle_frame(c, raw) -> bool:
    """One frame from the socket: rate limits, then the dispatcher. False: stop reading."""
    verdict = conns.admit(c)
    if verdict == "flood":
        _flood(c, "message")
        return False
    if verdict == "limited":
        run(handlers.refusal(root, c.id, "rate_limited", "too many messages: slow down"))
    elif not isinstance(raw, str):
        run(handlers.refusal(root, c.id, "binary",
                             "binary frames are not accepted: send JSON text"))
    elif len(raw) > MAX_BYTES:   # only without server.wsfix, which stops it earlier
        conns.close(c, conns.CLOSE_TOO_BIG, "message too big")
        return False
    elif c.player is None and runtime.identify is not None:
        run(runtime.identify(c, raw))   # a cluster's hello asks Redis first
    else:
        run(handlers.dispatch(root, fan, c, raw, now(), runtime.paused, draw))
    return True


# ---------------------------------------------------------------------------
# HTTP


def _json(data, status: int = 200):
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    return orjson.dumps(data)


@app.get("/")
def index():
    if os.path.isfile(os.path.join(STATIC, "index.html")):
        return bottle.static_file("index.html", root=STATIC)
    return NOT_BUILT


@app.get("/static/<path:path>")
def static(path):
    return bottle.static_file(path, root=STATIC)


@app.get("/api/tables")
def api_tables():
    return _json({"tables": lobby.everywhere(root)})


@app.post("/api/tables")
def api_create_table():
    if not origin_allowed(bottle.request.environ):
        return _json({"error": "origin not allowed"}, 403)
    length = bottle.request.content_length
    if length < 0 or length > MAX_BYTES:
        return _json({"error": f"the body must be JSON of at most {MAX_BYTES} bytes"}, 400)
    if runtime.paused is not None:
        return _json({"error": f"play is paused: {runtime.paused}"}, 503)
    if runtime.place_table is not None:      # a cluster: the least-loaded shard makes it
        target = runtime.place_table()
        if target != root.shard and bottle.request.query.get("shard") != str(root.shard):
            bottle.response.set_header("Location", f"/api/tables?shard={target}")
            return _json({"error": f"new tables go to shard {target}", "shard": target}, 307)
    try:
        body = bottle.request.body.read(length)
    except OSError:     # the request's deadline passed (server.limits): one line, no trace
        log.info("POST /api/tables: the body did not arrive in time")
        return _json({"error": "the body did not arrive in time"}, 408)
    fx = Effects()
    owner = root.tokens.get(_bearer())   # a player who says who they are
    try:
        data = parse_json(body)
        if root.shard and isinstance(data, dict) and data.get("bots"):
            return _json({"error": "house bots are not offered in a cluster: run "
                          "python -m client.bots against it"}, 400)
        room = lobby.create_table(root, data, fx, now(),
                                  creator=client_address(bottle.request.environ), owner=owner)
    except ProtocolError as e:
        return _json({"error": e.message}, 400)
    except quotas.OverQuota as e:
        return _json({"error": str(e)}, 429)
    except ValueError as e:
        return _json({"error": str(e)}, 400)
    log.info("table %s created: %s %r", room.id, room.name, room.config)
    bots = data.get("bots", 0) if isinstance(data, dict) else 0
    players = [handlers.new_player(root, f"bot {i}", fx) for i in range(bots)]
    if players:
        room.house_bots.extend(p.id for p in players)
        fx.journal.append({"k": "bots", "t": room.id, "players": [p.id for p in players]})
    entry = lobby.lobby_entry(root, room)
    run(fx)
    if not wait_durable():   # 'always' journal: reply once the table is on disk
        return _json({"error": "the table could not be made durable"}, 503)
    if players:
        environ = bottle.request.environ
        start_house_bots(room, f"ws://{_loopback(environ.get('SERVER_NAME', '127.0.0.1'))}:"
                               f"{environ['SERVER_PORT']}/ws")
    return _json(entry, 201)


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host


def start_house_bots(room, url: str) -> int:
    """Seat ``room``'s house bots (a lonely player's table): the server created their
    players itself and keeps their ids in ``room.house_bots`` (journaled), so that
    after a crash or a restart the same bots come back to their seats. They run in
    a child process (:mod:`server.bots`) and talk to the server over loopback like
    everyone else. Returns how many were seated."""
    tokens = [root.players[pid].token for pid in room.house_bots if pid in root.players]
    if not tokens:
        return 0
    if runtime.house_bots is None:
        runtime.house_bots = HouseBots(url, config.settings.bot_think,
                                       alive=lambda table_id: table_id in root.tables)
    runtime.house_bots.seat(room.id, tokens)
    log.info("table %s: %d bots seated", room.id, len(tokens))
    return len(tokens)


def restart_house_bots(host: str, port: int) -> int:
    """At start: bring back every table's house bots (after a crash they still hold
    their seats; after a graceful stop they left and sit down again)."""
    url = f"ws://{_loopback(host)}:{port}/ws"
    return sum(start_house_bots(room, url) for room in list(root.tables.values()))


@app.get("/api/tables/<table_id>/hands")
def api_hands(table_id):
    room = root.tables.get(table_id)
    if room is None:
        return _json({"error": lobby.no_table(root, table_id)}, 404)
    return _json({"table": room.id, "hands": lobby.recent_hands(room)})


@app.get("/api/tables/<table_id>/hands/<number:int>.phh")
def api_hand_phh(table_id, number):
    """A hand you played, as PHH: your cards and those shown at showdown, no others.

    The session token comes as ``Authorization: Bearer <token>`` (or ``?token=``).
    """
    player_id = root.tokens.get(_bearer() or bottle.request.query.get("token", ""))
    if player_id is None:
        return _json({"error": "a valid session token is needed"}, 401)
    room = root.tables.get(table_id)
    if room is None:
        return _json({"error": lobby.no_table(root, table_id)}, 404)
    record = next((h for h in finished_hands(room) if h["number"] == number), None)
    if record is None:
        return _json({"error": f"hand {number} is not among the hands this table keeps"}, 404)
    text = lobby.finished_hand_phh(record, room.id, player_id)
    if text is None:
        return _json({"error": "you were not dealt into that hand"}, 403)
    bottle.response.content_type = "application/toml; charset=utf-8"
    return text


def _bearer() -> str:
    """The session token of an ``Authorization: Bearer <token>`` header, or ""."""
    header = bottle.request.get_header("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


@app.post("/api/admin/tables/<table_id>/close")
def api_close_table(table_id):
    """An operator closes a table (``Authorization: Bearer $POKER_ADMIN_TOKEN``; the route
    does not exist when that variable is unset): no new hand starts, and once the hand
    being played is over every player stands up with their chips and the table goes."""
    token = os.environ.get("POKER_ADMIN_TOKEN", "")
    if not token:
        return _json({"error": "no admin token is set: POKER_ADMIN_TOKEN"}, 404)
    if not secrets.compare_digest(_bearer().encode(), token.encode()):
        return _json({"error": "the admin token is needed"}, 401)
    room = root.tables.get(table_id)
    if room is None:
        return _json({"error": lobby.no_table(root, table_id)}, 404)
    if runtime.paused is not None:
        return _json({"error": f"play is paused: {runtime.paused}"}, 503)
    run(play.close_table(root, room, now()))
    if not wait_durable():
        return _json({"error": "the close could not be made durable"}, 503)
    closed = table_id not in root.tables
    log.info("table %s %s by an operator", table_id, "closed" if closed else "closing")
    return _json({"table": table_id, "closed": closed}, 200 if closed else 202)


@app.get("/api/shard")
def api_shard():
    """This process's chips for a cluster's audit (``server.cluster.audit``): what it
    holds (``total_chips``) and its transfers still pending (ids and amounts only)."""
    return _json({"shard": root.shard, "chips": total_chips(root),
                  "pending": [{"id": t["id"], "amount": t["amount"]}
                              for t in root.transfers.values()]})


@app.get("/healthz")
def healthz():
    ok = not runtime.stopping and runtime.paused is None
    body = {"ok": ok, "paused": runtime.paused, "tables": len(root.tables),
            "connections": len(fan.conns)}
    for hook in runtime.health_hooks:
        body.update(hook())
    return _json(body, 200 if ok else 503)


@app.get("/metrics")
def metrics():
    bottle.response.content_type = "text/plain; version=0.0.4"
    return "\n".join(metrics_lines()) + "\n"


def metrics_lines() -> list[str]:
    """Prometheus text lines for the whole server."""
    counters = root.counters
    online = len(fan.sockets)
    lines = [
        "# TYPE poker_connections gauge", f"poker_connections {len(fan.conns)}",
        "# TYPE poker_players gauge", f"poker_players {len(root.players)}",
        "# TYPE poker_players_online gauge", f"poker_players_online {online}",
        "# TYPE poker_tables gauge", f"poker_tables {len(root.tables)}",
        "# TYPE poker_hands_total counter", f"poker_hands_total {counters.get('hands', 0)}",
        "# TYPE poker_actions_total counter",
        f"poker_actions_total {counters.get('actions', 0)}",
        "# TYPE poker_errors_total counter",
    ]
    for code, n in sorted(counters.get("errors", {}).items()):
        lines.append(f'poker_errors_total{{code="{code}"}} {n}')
    lines += [
        "# TYPE poker_send_queue_drops_total counter",
        f"poker_send_queue_drops_total {conns.dropped}",
        "# TYPE poker_loop_lag_seconds gauge", f"poker_loop_lag_seconds {runtime.loop_lag:.6f}",
        "# TYPE poker_loop_lag_max_seconds gauge",
        f"poker_loop_lag_max_seconds {runtime.loop_lag_max:.6f}",
        "# TYPE poker_chips_total gauge", f"poker_chips_total {total_chips(root)}",
        "# TYPE poker_chips_issued gauge", f"poker_chips_issued {root.chips_issued}",
        "# TYPE poker_uptime_seconds gauge",
        f"poker_uptime_seconds {time.time() - runtime.started:.3f}",
        "# TYPE poker_paused gauge", f"poker_paused {int(runtime.paused is not None)}",
        *limits.metrics_lines(),
    ]
    runtime.loop_lag_max = runtime.loop_lag
    for hook in runtime.metrics_hooks:
        try:
            lines += hook()
        except Exception:  # noqa: BLE001 - a broken hook must not break /metrics
            log.exception("metrics hook failed")
    return lines


# ---------------------------------------------------------------------------
# Background greenlets


CLOCK_IDLE = 1.0    # seconds the clock sleeps at most when nothing is due


def run_clock() -> None:
    """Tick the tables whose clock, next hand or sat-out removal is due, when it is due.

    Tables are found through the timers (:mod:`server.timers`, fed by every
    commit's ``wake``): the greenlet sleeps until the earliest due time (rounded
    up to ``tick``, so that tables due close together are ticked in one go), and
    a table that becomes due sooner wakes it through the timers' alarm. An idle
    server does not wake.
    """
    alarm = gevent.event.Event()
    timers.alarm = alarm.set
    for room in list(root.tables.values()):    # recovered tables: their times
        timing.schedule(timers, room.id, play.due(room))
    tick = config.settings.tick
    while True:
        t = now()
        at = timing.next_at(timers)
        delay = min(CLOCK_IDLE, max(tick, at - t + tick / 2)) if at is not None else CLOCK_IDLE
        timers.looks_at = t + delay
        alarm.clear()
        if alarm.wait(delay):
            gevent.sleep(tick)      # something came due sooner: at the tick's granularity
        timers.looks_at = float("inf")    # busy ticking: nobody needs to ring
        if runtime.paused is None:
            run_due(now())


def run_due(t: float) -> int:
    """Tick every table whose time has come; returns how many were ticked."""
    ticked = 0
    for table_id in timing.due_now(timers, t):
        room = root.tables.get(table_id)
        if room is None:
            continue
        ticked += 1
        try:
            fx = play.tick(root, room, t, shuffled)
        except Exception:  # noqa: BLE001 - one broken table must not stop the others
            log.exception("table %s: tick failed", room.id)
            fx = Effects(wake={room.id: play.due(room)})
        run(fx)
    return ticked


RETRY_SAVE = 2.0    # seconds between attempts to save the state again while paused


def pause(reason: str) -> None:
    """The server cannot write its durable state (the journal or the images failed):
    stop every change to the root (messages that would change it are refused with
    ``paused``; no clock runs, no hand is dealt), keep serving reads, tell everyone,
    and try to save again every :data:`RETRY_SAVE` seconds (``runtime.resume_hook``).

    What changed the root up to here is whole (a step is applied entirely before it is
    journaled), and it is in the next image once one is written."""
    if runtime.paused is not None:
        return
    runtime.paused = reason
    log.critical("play paused: %s", reason)
    _tell_everyone({"type": "paused", "reason": reason})
    runtime.greenlets.append(gevent.spawn(_retry_save))


def resume() -> None:
    """The state is saved again: play goes on. The clocks that stood still restart
    (the outage is not the players' time), and everyone is told."""
    if runtime.paused is None:
        return
    log.warning("play resumed (it was paused: %s)", runtime.paused)
    runtime.paused = None
    play.restart_clocks(root, now())
    for room in list(root.tables.values()):
        timing.schedule(timers, room.id, play.due(room))
    _tell_everyone({"type": "resumed"})


def _retry_save() -> None:
    since = time.monotonic()
    while runtime.paused is not None and not runtime.stopping:
        gevent.sleep(RETRY_SAVE)
        try:
            saved = runtime.resume_hook() if runtime.resume_hook is not None else False
        except Exception:  # noqa: BLE001 - still failing: try again later
            log.exception("saving the state again failed")
            saved = False
        if saved:
            resume()
            return
        limit = config.settings.max_pause
        if limit and time.monotonic() - since >= limit and runtime.server is not None:
            log.critical("play has been paused for over %g s (%s): stopping with exit code 3 "
                         "(--max-pause) for a supervisor to restart the server", limit,
                         runtime.paused)
            runtime.exit_code = 3
            gevent.spawn(stop, runtime.server)   # (stop kills this greenlet among others)
            return


def _tell_everyone(message: dict) -> None:
    """A notice about the server itself to every socket, at once: it acknowledges no
    change, so it does not wait for the journal (which may be what failed)."""
    fx = Effects()
    for cid in list(fan.conns):
        fx.reply(cid, dict(message))
    fan.deliver(fan.prepare(fx))


def measure_lag(interval: float = 0.1) -> None:
    """Sleep ``interval`` over and over; the overshoot is how late the loop runs."""
    while True:
        start = time.perf_counter()
        gevent.sleep(interval)
        runtime.loop_lag = max(0.0, time.perf_counter() - start - interval)
        runtime.loop_lag_max = max(runtime.loop_lag_max, runtime.loop_lag)


def forget_players() -> None:
    """Now and then, forget the players long gone (``handlers.forget_gone_players``)."""
    while True:
        gevent.sleep(min(60.0, config.settings.player_ttl / 2))
        if runtime.paused is not None:
            continue
        try:
            fx = handlers.forget_gone_players(root, fan, now())
        except Exception:  # noqa: BLE001 - keep sweeping later
            log.exception("forgetting players failed")
            continue
        run(fx)
        if fx.journal:
            log.info("forgot %d player(s) gone for over %g s", len(fx.journal),
                     config.settings.player_ttl)


def start_background() -> None:
    runtime.greenlets += [gevent.spawn(run_clock), gevent.spawn(measure_lag),
                          gevent.spawn(forget_players)]


def stop(server, grace: float = 2.0) -> None:
    """Graceful stop: no new connections, close every socket with 1001, run the shutdown
    hooks (the final snapshot), then let ``serve_forever`` return."""
    if runtime.stopping:
        return
    runtime.stopping = True
    if runtime.house_bots is not None:   # bots leave first: their chips go back to bankrolls
        runtime.house_bots.stop(timeout=3.0)
    log.info("stopping: closing %d connection(s)", len(fan.conns))
    server.stop_accepting()   # not close(): that would end serve_forever before the hooks run
    for c in list(fan.conns.values()):
        conns.close(c, conns.CLOSE_AWAY, "server shutting down")
    deadline = time.monotonic() + grace
    while fan.conns and time.monotonic() < deadline:
        gevent.sleep(0.02)
    try:
        gevent.killall(runtime.greenlets, timeout=1)
    except gevent.Timeout:   # a loop too busy to end them in time: the stop goes on
        log.warning("stopping: background greenlets still ending after 1 s; going on")
    for hook in runtime.shutdown_hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 - still exit, but say so
            log.exception("shutdown hook failed")
    server.stop(timeout=1)


def serve(the_root: Root, host: str, port: int, access_log: bool = False):
    """Create the server for ``the_root`` (call ``serve_forever`` on it); signals stop it."""
    import signal

    from gevent.pywsgi import WSGIServer

    global root
    root = the_root
    fan.keep = config.settings.history
    try:
        from server import wsfix
    except ImportError:
        log.warning("server.wsfix not found: no 16 KiB frame cap, pongs sent by the reader")
    else:
        wsfix.install(max_message=MAX_BYTES)
    # server.limits.Handler: the request deadline and the connection caps
    limits.raise_fd_limit(config.settings.max_connections)
    server = WSGIServer((host, port), app, handler_class=limits.Handler,
                        log=None if not access_log else "default")
    runtime.server = server
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, lambda: gevent.spawn(stop, server))
    start_background()
    return server
