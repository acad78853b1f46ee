"""A local cluster in one command: Redis, N shards and HAProxy on 127.0.0.1 (``make cluster``).

``python run_cluster.py --shards 4`` starts Debian's ``redis-server`` (append-only file,
fsynced at every write), ``run_server.py --shard N`` for each shard, and ``haproxy``
routing by the shard a table id names (docs/scaling.md), each with its folder under
``./cluster/``; prints the URL; and stops everything it started on Ctrl-C (or SIGTERM).
Started again on the same folder, the shards recover their tables from their images and
journals and Redis its wallet from its append-only file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.abspath(__file__))


def haproxy_config(port: int, shards: dict[int, int], host: str = "127.0.0.1") -> str:
    """HAProxy's configuration: a table's requests (``/ws?table=t3-17``,
    ``/ws?shard=3``, ``/api/tables/t3-17/...``, ``/api/tables?shard=3``) go to its shard,
    with no failover (a dead shard's tables are unavailable until it is back: no other
    shard has their state); everything else (the page, the lobby) to any live shard.

    >>> cfg = haproxy_config(8080, {1: 8101, 2: 8102})
    >>> [line.strip() for line in cfg.splitlines() if "2" in line and "acl" in line]
    ['acl to_2 url_param(shard) -m str 2', 'acl to_2 url_param(table) -m beg t2-', 'acl to_2 path_beg /api/tables/t2-']
    """
    front = [f"    bind {host}:{port}"]
    backs = []
    for n, shard_port in sorted(shards.items()):
        front += [f"    acl to_{n} url_param(shard) -m str {n}",
                  f"    acl to_{n} url_param(table) -m beg t{n}-",
                  f"    acl to_{n} path_beg /api/tables/t{n}-",
                  f"    use_backend shard{n} if to_{n}"]
        backs += [f"backend shard{n}", f"    server s{n} {host}:{shard_port}", ""]
    front.append("    default_backend any")
    anyone = ["backend any", "    balance roundrobin", "    option httpchk GET /healthz"]
    anyone += [f"    server s{n} {host}:{p} check inter 1s fall 2 rise 1"
               for n, p in sorted(shards.items())]
    return "\n".join([
        "global", "    maxconn 8000", "",
        "defaults", "    mode http", "    option forwardfor", "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s", "    timeout tunnel 1h", "    timeout http-request 10s", "",
        "frontend poker", *front, "", *backs, *anyone, ""])


def wait_for(what: str, ready, proc: subprocess.Popen | None, seconds: float = 30.0) -> None:
    """Poll ``ready()`` until true; fail if ``proc`` dies or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"cluster: {what} exited with {proc.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"cluster: {what} did not come up within {seconds:.0f} s")


def healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return r.status == 200


def redis_up(port: int) -> bool:
    out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
    return out.stdout.strip() == "PONG"


def start_redis(folder: str, port: int) -> subprocess.Popen:
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
         "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
        stdout=open(os.path.join(folder, "redis.log"), "ab"), stderr=subprocess.STDOUT)


def start_shard(folder: str, n: int, port: int, redis_port: int, extra=()) -> subprocess.Popen:
    data = os.path.join(folder, f"shard-{n}")
    os.makedirs(data, mode=0o700, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "run_server.py"), "--host", "127.0.0.1",
         "--port", str(port), "--shard", str(n), "--redis", f"redis://127.0.0.1:{redis_port}/0",
         "--snapshot-dir", data, "--journal", "always", "--trusted-proxies", "127.0.0.1",
         *extra],
        stdout=open(os.path.join(folder, f"shard-{n}.log"), "ab"), stderr=subprocess.STDOUT)


def start_haproxy(folder: str, port: int, shards: dict[int, int]) -> subprocess.Popen:
    path = os.path.join(folder, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(haproxy_config(port, shards))
    return subprocess.Popen(["haproxy", "-db", "-f", path],
                            stdout=open(os.path.join(folder, "haproxy.log"), "ab"),
                            stderr=subprocess.STDOUT)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--port", type=int, default=8080, help="HAProxy's port (the URL)")
    ap.add_argument("--shard-port", type=int, default=8100,
                    help="shard N listens on this plus N")
    ap.add_argument("--redis-port", type=int, default=6380)
    ap.add_argument("--dir", default="cluster", help="the folders of Redis and the shards")
    args, extra = ap.parse_known_args(argv)    # the rest goes to every shard
    missing = [tool for tool in ("redis-server", "redis-cli", "haproxy") if not shutil.which(tool)]
    if missing:
        print(f"cluster: {', '.join(missing)} missing: apt-get install redis-server haproxy",
              file=sys.stderr)
        return 2
    folder = os.path.abspath(args.dir)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    procs: list[subprocess.Popen] = []

    def stop(*_):
        for p in reversed(procs):       # HAProxy, the shards, then Redis
            if p.poll() is None:
                p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        procs.append(start_redis(os.path.join(folder, "redis"), args.redis_port))
        wait_for("redis-server", lambda: redis_up(args.redis_port), procs[-1])
        shards = {n: args.shard_port + n for n in range(1, args.shards + 1)}
        for n, port in shards.items():
            procs.append(start_shard(folder, n, port, args.redis_port, extra))
        for (n, port), proc in zip(shards.items(), procs[1:]):
            wait_for(f"shard {n}", lambda port=port: healthy(port), proc)
        procs.append(start_haproxy(folder, args.port, shards))
        wait_for("haproxy", lambda: healthy(args.port), procs[-1])
        print(f"cluster of {args.shards} shard(s) on http://127.0.0.1:{args.port}/ "
              f"(Redis on {args.redis_port}, folders in {folder}); Ctrl-C stops it", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = [p.args[0] for p in procs if p.poll() is not None]
        print(f"cluster: {dead} exited; stopping the rest", file=sys.stderr)
        stop()
    except KeyboardInterrupt:
        stop()
    except SystemExit:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
