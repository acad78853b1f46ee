"""Load benchmark: bots play against a real server subprocess on 127.0.0.1.

    .venv/bin/python bench/load.py [--conns 100,1000] [--duration 20] [--warmup 6]
        [--think 0.5] [--idle 1000,5000] [--tables 150] [--profile 10] [--json FILE]
    .venv/bin/python bench/load.py --quick        # a smaller, shorter run (about a minute)

This process is the load generator (bots as greenlets, ``client.bots``); the
server is ``run_server.py`` in a subprocess, fresh for every part. The machine
has two cores that both share, so besides wall-clock rates every part reports
the server's CPU time (``/proc/<pid>/stat``) per unit of work, and compares it
with the same figure for a bare echo over the same gevent-websocket stack
(``bench/echo_baseline.py``) measured in the same run.

Parts:

1. **echo baseline**: server CPU µs per WebSocket round trip.
2. **load**, for each ``--conns``: that many bots, six to a table, in two
   windows of ``--duration`` s after ``--warmup`` s:
   *paced* (each bot thinks ``uniform(0, 2 * --think)`` s per action, a
   realistic load) and *flat out* (no thinking: the server's capacity).
   Figures: actions/s, hands/s, action round trip p50/p99/max (``act`` sent to
   its ``event`` back), server CPU µs per action (everything an action costs:
   parsing, rules, events to everyone at the table, clocks, hand starts) and
   its ratio to the echo round trip.
3. **memory**: server RSS (``VmRSS``) with ``--idle`` idle connections (each
   said ``hello``) and with ``--tables`` empty tables.
4. **profile**: ``py-spy record`` of the server for ``--profile`` s under the
   flat-out load of the largest ``--conns`` (skipped without py-spy); the
   functions with the most samples, on top of the stack and anywhere in it.

Every loop is bounded in count and time and talks only to 127.0.0.1.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import orjson  # noqa: E402

import echo_baseline  # noqa: E402
from _measure import CpuMeter, machine_busy_seconds, rss_kib  # noqa: E402
from client.bots import wire  # noqa: E402
from client.bots.run import create_tables, run_bots  # noqa: E402

SEATS = 6
SERVER_FLAGS = ["--hand-pause", "0.1", "--no-default-tables", "--log-level", "WARNING",
                "--max-tables", "2000"]


# ---------------------------------------------------------------------------
# The server


def raise_fd_limit(need: int) -> None:
    """Raise RLIMIT_NOFILE to ``need`` (up to the hard limit): 5,000 sockets need it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``run_server.py`` on a free loopback port, for one part of the benchmark."""

    def __init__(self, *flags: str):
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_server.py"), "--port", str(self.port),
             *SERVER_FLAGS, *flags],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)   # inherits our fd limit
        self.pid = self.proc.pid
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the server did not start: "
                                       + self.proc.stderr.read().decode()[-2000:])
                gevent.sleep(0.1)

    def rss_mib(self) -> float:
        return rss_kib(self.pid) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# Parts


def echo(duration: float) -> dict:
    """The echo baseline (100 connections), as bench/echo_baseline.py measures it."""
    result = echo_baseline.run_config(True, connections=100, messages=100_000,
                                      duration=duration, size=200)
    return {"us_per_rt": result["server_cpu_us_per_rt"], "rt_per_s": result["rt_per_s"],
            "p99_ms": result["p99_ms"], "others_cpu_pct": result["others_cpu_pct"]}


def fanout(duration: float) -> dict:
    """The same stack sending each message to a table of six (``--fanout 6``): the
    least any server on it can spend on one action that six players must see."""
    result = echo_baseline.run_config(True, fanout=SEATS, connections=600, messages=100_000,
                                      duration=duration, size=200)
    return {"us_per_message": result["server_cpu_us_per_rt"], "rt_per_s": result["rt_per_s"],
            "others_cpu_pct": result["others_cpu_pct"]}


def load(conns: int, duration: float, warmup: float, think: float, echo_us: float,
         fanout_us: float, profile_s: float = 0.0) -> dict:
    """Bots on a fresh server: a paced window and a flat-out window (and a profile)."""
    out = {"conns": conns}
    with Server() as server:
        tables = create_tables(server.url, -(-conns // SEATS), seats=SEATS, prefix="Load")
        for mode, mode_think in (("paced", think), ("flat_out", 0.0)):
            meters = {}

            def window(phase, meters=meters):
                if phase == "start":
                    meters["server"] = CpuMeter(server.pid).start()
                    meters["client"] = CpuMeter(os.getpid()).start()
                    meters["busy"] = machine_busy_seconds()
                else:
                    meters["server"].stop()
                    meters["client"].stop()
                    meters["busy"] = machine_busy_seconds() - meters["busy"]

            report = run_bots(server.url, tables, conns, "mix", duration=duration,
                              warmup=warmup, think=mode_think, seed=conns, on_window=window,
                              ramp_per_s=400)
            srv, cli = meters["server"], meters["client"]
            others = max(0.0, meters["busy"] - srv.cpu - cli.cpu)
            per_action = srv.per(report["actions"])
            out[mode] = {
                "think_s": mode_think,
                "connected": report["connected"],
                "actions_per_s": report["actions_per_s"],
                "messages_per_action": report["messages_per_action"],
                "hands_per_s": report["hands_per_s"],
                "latency_ms": report["latency_ms"],
                "errors": report["errors"],
                "server_cpu_us_per_action": round(per_action, 1),
                "ratio_to_echo": round(per_action / echo_us, 2),
                "ratio_to_fanout": round(per_action / fanout_us, 2),
                # what one message the server sends costs, everything included
                "server_cpu_us_per_message": round(per_action / report["messages_per_action"], 1)
                if report["messages_per_action"] else None,
                "server_cpu_pct": round(100 * srv.cpu / srv.wall, 1),
                "load_cpu_pct": round(100 * cli.cpu / cli.wall, 1),
                "others_cpu_pct": round(100 * others / srv.wall, 1),
            }
        if profile_s:
            out["profile"] = profile(server, tables, conns, profile_s)
        out["rss_mib_after"] = round(server.rss_mib(), 1)
    return out


def _idle_connection(url: str, sockets: list) -> None:
    ws = wire.connect(url, timeout=30)
    wire.send(ws, {"type": "hello", "protocol": 2, "name": "idle"})
    ws.settimeout(30)
    welcome = wire.read(ws)
    if type(welcome) is tuple or welcome.get("type") != "welcome":
        raise RuntimeError(f"no welcome: {welcome}")
    sockets.append(ws)


def memory(idle_counts: list[int], tables: int) -> dict:
    """Server RSS with empty tables, then with idle connections (each said hello)."""
    out = {}
    with Server() as server:
        gevent.sleep(1.0)
        base = server.rss_mib()
        out["rss_mib_empty"] = round(base, 1)
        create_tables(server.url, tables, seats=SEATS, prefix="Empty")
        gevent.sleep(0.5)
        after = server.rss_mib()
        idle = CpuMeter(server.pid).start()     # what the clock costs with nobody playing
        gevent.sleep(3.0)
        idle.stop()
        out["tables"] = {"tables": tables, "rss_mib": round(after, 1),
                         "kib_per_empty_table": round((after - base) * 1024 / tables, 1),
                         "idle_cpu_pct": round(100 * idle.cpu / idle.wall, 1)}
        base = after
        sockets: list = []
        pool = gevent.pool.Pool(100)            # connects in flight at once
        try:
            for count in sorted(idle_counts):
                for _ in range(count - len(sockets)):
                    pool.spawn(_idle_connection, server.url, sockets)
                pool.join(timeout=120, raise_error=True)
                gevent.sleep(1.0)
                rss = server.rss_mib()
                out[f"idle_{count}"] = {
                    "connections": len(sockets), "rss_mib": round(rss, 1),
                    "kib_per_connection": round((rss - base) * 1024 / max(1, len(sockets)), 1)}
        finally:
            for ws in sockets:
                ws.shutdown()
    return out


def profile(server: Server, tables: list[str], conns: int, seconds: float) -> dict:
    """py-spy samples of the server under flat-out bots: the top functions."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    raw = Path(tempfile.mkstemp(prefix="load-profile-", suffix=".txt")[1])
    record = []

    def window(phase):      # sample the steady state only: not the connects and sits
        if phase == "start":
            record.append(gevent.spawn(lambda: subprocess.run(
                [spy, "record", "-p", str(server.pid), "-d", str(int(seconds)), "-r", "200",
                 "--format", "raw", "-o", str(raw), "--function"],
                capture_output=True, text=True, timeout=seconds + 60)))

    run_bots(server.url, tables, conns, "mix", duration=seconds + 1, warmup=4, think=0.0,
             seed=conns + 1, ramp_per_s=400, on_window=window)
    done = record[0].get()
    if done.returncode != 0 or not raw.stat().st_size:
        return {"skipped": f"py-spy failed: {done.stderr.strip()[-500:]}"}
    result = summarize_profile(raw.read_text())
    result["raw_file"] = str(raw)
    return result


