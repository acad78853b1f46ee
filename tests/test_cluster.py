"""A cluster on loopback: Debian's redis-server (AOF, fsync always), shards of the real
server, and HAProxy routing by table id (docs/scaling.md). kill -9 of a shard at each
point of a transfer, and of Redis, keeps the cluster's chips whole.

Outside CI a missing redis-server or haproxy skips these tests with the reason; with
CI=true they fail (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest
import redis

import run_cluster
from server import cluster
from tests.test_server_helpers import (connect, get_json, post_json, run_bots, sit,
                                       start_server)

IN_CI = os.environ.get("CI", "").lower() == "true"
missing = [tool for tool in ("redis-server", "redis-cli", "haproxy") if not shutil.which(tool)]
if missing:
    reason = f"{', '.join(missing)} not installed (apt-get install redis-server haproxy)"
    if IN_CI:
        raise RuntimeError(f"cluster tests cannot run in CI: {reason}")
    pytest.skip(reason, allow_module_level=True)

WAIT = 20.0     # seconds any one condition may take on a busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(condition, what: str, timeout: float = WAIT):
    """Poll ``condition()`` until it returns something true; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = condition()
        except (OSError, redis.RedisError):
            got = None
        if got:
            return got
        time.sleep(0.05)
    got = condition()
    raise AssertionError(f"not within {timeout}s: {what} (last: {got!r})")


class Cluster:
    """Redis, shards and HAProxy as processes this test owns."""

    def __init__(self, folder: str, shards: int):
        self.folder = folder
        self.redis_port = free_port()
        self.redis_proc = None
        self.start_redis()
        self.r = redis.Redis(port=self.redis_port, decode_responses=True)
        self.ports = {n: free_port() for n in range(1, shards + 1)}
        self.shards = {n: self.start_shard(n) for n in self.ports}
        self.port = free_port()
        self.haproxy = run_cluster.start_haproxy(folder, self.port, self.ports)
        run_cluster.wait_for("haproxy", lambda: run_cluster.healthy(self.port), self.haproxy)

    def start_redis(self) -> None:
        self.redis_proc = run_cluster.start_redis(os.path.join(self.folder, "redis"),
                                                  self.redis_port)
        run_cluster.wait_for("redis", lambda: run_cluster.redis_up(self.redis_port),
                             self.redis_proc)

    def start_shard(self, n: int, crash_at: str | None = None):
        data = os.path.join(self.folder, f"shard-{n}")
        os.makedirs(data, mode=0o700, exist_ok=True)
        return start_server(self.folder, "--port", str(self.ports[n]), "--shard", str(n),
                            "--redis", f"redis://127.0.0.1:{self.redis_port}/0",
                            "--snapshot-dir", data, "--journal", "always", "--hand-pause", "0.2",
                            "--trusted-proxies", "127.0.0.1",
                            env={"POKER_CRASH_AT": crash_at} if crash_at else None)

    def kill9(self, n: int) -> None:
        proc = self.shards[n].proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def restart(self, n: int, crash_at: str | None = None) -> None:
        self.kill9(n)
        self.shards[n] = self.start_shard(n, crash_at)

    def via(self, query: str) -> SimpleNamespace:
        """What ``connect`` needs to open a socket through HAProxy."""
        return SimpleNamespace(ws_url=f"ws://127.0.0.1:{self.port}/ws?{query}")

    def shard_books(self) -> list[dict]:
        return [get_json(self.shards[n].url + "/api/shard") for n in sorted(self.shards)]

    def audit(self) -> dict:
        return cluster.audit(self.r, self.shard_books())

    def settled(self) -> dict:
        """The audit once no transfer is pending anywhere."""
        until(lambda: not any(s["pending"] for s in self.shard_books()), "transfers settled")
        return self.audit()

    def stop(self) -> None:
        for server in self.shards.values():
            server.stop()
        for proc in (self.haproxy, self.redis_proc):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("cluster")), shards=2)
    yield c
    c.stop()


def wallet(cl: Cluster, player: str) -> int:
    return int(cl.r.hget(cluster.WALLET, player))


def test_haproxy_sends_a_table_to_its_shard_and_refuses_an_unknown_shard(cl):
    hands = get_json(f"http://127.0.0.1:{cl.port}/api/tables/t2-1/hands")
    assert hands["table"] == "t2-1"
    c = connect(cl.via("table=t9-1"), "nowhere")
    reply = c.request({"type": "watch", "table": "t9-1"})
    assert reply["type"] == "error" and reply["code"] == "no_table"
    assert "no shard 9" in reply["message"], reply
    c.close()
    c = connect(cl.via("shard=2"), "misrouted")
    reply = c.request({"type": "watch", "table": "t1-1"})
    assert reply["code"] == "no_table" and "/ws?shard=1" in reply["message"], reply
    assert c.request({"type": "watch", "table": "t2-1"})["type"] == "table"
    c.close()


