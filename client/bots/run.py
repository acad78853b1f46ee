"""Crowds of bots: create tables, spread bots over them, run for a bounded time.

Everything here runs bots as greenlets of the calling process; the caller has
monkey-patched it (``python -m client.bots`` and ``bench/load.py`` do; the
server process is a gevent process already).
"""

from __future__ import annotations

import itertools
import math
import random
import time
import urllib.error
import urllib.parse
import urllib.request

import gevent
import gevent.event
import orjson

from client.bots.bot import Bot
from client.bots.stats import Stats
from client.bots.strategies import STRATEGIES

CHAOS_KINDS = ("drop", "slow", "bad")
MIX = ("random", "calling-station", "tight-aggressive")


def http_url(ws_url: str) -> str:
    """The server's HTTP root for its WebSocket URL.

    >>> http_url("ws://127.0.0.1:8080/ws"), http_url("wss://example.org/ws")
    ('http://127.0.0.1:8080', 'https://example.org')
    """
    parts = urllib.parse.urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


def create_tables(ws_url: str, count: int, *, seats: int = 6, small_blind: int = 1,
                  big_blind: int = 2, prefix: str = "Bots", game: str = "NT") -> list[str]:
    """Create ``count`` tables of ``game`` (a variant code: ``"NT"``, ``"PO"``, ``"PO5"``,
    ``"FT"``) with ``POST /api/tables``; returns their ids. A cluster answers 307 with
    the shard that should make it (docs/scaling.md): asked again there. ``"NT"`` sends
    no ``game`` (the server's default), so a server from before games takes it too."""
    ids = []
    for i in range(count):
        fields = {"name": f"{prefix} {i + 1}", "seats": seats,
                  "small_blind": small_blind, "big_blind": big_blind}
        if game != "NT":
            fields["game"] = game
        body = orjson.dumps(fields)
        path = "/api/tables"
        for _ in range(3):
            request = urllib.request.Request(
                http_url(ws_url) + path, data=body, method="POST",
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = orjson.loads(response.read())
                break
            except urllib.error.HTTPError as e:
                if e.code != 307:
                    raise
                path = e.headers["Location"]
        ids.append(answer["id"] if "id" in answer else answer["table"]["id"])
    return ids


def list_tables(ws_url: str) -> list[dict]:
    """The lobby (``GET /api/tables``)."""
    with urllib.request.urlopen(http_url(ws_url) + "/api/tables", timeout=10) as response:
        answer = orjson.loads(response.read())
    return answer["tables"] if isinstance(answer, dict) else answer


def strategy_names(strategy: str) -> tuple[str, ...]:
    """Strategy names to deal to bots in turn: one name, or ``mix`` (all of them)."""
    if strategy == "mix":
        return MIX
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}, mix")
    return (strategy,)


def make_bots(url: str, tables: list[str], n: int, strategy: str, stats: Stats,
              stop: gevent.event.Event, *, chaos=(), chaos_share: float = 0.25,
              think: float = 0.0, seed=None, fixed_seats: bool = True,
              name_prefix: str = "bot", origin: str | None = None,
              tokens: list[str] | None = None) -> list[Bot]:
    """``n`` bots spread round-robin over ``tables``.

    With ``tokens`` bot ``i`` is the player holding ``tokens[i]`` (its seat, if it
    still has one, included) instead of a new player.

    With ``fixed_seats`` bot ``i`` asks for seat ``i // len(tables)`` (no
    races for seats at fresh tables); otherwise each takes a free seat.
    With ``chaos`` every ``1 / chaos_share``-th seat of each table holds a
    misbehaving bot, the kinds taking turns. A ``mix`` deals the strategies in turn at every table.
    """
    rng = random.Random(seed)
    names = strategy_names(strategy)
    kinds = itertools.cycle(chaos)
    every = max(1, round(1 / chaos_share)) if chaos and chaos_share > 0 else 0
    bots = []
    for i in range(n):
        table = tables[i % len(tables)]
        seat = i // len(tables)
        misbehaves = (next(kinds),) if every and seat % every == every - 1 else ()
        name = names[(seat + i % len(tables)) % len(names)]   # seat k: the k-th, shifted
        bots.append(Bot(url, f"{name_prefix}{i}", table, name, stats,
                        seat=seat if fixed_seats else None, chaos=misbehaves,
                        think=think, rng=random.Random(rng.random()), stop=stop,
                        other_table=tables[(i + 1) % len(tables)] if len(tables) > 1 else None,
                        origin=origin, token=tokens[i] if tokens else None))
    return bots


