"""Helpers for the server tests: a real server process and real WebSocket clients.

Not tests themselves (pytest collects nothing here). Every wait is bounded in
time; every server listens on 127.0.0.1 only, on a port the kernel picks.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import websocket

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
CARD = re.compile(r"^[2-9TJQKA][cdhs]$")


# ---------------------------------------------------------------------------
# The server process


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def start_server(tmp_dir: str, *flags: str, timeout: float = 30.0, prelude: str = "",
                 env: dict | None = None) -> Server:
    """Start ``run_server.py --port 0`` with ``flags``; wait until /healthz answers.

    ``prelude`` is Python run in the server's process first (to inject a fault at a
    call of the real server, such as a slow fsync); ``env`` adds environment variables
    (the test's own ``POKER_*`` are never passed on).
    """
    log_path = os.path.join(tmp_dir, f"server-{time.monotonic_ns()}.log")
    out = open(log_path, "w")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POKER_")}, **(env or {})}
    command = [PYTHON, "run_server.py"]
    if prelude:
        command = [PYTHON, "-c", prelude + "\nimport runpy, sys\nsys.argv[0] = 'run_server.py'"
                   "\nrunpy.run_path('run_server.py', run_name='__main__')"]
    proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", "0", *flags], cwd=REPO,
                            stdout=out, stderr=subprocess.STDOUT, env=env)
    out.close()
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{open(log_path).read()}")
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", open(log_path).read())
        if m:
            port = int(m.group(1))
            try:
                get_json(f"http://127.0.0.1:{port}/healthz")
                return Server(proc, port, log_path)
            except OSError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{open(log_path).read()}")


def get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def post_json(url: str, body, timeout: float = 5.0, headers=None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def metrics(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def create_table(server: Server, seats: int = 6, name: str = "test", **extra) -> str:
    body = {"name": name, "seats": seats, "small_blind": 1, "big_blind": 2, **extra}
    status, data = post_json(server.url + "/api/tables", body)
    assert status == 201, data
    return data["id"]


def wait_for(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ---------------------------------------------------------------------------
# A client


def messages(raw) -> list[dict]:
    """One frame's message, parsed; a batch of table events (``events``) becomes one
    ``{"type": "event", "table", "v", "event"}`` per event, in order."""
    msg = json.loads(raw)
    if msg.get("type") != "events":
        return [msg]
    return [{"type": "event", "table": msg["table"], "v": msg["v"] + i, "event": e}
            for i, e in enumerate(msg["events"])]


class Closed(Exception):
    """The server closed the socket; ``code`` is its close code (None if no close frame)."""

    def __init__(self, code):
        super().__init__(f"closed with {code}")
        self.code = code


@dataclass
class Client:
    """One WebSocket with the bookkeeping a test needs.

    Every message received is kept in ``seen``; ``versions`` tracks each table's ``v``
    and asserts that events arrive without gaps; ``hands`` and ``cards_seen`` feed the
    leak checks.
    """

    ws: websocket.WebSocket
    name: str = ""
    player: str | None = None
    token: str | None = None
    bankroll: int | None = None
    seen: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)      # table id -> last full view message
    turns: list = field(default_factory=list)
    seats: dict = field(default_factory=dict)       # table id -> my seat
    closed: int | None = None
    raw: list = field(default_factory=list)
    unread: list = field(default_factory=list)     # events of a batch not yet returned
    batches: int = 0                                # events messages received

    # -- plumbing --
    def send(self, message) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 5.0) -> dict:
        """The next message (bookkept), or raise Closed / websocket timeout.

        A batch of table events (``events``) is returned one event at a time, each as
        ``{"type": "event", "table", "v", "event"}``, so that tests can wait for one.
        """
        if self.unread:
            return self.unread.pop(0)
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            raise Closed(self.closed) from None
        except (ConnectionResetError, BrokenPipeError, OSError) as e:
            if isinstance(e, websocket.WebSocketTimeoutException):
                raise
            raise Closed(self.closed) from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            raise Closed(self.closed)
        if opcode != websocket.ABNF.OPCODE_TEXT:
            return self.recv(timeout)
        text = data.decode()
        self.raw.append(text)
        got = messages(text)
        self.batches += len(got) > 1 or got[0]["type"] == "event"
        for msg in got:
            self._book(msg)
        self.unread = got[1:]
        return got[0]

    def _book(self, msg: dict) -> None:
        self.seen.append(msg)
        kind = msg["type"]
        if kind == "event":
            table = msg["table"]
            last = self.versions.get(table)
            assert last is None or msg["v"] == last + 1, \
                f"{self.name}: gap at {table}: v {last} then {msg['v']}"
            self.versions[table] = msg["v"]
        elif kind == "table":
            self.versions[msg["table"]] = msg["v"]
            self.tables[msg["table"]] = msg
        elif kind == "turn":
            self.turns.append(msg)
        elif kind in ("welcome", "bankroll"):
            self.bankroll = msg["bankroll"]

    def expect(self, predicate, timeout: float = 5.0, what: str = "a message") -> dict:
        """Read until a message matches ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: no {what} within {timeout}s; "
                                     f"last: {self.seen[-3:]}")
            try:
                msg = self.recv(min(left, 1.0))
            except websocket.WebSocketTimeoutException:
                continue
            if predicate(msg):
                return msg

    def expect_type(self, kind: str, timeout: float = 5.0, **fields) -> dict:
        return self.expect(lambda m: m["type"] == kind and all(m.get(k) == v
                                                               for k, v in fields.items()),
                           timeout, f"{kind} {fields or ''}")

    def expect_event(self, kind: str, timeout: float = 5.0, **fields) -> dict:
        return self.expect(lambda m: m["type"] == "event" and m["event"]["type"] == kind
                           and all(m["event"].get(k) == v for k, v in fields.items()),
                           timeout, f"event {kind} {fields or ''}")["event"]

    def drain(self, quiet: float = 0.15) -> list[dict]:
        """Read everything until ``quiet`` seconds pass with nothing new."""
        got = []
        while True:
            try:
                got.append(self.recv(quiet))
            except websocket.WebSocketTimeoutException:
                return got

    def request(self, message: dict, kind: str | None = None, timeout: float = 5.0) -> dict:
        """Send with a fresh ``rid``; return the reply carrying that ``rid``."""
        rid = f"r{time.monotonic_ns()}"
        self.send({**message, "rid": rid})
        return self.expect(lambda m: m.get("rid") == rid and (kind is None or m["type"] == kind),
                           timeout, f"reply to {message.get('type')}")

    def close(self) -> None:
        try:
            self.ws.close(timeout=0.5)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def wait_close(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return its close code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.recv(max(0.05, deadline - time.monotonic()))
            except Closed as e:
                return e.code
            except websocket.WebSocketTimeoutException:
                continue
        raise AssertionError(f"{self.name}: the server did not close within {timeout}s")


def connect(server: Server, name: str | None = None, token: str | None = None,
            tables: dict | None = None, timeout: float = 5.0, **options) -> Client:
    """Open a socket; with ``name`` or ``token`` also say hello and read the welcome."""
    ws = websocket.create_connection(server.ws_url, timeout=timeout, **options)
    c = Client(ws, name=name or "")
    if name is not None or token is not None:
        hello = {"type": "hello", "protocol": 2}
        if name is not None:
            hello["name"] = name
        else:
            hello["token"] = token
            if tables:
                hello["tables"] = tables
        c.send(hello)
        w = c.expect_type("welcome", timeout)
        c.player, c.token, c.name = w["player"], w["token"], w["name"]
    return c


def sit(c: Client, table: str, seat: int, buy_in: int = 100) -> dict:
    reply = c.request({"type": "sit", "table": table, "seat": seat, "buy_in": buy_in})
    assert reply["type"] == "table", reply
    c.seats[table] = reply["you"]
    return reply


def bankroll_of(server: Server, token: str) -> int:
    c = connect(server, token=token)
    try:
        return c.bankroll
    finally:
        c.close()


def chips(server: Server) -> tuple[int, int]:
    m = metrics(server)
    return int(m["poker_chips_total"]), int(m["poker_chips_issued"])


def cards_in(value) -> set[str]:
    """Every card-looking string anywhere inside a message."""
    found: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and CARD.match(v):
            found.add(v)
    return found


# ---------------------------------------------------------------------------
# Bots driven from test threads


def choose(legal: dict, rng: random.Random) -> dict:
    """A loose-passive test bot: mostly calls and checks, sometimes raises, folds or shoves."""
    actions = legal["actions"]
    r = rng.random()
    grow = "raise" if "raise" in actions else "bet" if "bet" in actions else None
    if r < 0.08 and "call" in actions:
        return {"action": "fold"}
    if r < 0.25 and grow:
        top = min(legal["max_to"], legal["min_to"] * 3)
        return {"action": grow, "amount": rng.randint(legal["min_to"], top)}
    if r < 0.28 and "all_in" in actions:
        return {"action": "all_in"}
    return {"action": "call" if "call" in actions else "check"}


def paced(c: Client, rate: float = 18.0, burst: float = 20.0):
    """``c.send`` kept under the server's rate limit (20 a second, bursts of 40).

    A refused message carries no ``rid``, so a bot cannot tell which of its messages the
    limit dropped: a lost ``sit_in`` after a bust leaves a player out for good, and with
    too few players left the table stops. A client that keeps to the limit loses nothing.
    The margins (18 against 20, 20 against 40) absorb a second of messages bunched on the way."""
    tokens, at = burst, time.monotonic()

    def send(message: dict) -> None:
        nonlocal tokens, at
        now = time.monotonic()
        tokens, at = min(burst, tokens + (now - at) * rate), now
        if tokens < 1.0:
            time.sleep((1.0 - tokens) / rate)      # keeping to a rate, not waiting on a state
            tokens, at = 1.0, time.monotonic()
        tokens -= 1.0
        c.send(message)
    return send


def stop_bots(bots: subprocess.Popen, timeout: float) -> bytes:
    """End a ``python -m client.bots`` run with SIGTERM (its bots leave their seats and it
    writes its report), killing it after ``timeout`` s; returns its stderr."""
    bots.send_signal(signal.SIGTERM)
    try:
        return bots.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        bots.kill()
        return bots.communicate()[1]


def received(c: Client, stop: threading.Event):
    """What ``c`` receives, message by message, until ``stop`` is set or the socket closes."""
    while not stop.is_set():
        try:
            yield c.recv(0.1)
        except websocket.WebSocketTimeoutException:
            continue
        except Closed:
            return


def bot_loop(c: Client, stop: threading.Event, seed: int, rewatch_every: int = 0) -> None:
    rng = random.Random(seed)
    send = paced(c)
    turns = 0
    for msg in received(c, stop):
        if msg["type"] == "event" and msg["event"]["type"] == "sat_out" \
                and msg["event"]["seat"] == c.seats.get(msg["table"]):
            # Bust (the only reason here): buy more chips and play on.
            send({"type": "top_up", "table": msg["table"], "amount": 100})
            send({"type": "sit_in", "table": msg["table"]})
        if msg["type"] == "turn":
            turns += 1
            send({"type": "act", "table": msg["table"], **choose(msg["legal"], rng)})
            if rewatch_every and turns % rewatch_every == 0:
                send({"type": "watch", "table": msg["table"]})   # a mid-hand full view


def run_bots(clients, until, timeout: float, seed: int = 1, rewatch_every: int = 0,
             during=None) -> None:
    """Run every client as a bot in its own thread until ``until()`` (bounded by ``timeout``)."""
    stop = threading.Event()
    threads = [threading.Thread(target=bot_loop, args=(c, stop, seed * 100 + i, rewatch_every),
                                daemon=True) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if during:
                during()
            if until():
                break
            time.sleep(0.05)
        else:
            refused = [(c.name, e["code"]) for c in clients for e in errors(c)]
            raise AssertionError(f"bots did not finish within {timeout}s; refused: {refused[-8:]}")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)


def hands_played(server, table: str) -> int:
    return next(t["hands"] for t in get_json(server.url + "/api/tables")["tables"]
                if t["id"] == table)


def errors(c: Client) -> list[dict]:
    return [m for m in c.seen if m["type"] == "error"]


def seat_up(server, n: int, seats: int | None = None, prefix: str = "p", buy_in: int = 100):
    """A new table with ``n`` players who watched it first (so they see every event)."""
    table = create_table(server, seats=seats or n)
    clients = [connect(server, f"{prefix}{i}") for i in range(n)]
    for c in clients:
        c.request({"type": "watch", "table": table}, "table")
    for i, c in enumerate(clients):
        sit(c, table, i, buy_in)
    return table, clients
