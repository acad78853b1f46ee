"""Soak: bots play while many idle sockets and clients that never read hang on.

    .venv/bin/python bench/soak.py [--idle 2000] [--lazy 50] [--bots 60] [--duration 20]
        [--think 0.2] [--json FILE] [-- SERVER FLAGS...]

The socket layer's byte bounds (``--send-queue``, ``--send-queue-bytes``) under load,
on a real server subprocess on 127.0.0.1 (this process is the load, as greenlets):

1. ``--idle`` WebSockets connect, say hello and then do nothing at all;
2. ``--lazy`` clients with a 4 KiB receive buffer say hello, watch every bot table and
   ask for a full table view ten times a second, and never read a byte: each must be
   closed with 4000 once its queue overflows (``poker_send_queue_drops_total``), and
   the server's memory must stay bounded (its RSS is sampled all along);
3. meanwhile ``--bots`` bots (``client.bots``) play six to a table for ``--duration``
   seconds after ``--warmup``: every action must be answered (no act left waiting, no
   seat timed out, no bot closed or reconnecting), and the action round trip (``act``
   sent to its event back) is measured against the target: p99 under 50 ms.

The report (stdout, and ``--json``) has every figure and a ``verdicts`` section;
the exit status is 1 when a verdict fails. ``tests/test_server_soak.py`` runs a smaller
version with generous bounds. Every loop is bounded in count and time.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import gevent.pool  # noqa: E402
import orjson  # noqa: E402
import websocket  # noqa: E402

from _measure import rss_kib  # noqa: E402
from client.bots import wire  # noqa: E402
from client.bots.run import BotGroup, create_tables, make_bots  # noqa: E402
from client.bots.stats import Stats  # noqa: E402

SEATS = 6
TARGET_P99_MS = 50.0
SERVER_FLAGS = ["--no-default-tables", "--hand-pause", "0.1", "--log-level", "WARNING",
                # A lost act must show within the run: the seat times out.
                "--turn-seconds", "10", "--time-bank", "0",
                # The bounds the lazy clients must meet, smaller than the defaults
                # (256 messages, 1 MiB, the kernel's autotuned buffer, up to 4 MiB) so
                # that they overflow within seconds; later flags override these.
                "--send-queue-bytes", "131072", "--socket-sndbuf", "16384"]


def raise_fd_limit(need: int) -> int:
    """Raise RLIMIT_NOFILE towards ``need`` (up to the hard limit); the soft limit after."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``run_server.py`` on a free loopback port (it inherits this process's fd limit)."""

    def __init__(self, flags: list[str]):
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_server.py"), "--host", "127.0.0.1",
             "--port", str(self.port), *SERVER_FLAGS, *flags],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the server did not start: "
                                       + self.proc.stderr.read().decode()[-2000:])
                gevent.sleep(0.1)

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.base + "/metrics", timeout=10) as r:
            text = r.read().decode()
        return {name: float(value) for name, _, value in
                (line.rpartition(" ") for line in text.splitlines()
                 if line and not line.startswith("#"))}

    def rss_mib(self) -> float:
        return rss_kib(self.proc.pid) / 1024

    def stop(self) -> str:
        """Stop it (SIGTERM, as an operator would); what it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")


# ---------------------------------------------------------------------------
# The idle and the lazy


def open_idle(url: str, count: int, timeout: float) -> tuple[list, float]:
    """``count`` sockets that connect and say hello, 100 connecting at once; then idle."""
    sockets: list = []
    started = time.monotonic()

    def one(i):
        ws = wire.connect(url, timeout=30)
        wire.send(ws, {"type": "hello", "protocol": 2, "name": f"idle{i}"})
        ws.settimeout(30)
        welcome = wire.read(ws)
        if type(welcome) is tuple or welcome.get("type") != "welcome":
            raise RuntimeError(f"no welcome: {welcome}")
        sockets.append(ws)

    pool = gevent.pool.Pool(100)
    for i in range(count):
        pool.spawn(one, i)
    pool.join(timeout=timeout, raise_error=True)
    if len(sockets) < count:
        raise RuntimeError(f"only {len(sockets)} of {count} idle sockets within {timeout} s")
    return sockets, time.monotonic() - started


class Lazy:
    """A client that never reads: it watches ``tables`` and asks for full views."""

    def __init__(self, url: str, i: int, tables: list[str], stop: gevent.event.Event):
        self.ws = websocket.create_connection(
            url, timeout=10, suppress_origin=True,
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        wire.send(self.ws, {"type": "hello", "protocol": 2, "name": f"lazy{i}"})
        self.tables, self.stop, self.sent, self.send_failed = tables, stop, 0, False
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        try:
            for t in self.tables:
                wire.send(self.ws, {"type": "watch", "table": t})
            k = 0
            while not self.stop.wait(0.5):
                wire.send(self.ws, {"type": "watch", "table": self.tables[k % len(self.tables)]})
                self.sent += 1
                k += 1
        except (OSError, websocket.WebSocketException):
            self.send_failed = True              # the server has closed it

    def close_code(self, timeout: float = 3.0):
        """Read now, at last: the close code the server sent (4000), or None when it
        could not send one (the buffers were full: the socket was shut down)."""
        self.ws.settimeout(0.5)
        deadline = time.monotonic() + timeout
        code = None
        try:
            while time.monotonic() < deadline:
                try:
                    frame = self.ws.recv_frame()
                except websocket.WebSocketTimeoutException:
                    continue
                if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
                    break
        except (OSError, websocket.WebSocketException):
            pass
        try:
            self.ws.shutdown()
        except Exception:  # noqa: BLE001 - gone already
            pass
        return code


# ---------------------------------------------------------------------------


def soak(a) -> dict:
    out: dict = {"machine_cpus": os.cpu_count()}
    need = a.idle + a.lazy + a.bots * 2 + 500
    out["fd_limit"] = limit = raise_fd_limit(need)
    if limit < need:
        raise SystemExit(f"soak: needs {need} open files, the limit is {limit}")
    server = Server(a.server_flags)
    stop = gevent.event.Event()
    rss: list[float] = []
    lags: list[float] = []
    idle, lazies, group = [], [], None
    try:
        out["rss_mib_start"] = round(server.rss_mib(), 1)
        idle, took = open_idle(server.url, a.idle, timeout=max(60.0, a.idle / 20))
        gevent.sleep(0.5)
        out["idle"] = {"sockets": len(idle), "connect_s": round(took, 2),
                       "rss_mib": round(server.rss_mib(), 1)}
        tables = create_tables(server.url, max(1, a.bots // SEATS), seats=SEATS, prefix="Soak")
        server.metrics()                        # the loop lag from here on
        sampler = gevent.spawn(_sample, server, rss, lags, stop)
        lazies = [Lazy(server.url, i, tables, stop) for i in range(a.lazy)]
        stats = Stats()
        bots = make_bots(server.url, tables, a.bots, "mix", stats, stop, think=a.think,
                         seed=a.seed)
        group = BotGroup(bots, [gevent.spawn(b.run) for b in bots], stats, stop)
        started = time.monotonic()
        _wait(lambda: stats.seated == a.bots, a.settle)     # conditions, not guesses
        out["seated_s"] = round(time.monotonic() - started, 2)
        gevent.sleep(a.warmup)
        stats.restart()
        gevent.sleep(a.duration)
        report = stats.report(a.bots)
        now = time.perf_counter()
        waiting = [b.name for b in bots
                   if b.pending_act is not None and now - b.pending_act[1] > a.answer_within]
        # The lazy are dropped once their queues overflow: wait for it (bots still playing).
        _wait(lambda: server.metrics().get("poker_send_queue_drops_total", 0) >= a.lazy,
              a.settle, step=0.5)
        out["lazy_dropped_s"] = round(time.monotonic() - started, 2)
        m = server.metrics()
        stop.set()
        sampler.join(timeout=2)
        group.stop()
        group = None
        readers = [gevent.spawn(lazy.close_code) for lazy in lazies]
        gevent.joinall(readers, timeout=10)
        codes = [r.value if r.successful() else "unread" for r in readers]
        out["bots"] = {k: report[k] for k in ("bots", "connected", "seated", "hands",
                                               "actions", "actions_per_s", "latency_ms",
                                               "errors", "closes", "reconnects",
                                               "connect_failures", "timeouts", "gaps")}
        out["bots"]["acts_unanswered"] = waiting
        out["lazy"] = {"clients": a.lazy,
                       "dropped_4000": int(m.get("poker_send_queue_drops_total", 0)),
                       "close_codes": {str(c): codes.count(c) for c in set(codes)},
                       "watch_requests_sent": sum(lazy.sent for lazy in lazies)}
        out["server"] = {"rss_mib_before_play": out["idle"]["rss_mib"],
                         "rss_mib_peak": round(max(rss, default=0.0), 1),
                         "rss_mib_end": round(server.rss_mib(), 1),
                         "loop_lag_max_ms": round(1000 * max(lags, default=0.0), 1),
                         "loop_lag_over_50ms": sum(lag > 0.05 for lag in lags),
                         "loop_lag_samples": len(lags),
                         "connections_at_end": int(m.get("poker_connections", 0))}
    finally:
        stop.set()
        if group is not None:
            group.stop()
        for ws in idle:
            try:
                ws.shutdown()
            except Exception:  # noqa: BLE001 - gone already
                pass
        log = server.stop()
    out.setdefault("server", {})
    out["server"]["exit"] = server.proc.returncode
    out["server"]["tracebacks"] = log.count("Traceback")
    if server.proc.returncode != 0 or "Traceback" in log:
        out["server"]["log_tail"] = log[-4000:]      # a failure says why
    out["verdicts"] = verdicts(out, a)
    return out


def _wait(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(step)
    return True


def _sample(server: Server, rss: list, lags: list, stop) -> None:
    """Every half second: the server's RSS, and its loop lag's maximum since the last
    look (``poker_loop_lag_max_seconds`` restarts at each scrape)."""
    while not stop.wait(0.5):
        rss.append(server.rss_mib())
        try:
            lags.append(server.metrics()["poker_loop_lag_max_seconds"])
        except (OSError, KeyError):
            pass


def verdicts(out: dict, a) -> dict:
    """Each check and whether it holds (the p99 against ``--p99-ms``)."""
    bots, lazy, srv = out["bots"], out["lazy"], out["server"]
    lat = bots["latency_ms"]
    allowed_errors = set()
    return {
        "every idle socket connected": out["idle"]["sockets"] == a.idle,
        "every bot played": bots["seated"] == a.bots and bots["actions"] > 0,
        "every act answered": not bots["acts_unanswered"] and bots["timeouts"] == 0,
        "no bot closed or reconnecting": not bots["closes"] and bots["reconnects"] == 0
        and bots["connect_failures"] == 0 and bots["gaps"] == 0,
        "no bot got an error": not set(bots["errors"]) - allowed_errors,
        "every lazy client dropped with 4000": lazy["dropped_4000"] == a.lazy
        and set(lazy["close_codes"]) <= {"4000", "None"},
        f"server memory grew under {a.rss_growth_mib:g} MiB while playing":
            srv["rss_mib_peak"] - srv["rss_mib_before_play"] < a.rss_growth_mib,
        f"action round trip p99 under {a.p99_ms:g} ms":
            lat["p99"] is not None and lat["p99"] < a.p99_ms,
        "the server stopped cleanly": srv["exit"] == 0 and srv["tracebacks"] == 0,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=int, default=2000, help="idle sockets (each said hello)")
    ap.add_argument("--lazy", type=int, default=50, help="clients that never read")
    ap.add_argument("--bots", type=int, default=60, help="bots playing, six to a table")
    ap.add_argument("--think", type=float, default=0.2, help="bots' mean thinking seconds")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    ap.add_argument("--p99-ms", type=float, default=TARGET_P99_MS,
                    help="the round trip p99 verdict's bound")
    ap.add_argument("--rss-growth-mib", type=float, default=64.0,
                    help="the memory verdict's bound: server RSS growth while playing")
    ap.add_argument("--settle", type=float, default=60.0,
                    help="seconds at most for every bot to sit, and for every lazy client "
                         "to be dropped")
    ap.add_argument("--answer-within", type=float, default=3.0,
                    help="seconds after which an act still unanswered at the end counts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ap.add_argument("server_flags", nargs="*", help="after --: flags for run_server.py")
    a = ap.parse_args(argv)
    random.seed(a.seed)
    out = soak(a)
    text = orjson.dumps(out, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if a.json:
        Path(a.json).write_text(text)
    return 0 if all(out["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
