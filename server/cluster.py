"""A cluster's shared parts in Redis: players, the wallet, the lobby (docs/scaling.md).

A shard (``run_server.py --shard N --redis URL``) is today's server owning the tables
``tN-*``; what every shard shares lives in Redis, and only this module talks to it:

- **players**: a hello with a name creates the player in Redis (a global id, a name no
  other player has, a token, the starting bankroll in the wallet); a hello with a token
  is looked up there. The shard's root keeps the players it has met (bankroll 0).
- **the wallet**: every player's bankroll. Chips move between it and a shard's tables
  as transfers (:mod:`server.transfers`), applied by :data:`TRANSFER`, a Lua script
  that applies an id once (a retry gets the stored outcome) and appends an audit
  record; Redis runs with ``appendonly yes`` and ``appendfsync always``.
- **presence and the lobby**: every second a shard writes its tables' summaries and a
  heartbeat that expires; it reads the others' into :data:`server.lobby.elsewhere`.

This is the shell's (like :mod:`server.app`): I/O happens here, between steps, and the
root changes only through :mod:`server.handlers` and :mod:`server.transfers` once
Redis has answered. ``POKER_CRASH_AT`` (the kill -9 tests' fault injection:
``after_pending``, ``after_wallet`` or ``after_done``, optionally ``:debit`` or
``:credit``) kills the process with SIGKILL at that point of a transfer.
"""

from __future__ import annotations

import logging
import os
from functools import partial
import secrets
import signal

import gevent
import orjson
import redis

from server import app, handlers, lobby, play, quotas, tournaments, transfers
from server.effects import Effects, commit
from server.protocol import Hello, ProtocolError, parse
from server.root import STARTING_BANKROLL, candidate_names

log = logging.getLogger("server.cluster")

K = "poker:"
NAMES, NEXT_PLAYER, PLAYERS, TOKENS = K + "names", K + "next_player", K + "players", K + "tokens"
WALLET, ISSUED, TRANSFERS, AUDIT = K + "wallet", K + "issued", K + "transfers", K + "audit"
SHARDS = K + "shards"
HEARTBEAT = 1.0         # seconds between a shard's heartbeats
ALIVE_FOR = 3.0         # a shard whose heartbeat is older is down

# KEYS: names, next_player, players, tokens, wallet, issued, audit.
# ARGV: token, bankroll, then (name, casefolded name) pairs to try in turn.
NEW_PLAYER = """
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i + 1], '') == 1 then
    local id = 'p' .. redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], ARGV[i + 1], id)
    redis.call('HSET', KEYS[3], id, cjson.encode({name = ARGV[i], token = ARGV[1]}))
    redis.call('HSET', KEYS[4], ARGV[1], id)
    redis.call('HSET', KEYS[5], id, ARGV[2])
    redis.call('INCRBY', KEYS[6], ARGV[2])
    redis.call('XADD', KEYS[7], '*', 'kind', 'issue', 'player', id, 'amount', ARGV[2])
    return {id, ARGV[i]}
  end
end
return false
"""

# KEYS: transfers, wallet, audit. ARGV: transfer id, player, amount (what the wallet
# gains: negative for a buy-in). Once per id: a retry returns the stored outcome.
TRANSFER = """
local done = redis.call('HGET', KEYS[1], ARGV[1])
if done then return done end
local amount = tonumber(ARGV[3])
local balance = redis.call('HGET', KEYS[2], ARGV[2])
local result
if not balance then
  result = cjson.encode({ok = false, reason = 'no_player', balance = 0})
elseif tonumber(balance) + amount < 0 then
  result = cjson.encode({ok = false, reason = 'bankroll', balance = tonumber(balance)})
else
  result = cjson.encode({ok = true, balance = redis.call('HINCRBY', KEYS[2], ARGV[2], amount)})
end
redis.call('HSET', KEYS[1], ARGV[1], result)
redis.call('XADD', KEYS[3], '*', 'kind', 'transfer', 'id', ARGV[1], 'player', ARGV[2],
           'amount', ARGV[3], 'result', result)
return result
"""


class Redis:
    """The connection and the scripts (set by :func:`start`)."""

    client: redis.Redis | None = None
    new_player = None
    transfer = None


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5.0,
                                socket_connect_timeout=2.0, health_check_interval=10)


def _crash_point(name: str, amount: int) -> None:
    """``POKER_CRASH_AT=<point>`` or ``<point>:debit`` / ``<point>:credit``: SIGKILL here."""
    point, _, kind = os.environ.get("POKER_CRASH_AT", "").partition(":")
    if point == name and kind in ("", "credit" if amount > 0 else "debit"):
        log.warning("POKER_CRASH_AT=%s: killing this process", os.environ["POKER_CRASH_AT"])
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------
# Players