def test_a_player_on_two_shards_plays_and_the_wallet_adds_up(cl):
    ann = connect(cl.via("shard=1"), "ann")
    start = ann.bankroll
    bob = connect(cl.via("shard=1"), "bob")
    for c in (ann, bob):
        c.request({"type": "watch", "table": "t1-2"}, "table")
    sit(ann, "t1-2", 0, 150)     # answered once the wallet granted it, its balance first
    sit(bob, "t1-2", 1, 150)
    assert ann.bankroll == start - 150
    ann2 = connect(cl.via("shard=2"), token=ann.token)      # the same player, shard 2
    assert ann2.player == ann.player and ann2.bankroll == start - 150
    sit(ann2, "t2-2", 0, 200)
    assert ann2.bankroll == start - 350
    hands = lambda: get_json(cl.shards[1].url + "/api/tables")["tables"]  # noqa: E731
    played = next(t["hands"] for t in hands() if t["id"] == "t1-2")
    run_bots([ann, bob], lambda: next(t["hands"] for t in hands() if t["id"] == "t1-2")
             >= played + 3, timeout=60)
    for c, table in ((ann, "t1-2"), (bob, "t1-2"), (ann2, "t2-2")):
        c.send({"type": "leave", "table": table})
    # Everything ann and bob bought in with comes back to their wallets (once the hand
    # a leaver folded is over).
    until(lambda: wallet(cl, ann.player) + wallet(cl, bob.player) == 2 * start,
          "every chip back in the wallets")
    books = cl.settled()
    assert books["ok"] and not books["audited_twice"], books
    for c in (ann, bob, ann2):
        c.close()


def test_a_buy_in_above_the_wallet_is_refused_and_changes_nothing(cl):
    c = connect(cl.via("shard=2"), "poor")
    cl.r.hset(cluster.WALLET, c.player, 30)      # spent elsewhere, say
    cl.r.incrby(cluster.ISSUED, 30 - c.bankroll)
    reply = c.request({"type": "sit", "table": "t2-1", "seat": 3, "buy_in": 100})
    assert reply["type"] == "error" and reply["code"] == "buy_in"
    assert "your bankroll is 30" in reply["message"]
    assert wallet(cl, c.player) == 30
    assert cl.settled()["ok"]
    c.close()


@pytest.mark.parametrize("point", ["after_pending", "after_wallet", "after_done"])
def test_kill_9_of_a_shard_in_a_buy_in_or_a_cash_out_loses_no_chip(cl, point):
    # A buy-in that dies at `point`: after the restart the player sits with the chips.
    cl.restart(1, crash_at=f"{point}:debit")
    c = connect(cl.via("shard=1"), f"crash {point[6:]}")
    start = c.bankroll
    table = "t1-3"
    seat = next(i for i, s in enumerate(c.request({"type": "watch", "table": table},
                                                  "table")["view"]["seats"]) if s is None)
    c.send({"type": "sit", "table": table, "seat": seat, "buy_in": 300})
    cl.shards[1].proc.wait(timeout=WAIT)     # killed at the point
    cl.shards[1] = cl.start_shard(1)
    books = cl.settled()
    assert books["ok"] and not books["audited_twice"], books
    again = connect(cl.via("shard=1"), token=c.token)
    assert again.request({"type": "watch", "table": table}, "table")["you"] == seat
    assert wallet(cl, c.player) == start - 300
    # A cash-out that dies at `point`: the stack reaches the wallet exactly once.
    cl.restart(1, crash_at=f"{point}:credit")
    again = connect(cl.via("shard=1"), token=c.token)
    stack = again.request({"type": "watch", "table": table},
                          "table")["view"]["seats"][seat]["stack"]
    again.send({"type": "leave", "table": table})
    cl.shards[1].proc.wait(timeout=WAIT)
    cl.shards[1] = cl.start_shard(1)
    books = cl.settled()
    assert books["ok"] and not books["audited_twice"], books
    assert wallet(cl, c.player) == start - 300 + stack
    ids = [f["id"] for _, f in cl.r.xrange(cluster.AUDIT) if f.get("kind") == "transfer"]
    assert len(ids) == len(set(ids))


def test_kill_9_of_redis_keeps_every_acknowledged_transfer(cl):
    c = connect(cl.via("shard=2"), "redis crash")
    start = c.bankroll
    c.request({"type": "watch", "table": "t2-3"}, "table")
    sit(c, "t2-3", 4, 500)
    assert c.bankroll == start - 500
    cl.redis_proc.send_signal(signal.SIGKILL)
    cl.redis_proc.wait(timeout=10)
    c.send({"type": "leave", "table": "t2-3"})     # the shard retries until Redis is back
    c.expect_event("left", timeout=WAIT)
    assert any(s["pending"] for s in cl.shard_books())
    cl.start_redis()
    books = cl.settled()
    assert books["ok"] and not books["audited_twice"], books
    assert wallet(cl, c.player) == start
    c.close()


