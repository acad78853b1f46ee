"""The bots under Locust: each Locust user is one bot playing at a table.

    locust -f client/locustfile.py --host http://127.0.0.1:8080
    locust -f client/locustfile.py --host http://127.0.0.1:8080 --headless -u 60 -r 20 -t 60s

Users are seated six to a table; tables are created with ``POST /api/tables``
as users arrive. Each action round trip (``act`` sent -> its ``event``
back) is a Locust request named ``act``; every error the server sends is a
failed request named after its code, so the Locust UI shows actions/s,
latency percentiles and errors. ``BOT_STRATEGY`` (default ``mix``),
``BOT_THINK`` (mean seconds per action, default 0.5) and ``BOT_SEATS``
(default 6) tune the bots.
"""

from __future__ import annotations

import itertools
import os
import random

import gevent
import gevent.event
import gevent.lock
from locust import User, between, events, task

from client.bots.bot import Bot
from client.bots.run import create_tables, strategy_names
from client.bots.stats import Stats

STRATEGY = os.environ.get("BOT_STRATEGY", "mix")
THINK = float(os.environ.get("BOT_THINK", "0.5"))
SEATS = int(os.environ.get("BOT_SEATS", "6"))


def ws_url(host: str) -> str:
    """``http://h:p`` (Locust's --host) -> ``ws://h:p/ws``; a ws URL stays as it is."""
    if host.startswith(("ws://", "wss://")):
        return host
    return "ws" + host.removeprefix("http").rstrip("/") + "/ws"


class LocustStats(Stats):
    """Stats that also report to Locust."""

    def __init__(self, environment):
        super().__init__()
        self.environment = environment

    def latency(self, seconds: float) -> None:
        super().latency(seconds)
        self.environment.events.request.fire(
            request_type="WS", name="act", response_time=seconds * 1000, response_length=0,
            exception=None, context={})

    def error(self, code: str, message: str = "") -> None:
        super().error(code, message)
        self.environment.events.request.fire(
            request_type="WS", name=f"error {code}", response_time=0, response_length=0,
            exception=RuntimeError(f"{code}: {message}"), context={})


class _Seating:
    """Hands out (table, seat) pairs, creating a table when the last one is full."""

    def __init__(self):
        self.tables, self.next = [], itertools.count()
        self.strategies = itertools.cycle(strategy_names(STRATEGY))
        self.lock = gevent.lock.Semaphore()   # users start concurrently: one creator at a time

    def place(self, url: str) -> tuple[str, int]:
        index = next(self.next)
        table, seat = divmod(index, SEATS)
        with self.lock:
            while len(self.tables) <= table:
                self.tables += create_tables(url, 1, seats=SEATS, prefix="Locust")
        return self.tables[table], seat


_seating = _Seating()
_stats: LocustStats | None = None


@events.init.add_listener
def _on_init(environment, **kwargs):
    global _stats
    _stats = LocustStats(environment)


class BotUser(User):
    """One bot: sits at a table and plays with a strategy until the user stops."""

    wait_time = between(1, 2)

    def on_start(self):
        url = ws_url(self.host)
        table, seat = _seating.place(url)
        self.bot = Bot(url, f"locust{random.randrange(10**6)}", table,
                       next(_seating.strategies), _stats, seat=seat, think=THINK,
                       stop=gevent.event.Event())
        self.player_greenlet = gevent.spawn(self.bot.run)

    @task
    def play(self):
        """The bot plays in its own greenlet; this task only notices if it died."""
        if self.player_greenlet.dead and not self.bot.stop_event.is_set():
            self.player_greenlet = gevent.spawn(self.bot.run)

    def on_stop(self):
        self.bot.stop()
        self.player_greenlet.join(timeout=5)