def identify(msg: Hello) -> handlers.Who | None:
    """The player a ``hello`` names, from Redis: a new one for a name (with the
    starting bankroll, and a name nobody has), the token's for a token (None: unknown)."""
    r = Redis.client
    if msg.name is not None:
        token = secrets.token_urlsafe(32)
        args: list = [token, STARTING_BANKROLL]
        for name in candidate_names(msg.name, 200):
            args += [name, name.casefold()]
        got = Redis.new_player(keys=[NAMES, NEXT_PLAYER, PLAYERS, TOKENS, WALLET, ISSUED,
                                     AUDIT], args=args)
        if not got:
            raise handlers.Refused("bad_message", "that name and its numbered variants are "
                                   "all taken: choose another")
        return handlers.Who(got[0], got[1], token, STARTING_BANKROLL)
    pid = r.hget(TOKENS, msg.token)
    if pid is None:
        return None
    record, balance = r.hmget(PLAYERS, pid)[0], r.hget(WALLET, pid)
    return handlers.Who(pid, orjson.loads(record)["name"], msg.token, int(balance or 0))


def hello_frame(c, raw) -> Effects:
    """A frame from a socket that has not said hello yet (``runtime.identify``): for a
    ``hello``, ask Redis who it is first (I/O, before the step), then dispatch."""
    try:
        msg = parse(raw)
    except ProtocolError:
        msg = None
    if type(msg) is not Hello or (app.runtime.paused is not None and msg.name is not None):
        return handlers.dispatch(app.root, app.fan, c, raw, app.now(), app.runtime.paused)
    if msg.name is not None and not quotas.new_player_allowed(None, c.address, app.now()):
        return handlers.refusal(app.root, c.id, "rate_limited", "too many new players from "
                                "your address: try again in a minute, or say hello with "
                                "your token", msg.rid)
    try:
        who = identify(msg)
    except handlers.Refused as e:
        return handlers.refusal(app.root, c.id, e.code, e.message, msg.rid)
    except redis.RedisError as e:
        log.warning("hello: Redis: %s", e)
        return handlers.refusal(app.root, c.id, "unavailable", "the cluster's players cannot "
                                "be reached just now: try again", msg.rid)
    if who is None:
        return handlers.refusal(app.root, c.id, "bad_token",
                                "unknown token: say hello with a name to start afresh", msg.rid)
    return handlers.dispatch(app.root, app.fan, c, msg, app.now(), app.runtime.paused,
                             who=who)


# ---------------------------------------------------------------------------
# The wallet


def send(ids: list[str]) -> None:
    """``ports.wallet.send``: the pending transfers (durable now) go to the wallet."""
    for tid in ids:
        app.runtime.greenlets.append(gevent.spawn(_transfer, tid))


def _transfer(tid: str) -> None:
    """Apply one transfer in Redis (retrying until Redis answers), then finish it here."""
    delay = 0.05
    while True:
        t = app.root.transfers.get(tid)
        if t is None:
            return              # finished meanwhile (sent twice)
        _crash_point("after_pending", t["amount"])
        try:
            outcome = orjson.loads(Redis.transfer(keys=[TRANSFERS, WALLET, AUDIT],
                                                  args=[tid, t["player"], t["amount"]]))
            break
        except redis.RedisError as e:
            log.warning("transfer %s: Redis: %s; retrying in %.2f s", tid, e, delay)
            gevent.sleep(delay)
            delay = min(2.0, delay * 2)
    if tid not in app.root.transfers:
        return
    _crash_point("after_wallet", t["amount"])
    root, fan = app.root, app.fan
    now = app.now()
    fx, why = transfers.finish(root, tid, outcome, now, partial(handlers.spend, draw=app.draw))
    waiting = fan.waiting.pop(tid, None)
    if waiting is not None and waiting[0] in fan.conns:
        conn_id, rid = waiting
        kind, target = (t["then"] or [None, None])[:2]
        if why is not None:
            handlers.refusal(root, conn_id, "tournament" if kind == "register" else "buy_in",
                             why, rid, fx)
        elif kind == "sit":
            room = root.tables[target]
            fx.watch(conn_id, room.id, None,
                     play.table_message(root, room, t["player"], fan.online), rid)
        elif kind == "register":
            fx.reply(conn_id, tournaments.state_message(root.tournaments[target], t["player"],
                                                        now), rid)
    commit(fx, app.ports)
    app.ports.journal.when_durable(lambda: _crash_point("after_done", t["amount"]))


