"""Cluster benchmark: bots flat out against 1, 2 and 4 shards behind HAProxy, and one
process alone, in one run (docs/scaling.md, docs/benchmarks.md).

    .venv/bin/python bench/cluster.py [--shards 1,2,4] [--bots 240] [--duration 20]
        [--warmup 5] [--json FILE]

This process is the load generator (``client.bots`` as greenlets, one core's worth at
most); each part starts its own Redis (append-only file, fsync always), shards
(``run_server.py --shard N --journal always``) and HAProxy from ``run_cluster.py``, on
fresh folders, and stops them after. The reference is one ``run_server.py`` with the
same durability (``--journal always``) and no HAProxy or Redis. Six bots to a table,
tables made through HAProxy (each on the least-loaded shard), no thinking: the figures
are the capacity of this machine, where the shards, HAProxy, Redis and the bots share
its cores. Every loop is bounded in count and time and talks only to 127.0.0.1.

Reported per part: actions/s and hands/s, action round trip p50/p99, and CPU seconds
per 1,000 actions of the shards together, HAProxy, Redis and the bots, with the share
of all the server side's CPU that HAProxy and Redis take.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import orjson  # noqa: E402

import run_cluster  # noqa: E402
from _measure import CpuMeter, machine_busy_seconds  # noqa: E402
from client.bots.run import create_tables, run_bots  # noqa: E402
from load import SERVER_FLAGS, Server, free_port, raise_fd_limit  # noqa: E402
from server.cluster import HEARTBEAT  # noqa: E402

SEATS = 6


def wait_healthy(port: int, proc) -> None:
    run_cluster.wait_for(f"server on {port}", lambda: run_cluster.healthy(port), proc)


def start_part(folder: str, shards: int) -> tuple[str, dict]:
    """A cluster of ``shards`` (0: one process alone); returns its WebSocket URL and
    its processes by role."""
    if shards == 0:
        data = os.path.join(folder, "alone")
        os.makedirs(data, mode=0o700)
        alone = Server("--snapshot-dir", data, "--journal", "always")   # bench/load.py's
        return alone.url, {"shards": [alone.proc]}
    redis_port = free_port()
    redis = run_cluster.start_redis(os.path.join(folder, "redis"), redis_port)
    run_cluster.wait_for("redis", lambda: run_cluster.redis_up(redis_port), redis)
    ports = {n: free_port() for n in range(1, shards + 1)}
    procs = [run_cluster.start_shard(folder, n, p, redis_port, SERVER_FLAGS)
             for n, p in ports.items()]
    for (n, p), proc in zip(ports.items(), procs):
        wait_healthy(p, proc)
    port = free_port()
    haproxy = run_cluster.start_haproxy(folder, port, ports)
    wait_healthy(port, haproxy)
    time.sleep(2 * HEARTBEAT)     # every shard has seen the others' (least-loaded placement)
    return f"ws://127.0.0.1:{port}/ws", {"shards": procs, "haproxy": [haproxy],
                                         "redis": [redis]}


def stop_part(procs: dict) -> None:
    for role in ("haproxy", "shards", "redis"):
        for p in procs.get(role, []):
            if p.poll() is None:
                p.terminate()
        for p in procs.get(role, []):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def part(shards: int, bots: int, duration: float, warmup: float) -> dict:
    folder = tempfile.mkdtemp(prefix=f"bench-cluster-{shards}-")
    url, procs = start_part(folder, shards)
    try:
        tables = create_tables(url, -(-bots // SEATS), seats=SEATS, prefix="Bench")
        meters = {}

        def window(phase):
            if phase == "start":
                meters.update({role: [CpuMeter(p.pid).start() for p in ps]
                               for role, ps in procs.items()})
                meters["bots"] = [CpuMeter(os.getpid()).start()]
                meters["busy"] = machine_busy_seconds()
            else:
                for role, ms in meters.items():
                    if role != "busy":
                        for m in ms:
                            m.stop()
                meters["busy"] = machine_busy_seconds() - meters["busy"]

        report = run_bots(url, tables, bots, "mix", duration=duration, warmup=warmup,
                          think=0.0, seed=shards, on_window=window, ramp_per_s=300)
    finally:
        stop_part(procs)
    actions = max(1, report["actions"])
    cpu = {role: sum(m.cpu for m in ms) for role, ms in meters.items() if role != "busy"}
    server_side = cpu["shards"] + cpu.get("haproxy", 0) + cpu.get("redis", 0)
    return {
        "shards": shards or "one process",
        "tables": len(tables),
        "actions_per_s": report["actions_per_s"], "hands_per_s": report["hands_per_s"],
        "latency_ms": report["latency_ms"], "errors": report["errors"],
        "cpu_s_per_1000_actions": {role: round(1000 * v / actions, 3) for role, v in cpu.items()},
        "haproxy_redis_share_pct": round(100 * (server_side - cpu["shards"]) / server_side, 1)
        if server_side else None,
        "machine_busy_pct": round(100 * meters["busy"] / (os.cpu_count() * duration), 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--bots", type=int, default=240)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    raise_fd_limit(4 * args.bots + 1000)
    results = []
    for shards in [0, *(int(s) for s in args.shards.split(","))]:
        r = part(shards, args.bots, args.duration, args.warmup)
        results.append(r)
        cpu = r["cpu_s_per_1000_actions"]
        print(f"{str(r['shards']):>12}: {r['actions_per_s']:8.1f} actions/s "
              f"{r['hands_per_s']:6.1f} hands/s  p50/p99 {r['latency_ms'].get('p50')}/"
              f"{r['latency_ms'].get('p99')} ms  CPU s per 1,000 actions: "
              + ", ".join(f"{k} {v}" for k, v in cpu.items())
              + (f"  HAProxy+Redis {r['haproxy_redis_share_pct']} % of the server side"
                 if r["haproxy_redis_share_pct"] is not None else "")
              + f"  machine busy {r['machine_busy_pct']} %", flush=True)
    alone = results[0]["actions_per_s"]
    for r in results[1:]:
        print(f"{r['shards']} shard(s): {r['actions_per_s'] / alone:.2f}x one process")
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