class BotGroup:
    """Bots started by :func:`spawn_bots`: their greenlets, counters and a ``stop()``."""

    def __init__(self, bots: list[Bot], greenlets: list, stats: Stats, stop_event):
        self.bots, self.greenlets, self.stats, self.stop_event = bots, greenlets, stats, stop_event

    def stop(self, timeout: float = 5.0) -> None:
        """Every bot leaves its table (its chips go back to its bankroll) and closes."""
        for bot in self.bots:
            bot.stop()
        gevent.joinall(self.greenlets, timeout=timeout)
        gevent.killall([g for g in self.greenlets if not g.dead], block=False)


def run_bots(url: str, tables: list[str], n: int, strategy: str = "mix", *,
             duration: float = 60.0, hands: int | None = None, warmup: float = 0.0,
             chaos=(), chaos_share: float = 0.25, think: float = 0.0, seed=None,
             fixed_seats: bool = True, progress=None, ramp_per_s: float = 500.0,
             on_window=None, name_prefix: str = "bot", origin: str | None = None,
             end=None) -> dict:
    """Run ``n`` bots at ``tables`` and return the report (see :class:`Stats`).

    Bots connect at ``ramp_per_s``; after ``warmup`` seconds the counters
    restart, so the rates cover the steady state. The run ends after
    ``duration`` seconds of it, or once ``hands`` hands have ended. Then every
    bot leaves its table and closes. ``progress`` (a stream) gets a status
    line every second; ``on_window(phase)`` is called with ``"start"`` and
    ``"end"`` around the measured window. ``end`` (an event) ends the run early,
    the same way.
    """
    stats, stop = Stats(), gevent.event.Event()
    bots = make_bots(url, tables, n, strategy, stats, stop, chaos=chaos,
                     chaos_share=chaos_share, think=think, seed=seed,
                     fixed_seats=fixed_seats, name_prefix=name_prefix, origin=origin)
    group = BotGroup(bots, [], stats, stop)
    printer = gevent.spawn(_progress, stats, n, progress) if progress else None
    try:
        for i, bot in enumerate(bots):
            group.greenlets.append(gevent.spawn(bot.run))
            if ramp_per_s and i % 10 == 9:
                gevent.sleep(10 / ramp_per_s)
        if warmup:
            gevent.sleep(warmup)
            stats.restart()
        if on_window:
            on_window("start")
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline and (hands is None or len(stats.hands) < hands) \
                and not (end is not None and end.is_set()):
            gevent.sleep(0.05)
        report = stats.report(n)
        if on_window:
            on_window("end")
    finally:
        group.stop()
        if printer:
            printer.kill()
            progress.write("\n")
    return report


def _progress(stats: Stats, n: int, stream) -> None:
    while True:
        gevent.sleep(1.0)
        stream.write("\r" + stats.progress(n))
        stream.flush()


def spawn_bots(url: str, table_id: str, n: int, strategy: str = "tight-aggressive", *,
               think: float = 1.0, seed=None, tokens: list[str] | None = None) -> BotGroup:
    """Seat ``n`` bots at ``table_id`` and return at once; they play until ``stop()``.

    With ``tokens`` (``n`` of them) the bots are those players: the server creates
    its house bots' players itself, so that it can bring them back after a restart.

    Meant for the server's ``POST /api/tables`` with ``"bots": n``: the bots
    run as greenlets of the server process and talk to it over loopback
    (``url`` is its own ``ws://127.0.0.1:PORT/ws``), so they are ordinary
    players. ``think`` is their mean thinking time in seconds, so a person
    at the table can follow.
    """
    stats, stop = Stats(), gevent.event.Event()
    bots = make_bots(url, [table_id], n, strategy, stats, stop, think=think, seed=seed,
                     fixed_seats=False, name_prefix="bot ", tokens=tokens)
    greenlets = [gevent.spawn(bot.run) for bot in bots]
    return BotGroup(bots, greenlets, stats, stop)


def seats_for(bots: int, tables: int) -> int:
    """Seats per table: six-max, or more (up to ten) when the bots need them.

    >>> seats_for(200, 40), seats_for(3, 1), seats_for(100, 5)
    (6, 6, 10)
    """
    return min(10, max(6, math.ceil(bots / tables)))