def summarize_profile(text: str, top: int = 20) -> dict:
    """Top functions of py-spy's raw (collapsed) stacks.

    ``self``: on top of the stack (where the CPU is spent); ``project``: the
    project's own functions (``server/``, ``game/``, ``persistence/``) anywhere
    in the stack, i.e. with everything they call.

    >>> s = summarize_profile("a (server/x.py:1);b (gevent/y.py:2) 3\\na (server/x.py:1) 1\\n")
    >>> s["samples"], s["self"][0], s["project"][0]
    (4, ['b (gevent/y.py:2)', 75.0], ['a (server/x.py:1)', 100.0])
    """
    own, mine, samples = collections.Counter(), collections.Counter(), 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            if "(server/" in frame or "(game/" in frame or "(persistence/" in frame:
                mine[frame] += n
    pct = lambda c: [[f, round(100 * n / samples, 1)] for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": samples, "self": pct(own), "project": pct(mine)}


# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", default="100,1000", help="bot connections per load run")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per measured window")
    ap.add_argument("--warmup", type=float, default=6.0, help="seconds before each window")
    ap.add_argument("--think", type=float, default=0.5,
                    help="paced window: mean thinking seconds per action")
    ap.add_argument("--idle", default="1000,5000",
                    help="idle connection counts for memory ('' with --tables 0: skip memory)")
    ap.add_argument("--tables", type=int, default=1000, help="empty tables for memory")
    ap.add_argument("--profile", type=float, default=10.0,
                    help="seconds of py-spy under the largest load (0: none)")
    ap.add_argument("--echo-seconds", type=float, default=8.0)
    ap.add_argument("--quick", action="store_true",
                    help="--conns 100,300 --duration 8 --warmup 4 --idle 500 --tables 200 --profile 5")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    a = ap.parse_args(argv)
    if a.quick:
        a.conns, a.duration, a.warmup, a.idle, a.tables, a.profile, a.echo_seconds = (
            "100,300", 8.0, 4.0, "500", 200, 5.0, 4.0)
    conns = [int(c) for c in a.conns.split(",") if c]
    idle = [int(c) for c in a.idle.split(",") if c]
    raise_fd_limit(max([*idle, *conns]) * 2 + 1000)

    results = {"machine_cpus": os.cpu_count()}
    print(f"echo baseline ({a.echo_seconds:g} s, 100 connections) ...", file=sys.stderr)
    results["echo"] = echo(a.echo_seconds)
    echo_us = results["echo"]["us_per_rt"]
    print(f"echo: {echo_us:.1f} µs server CPU per round trip "
          f"({results['echo']['rt_per_s']:.0f} rt/s)")
    print(f"fan-out baseline ({a.echo_seconds:g} s, 100 tables of {SEATS}) ...", file=sys.stderr)
    results["fanout"] = fanout(a.echo_seconds)
    print(f"fan-out to {SEATS}: {results['fanout']['us_per_message']:.1f} µs server CPU per "
          f"message = {results['fanout']['us_per_message'] / echo_us:.2f}x echo")
    results["load"] = []
    for i, n in enumerate(conns):
        print(f"load: {n} bots ...", file=sys.stderr)
        last = i == len(conns) - 1
        r = load(n, a.duration, a.warmup, a.think, echo_us, results["fanout"]["us_per_message"],
                 a.profile if last else 0.0)
        results["load"].append(r)
        for mode in ("paced", "flat_out"):
            m, lat = r[mode], r[mode]["latency_ms"]
            print(f"load {n:5d} {mode:8s}: {m['actions_per_s']:7.1f} actions/s "
                  f"{m['hands_per_s']:6.1f} hands/s {m['messages_per_action']} msgs/action  p50 {lat['p50']} p99 {lat['p99']} "
                  f"max {lat['max']} ms  server {m['server_cpu_us_per_action']} µs/action "
                  f"= {m['ratio_to_echo']}x echo = {m['ratio_to_fanout']}x fan-out ({m['server_cpu_us_per_message']} µs/message)  (CPU server {m['server_cpu_pct']}% "
                  f"load {m['load_cpu_pct']}% others {m['others_cpu_pct']}%)"
                  f"{'  errors ' + str(m['errors']) if m['errors'] else ''}")
    if a.tables and idle:
        print("memory ...", file=sys.stderr)
        results["memory"] = mem = memory(idle, a.tables)
    else:
        mem = None      # --tables 0 or --idle '': no memory part
    if mem:
        print(f"memory: {mem['rss_mib_empty']} MiB at start; {mem['tables']['tables']} empty tables "
              f"{mem['tables']['rss_mib']} MiB ({mem['tables']['kib_per_empty_table']} KiB each, "
              f"idle server CPU {mem['tables']['idle_cpu_pct']}%); "
              + "; ".join(f"+{v['connections']} idle connections {v['rss_mib']} MiB "
                          f"({v['kib_per_connection']} KiB each)"
                          for k, v in mem.items() if k.startswith("idle_")))
    prof = results["load"][-1].get("profile") if results["load"] else None
    if prof:
        if "skipped" in prof:
            print(f"profile: {prof['skipped']}")
        else:
            print(f"profile ({prof['samples']} samples, raw stacks in {prof['raw_file']}):")
            print("  on top of the stack:")
            for frame, pct in prof["self"][:12]:
                print(f"    {pct:5.1f}%  {frame}")
            print("  the project's functions, with what they call:")
            for frame, pct in prof["project"][:15]:
                print(f"    {pct:5.1f}%  {frame}")
    if a.json:
        Path(a.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