def test_other_shards_play_on_while_one_is_down_and_the_lobby_says_so(cl):
    lobby = f"http://127.0.0.1:{cl.port}/api/tables"
    cl.kill9(2)
    until(lambda: all(not t["available"] for t in get_json(lobby)["tables"]
                      if t["shard"] == 2), "shard 2's tables shown unavailable")
    a, b = connect(cl.via("shard=1"), "still1"), connect(cl.via("shard=1"), "still2")
    table = post_json(f"http://127.0.0.1:{cl.port}/api/tables?shard=1",
                      {"name": "while down", "seats": 2, "small_blind": 1, "big_blind": 2})[1]
    assert table["id"].startswith("t1-"), table
    for c in (a, b):
        c.request({"type": "watch", "table": table["id"]}, "table")
    sit(a, table["id"], 0, 100)
    sit(b, table["id"], 1, 100)
    a.expect_event("hand_started", timeout=WAIT)
    cl.shards[2] = cl.start_shard(2)
    until(lambda: all(t["available"] for t in get_json(lobby)["tables"]),
          "every table available again")
    for c in (a, b):
        c.close()


def test_a_new_table_goes_to_the_least_loaded_live_shard(cl):
    def counts(seen_by: int) -> tuple[int, int]:
        rows = get_json(cl.shards[seen_by].url + "/api/tables")["tables"]
        return tuple(sum(1 for t in rows if t["shard"] == n and t["available"]) for n in (1, 2))
    until(lambda: all(all(counts(n)) for n in (1, 2)), "each shard sees the other's tables")
    while counts(1)[0] <= counts(1)[1]:      # make shard 1 the busier one
        status, _ = post_json(cl.shards[1].url + "/api/tables?shard=1",
                              {"name": "filler", "seats": 2, "small_blind": 1, "big_blind": 2})
        assert status == 201
    want = counts(1)
    until(lambda: counts(2) == want, f"both shards see the same lobby: {want}")
    status, answer = post_json(f"http://127.0.0.1:{cl.port}/api/tables",
                               {"name": "placed", "seats": 6, "small_blind": 1, "big_blind": 2})
    if status == 307:       # shard 1 answered: go to shard 2
        assert answer["shard"] == 2, answer
        status, answer = post_json(f"http://127.0.0.1:{cl.port}/api/tables?shard=2",
                                   {"name": "placed", "seats": 6, "small_blind": 1,
                                    "big_blind": 2})
    assert status == 201 and answer["id"].startswith("t2-"), (status, answer)


def test_a_sit_and_go_on_a_shard_takes_and_pays_through_the_wallet(cl):
    ann, bob = connect(cl.via("shard=1"), "sng ann"), connect(cl.via("shard=1"), "sng bob")
    start = ann.bankroll
    made = ann.request({"type": "create_tournament", "name": "HU on shard 1", "seats": 2,
                        "buy_in": 100, "starting_stack": 100, "levels": [[25, 50, 0]],
                        "seconds": 600}, "tournament")
    tid = made["id"]
    assert tid.startswith("T1-"), made
    other = connect(cl.via("shard=2"), "sng elsewhere")
    # Shard 2's lobby lists it (from shard 1's heartbeat), and says where it is.
    until(lambda: any(t["id"] == tid for t in other.request(
        {"type": "tournaments"}, "tournaments")["tournaments"]), "shard 2 lists the tournament")
    refused = other.request({"type": "register", "tournament": tid})
    assert refused["code"] == "no_tournament" and "/ws?shard=1" in refused["message"]
    for c in (ann, bob):         # answered once the wallet paid the buy-in
        assert c.request({"type": "register", "tournament": tid}, "tournament")["id"] == tid
    assert wallet(cl, ann.player) == start - 100
    # Heads-up, 100 chips and blinds of 25/50: everyone all in until one is left.
    deadline = time.monotonic() + WAIT * 3
    finished = None
    while finished is None and time.monotonic() < deadline:
        for c in (ann, bob):
            try:
                msg = c.recv(0.05)
            except Exception:  # noqa: BLE001 - a timeout: the other one's turn
                continue
            if msg["type"] == "tournament_table":
                c.send({"type": "watch", "table": msg["table"]})
            elif msg["type"] == "turn":
                actions = msg["legal"]["actions"]
                act = "all_in" if "all_in" in actions else "call" if "call" in actions else "check"
                c.send({"type": "act", "table": msg["table"], "action": act})
            elif msg["type"] == "tournament" and msg["status"] == "finished":
                finished = msg
    assert finished is not None, "the sit-and-go did not finish"
    until(lambda: wallet(cl, ann.player) + wallet(cl, bob.player) == 2 * start,
          "the prize paid into the winner's wallet")
    books = cl.settled()
    assert books["ok"] and not books["audited_twice"], books
    for c in (ann, bob, other):
        c.close()