def resume(root) -> Effects:
    """At a shard's start: send again every transfer still pending (the wallet applies
    each id once), and send back what a crash left in a bankroll here."""
    fx = Effects(transfers=list(root.transfers))
    transfers.sweep(root, fx, [p.id for p in root.players.values() if p.bankroll > 0])
    return fx


# ---------------------------------------------------------------------------
# Presence and the lobby


def heartbeat() -> None:
    """Every :data:`HEARTBEAT` seconds: say this shard is alive with its tables, and
    read the other shards' into the lobby (down ones: ``available`` false)."""
    r, shard = Redis.client, app.root.shard
    while not app.runtime.stopping:
        try:
            rows = lobby.here(app.root)
            pipe = r.pipeline()
            pipe.sadd(SHARDS, shard)
            pipe.set(f"{K}shard:{shard}:alive", 1, px=int(ALIVE_FOR * 1000))
            pipe.set(f"{K}shard:{shard}:tables", orjson.dumps(rows))
            pipe.set(f"{K}shard:{shard}:tournaments", orjson.dumps([
                tournaments.state_message(tr, None, app.now())
                for tr in app.root.tournaments.values() if not tr.t.finished]))
            pipe.smembers(SHARDS)
            everyone = sorted(int(s) for s in pipe.execute()[-1])
            others = [s for s in everyone if s != shard]
            n = len(others)
            seen = r.mget([f"{K}shard:{s}:{key}" for key in ("alive", "tables", "tournaments")
                           for s in others]) if others else []
            elsewhere, their_tournaments, live = [], [], set()
            for i, s in enumerate(others):
                alive = seen[i] is not None
                if alive:
                    live.add(s)
                for row in orjson.loads(seen[n + i] or "[]"):
                    row["available"] = alive
                    elsewhere.append(row)
                if alive:
                    their_tournaments += orjson.loads(seen[2 * n + i] or "[]")
            lobby.shards, lobby.live = tuple(everyone), frozenset(live)
            lobby.elsewhere = elsewhere
            lobby.elsewhere_tournaments = their_tournaments
        except redis.RedisError as e:
            log.warning("heartbeat: Redis: %s", e)
        gevent.sleep(HEARTBEAT)


def least_loaded() -> int:
    """The live shard with the fewest tables (this one on a tie): where a new table goes,
    as the last heartbeat saw the others."""
    counts = {app.root.shard: len(app.root.tables), **dict.fromkeys(lobby.live, 0)}
    for row in lobby.elsewhere:
        if row["shard"] in lobby.live:
            counts[row["shard"]] += 1
    return min(counts, key=lambda s: (counts[s], s != app.root.shard, s))


def start(url: str) -> None:
    """Connect this shard to the cluster's Redis (before serving)."""
    r = connect(url)
    r.ping()
    Redis.client = r
    Redis.new_player = r.register_script(NEW_PLAYER)
    Redis.transfer = r.register_script(TRANSFER)
    r.sadd(SHARDS, app.root.shard)
    app.ports.wallet.send = send
    app.runtime.identify = hello_frame
    app.runtime.place_table = least_loaded
    app.runtime.greenlets.append(gevent.spawn(heartbeat))


# ---------------------------------------------------------------------------
# The cluster's books


def audit(r: redis.Redis, shards: list[dict]) -> dict:
    """The cluster's chips, from Redis and each shard's ``GET /api/shard``: wallets +
    every shard's chips + chips in flight == chips issued, where in flight are the
    debits the wallet applied that their shard has not finished, and the credits a
    shard sent that the wallet has not applied. Returns the figures and ``ok``."""
    wallets = sum(int(v) for v in r.hvals(WALLET))
    issued = int(r.get(ISSUED) or 0)
    on_shards = sum(s["chips"] for s in shards)
    in_flight = 0       # a shard counts its pending credits, not its pending debits
    for s in shards:
        for t in s["pending"]:
            done = r.hget(TRANSFERS, t["id"])
            if done is not None and orjson.loads(done)["ok"]:
                in_flight -= t["amount"]
    audited = {}
    for _, fields in r.xrange(AUDIT):
        if fields.get("kind") == "transfer":
            audited[fields["id"]] = audited.get(fields["id"], 0) + 1
    return {"wallets": wallets, "issued": issued, "shards": on_shards, "in_flight": in_flight,
            "ok": wallets + on_shards + in_flight == issued,
            "audited_twice": sorted(i for i, n in audited.items() if n > 1)}
