"""Bots that fill a tournament and play it to the end (``python -m client.bots --tournament``).

Each bot is an ordinary player: it says hello (the server gives it a bankroll),
registers (the buy-in leaves that bankroll), and when the tournament starts it
watches the table it is told (``tournament_table``) and plays it with one of the
strategies of :mod:`client.bots.strategies`. When the tournament balances or
breaks tables it is told ``tournament_moved``: it watches the new table on the
same socket and plays there. It plays until it busts or wins; every registered
player is told when the tournament is ``finished``, with the places and prizes.

The plain functions here do the rest: :func:`create` a sit-and-go or a
multi-table freezeout (its creator is one of the bots, and starts it once
everyone is registered), :func:`fill` it with bots, and :func:`standings` and
:func:`format_standings` for the end. What every bot saw (its seats in order,
its moves, its bankroll before and after) is in the result of :func:`fill`, so
a test can check the server from the players' side.
"""

from __future__ import annotations

import random
import time

import gevent
import gevent.event
import websocket

from client.bots.bot import Bot
from client.bots.run import strategy_names
from client.bots.stats import Stats
from client.bots.strategies import BotState

REPLY_WAIT = 15.0      # seconds to wait for the server's answer to one request
WATCH_AGAIN = 1.0      # seconds without a table's full view before watching it again
WATCH_TRIES = 20


def fast_levels(starting_stack: int, count: int = 16) -> list[list[int]]:
    """A turbo structure: the big blind starts at 1/100 of the starting stack and grows
    by 60% a level, with a big-blind ante (the big blind's) from the fourth level on; the
    last levels are many starting stacks, so the tournament ends soon after.

    >>> fast_levels(1500)[:5]
    [[7, 15, 0], [12, 24, 0], [19, 38, 0], [30, 61, 61], [49, 98, 98]]
    >>> all(0 < sb <= bb for sb, bb, _ in fast_levels(10))
    True
    """
    levels = []
    for k in range(count):
        big = max(2, int(starting_stack / 100 * 1.6 ** k))
        levels.append([big // 2, big, big if k >= 3 else 0])
    return levels


class TournamentBot(Bot):
    """A bot that registers in a tournament and plays whichever of its tables it is sent to.

    It never sits down, tops up or leaves by itself (the tournament seats it and stands
    it up); ``seatings`` records, in the order its socket got them, where it saw itself
    sit down (``("seated", table)``), stand up (``("left", table)``) and a table close
    (``("closed", table)``).
    """

    def __init__(self, url: str, name: str, strategy, stats: Stats, **options):
        super().__init__(url, name, None, strategy, stats, **options)
        self.tournament: str | None = None
        self.welcomed = gevent.event.Event()
        self.finished = gevent.event.Event()
        self.replies: dict[int, gevent.event.AsyncResult] = {}
        self.quiet: set[int] = set()           # rids whose errors are expected (unwatch)
        self.bankroll_before: int | None = None
        self.last_state: dict | None = None    # the last ``tournament`` message
        self.seatings: list[tuple[str, str]] = []
        self.moves: list[dict] = []
        self.closed: list[str] = []
        self.timeouts = 0                      # turns the clock ran out on

    # -- requests ------------------------------------------------------------

    def request(self, msg: dict, wait: float = REPLY_WAIT) -> dict:
        """Send ``msg`` and return the server's answer to it (a reply or an ``error``)."""
        answer = gevent.event.AsyncResult()
        rid = self._send(msg)
        self.replies[rid] = answer
        try:
            return answer.get(timeout=wait)
        except gevent.Timeout:
            raise TimeoutError(f"{self.name}: no answer to {msg['type']} in {wait}s") from None
        finally:
            self.replies.pop(rid, None)

    def register(self, tournament: str) -> dict:
        self.tournament = tournament
        return self.request({"type": "register", "tournament": tournament})

    # -- the life cycle --------------------------------------------------------

    def stop(self) -> None:
        """Close the socket (a tournament seat is not left: the tournament stands us up)."""
        self.stop_event.set()
        if self.ws is None or not self.connected:
            self._cut()
            return
        try:
            self.ws.send_close(1000)
        except (OSError, websocket.WebSocketException):
            self._cut()

    def _welcome(self, msg: dict) -> None:
        self.connected = True
        self.stats.connected += 1
        self.token, self.player = msg["token"], msg["player"]
        self.bankroll = msg.get("bankroll")
        if self.bankroll_before is None:
            self.bankroll_before = self.bankroll
        seats = msg.get("seats") or {}
        if seats:                            # back after a dropped link: where we sit now
            self._follow(next(iter(seats)))
        self.welcomed.set()

    # -- messages --------------------------------------------------------------

    def _handle(self, msg: dict) -> None:
        kind, rid = msg.get("type"), msg.get("rid")
        if rid is not None and rid in self.replies:
            self.replies.pop(rid).set(msg)
            if kind == "error":
                return
        if kind == "error" and rid in self.quiet:
            self.quiet.discard(rid)           # an unwatch of a table broken meanwhile
            return
        if kind == "tournament" and msg.get("id") == self.tournament:
            self.last_state = msg
            if msg.get("status") == "finished":
                self.finished.set()
        elif kind == "tournament_table" and msg.get("tournament") == self.tournament:
            self._follow(msg["table"])
        elif kind == "tournament_moved" and msg.get("tournament") == self.tournament:
            self.moves.append(msg)
            self._follow(msg["table"], leaving=msg.get("from"))
        elif kind == "table_closed":
            self.closed.append(msg["table"])
            self.seatings.append(("closed", msg["table"]))
            if msg["table"] == self.table:
                self.table = None
        else:
            super()._handle(msg)

    def _follow(self, table: str, leaving: str | None = None) -> None:
        """Play ``table`` from now on: watch it (its full view says our seat), stop
        watching the table we were moved from."""
        self.table, self.v, self.hand, self.to_act = table, None, None, None
        self.state = BotState(rng=self.rng)
        self.turn_open, self.turn_key, self.pending_act = False, None, None
        self.turn_id += 1                    # an act still thinking about the old table is void
        self._send({"type": "watch", "table": table})
        if leaving is not None and leaving != table and leaving not in self.closed:
            self.quiet.add(self._send({"type": "unwatch", "table": leaving}))
        self.helpers.append(gevent.spawn(self._until_watched, table))

    def _until_watched(self, table: str) -> None:
        """Send the watch again until its full view came: a socket over its message rate
        drops a message unread (``rate_limited``, no rid), and a player who never watches
        their new table would only ever be timed out there."""
        for _ in range(WATCH_TRIES):
            if self.stop_event.wait(WATCH_AGAIN) or self.table != table or self.v is not None:
                return
            if self.connected:
                self._send({"type": "watch", "table": table})

    def _table(self, msg: dict) -> None:
        super()._table(msg)
        if msg.get("you") is not None:
            self.seatings.append(("seated", msg["table"]))

    def _apply(self, ev: dict) -> None:
        kind = ev.get("type")
        if kind == "left" and ev.get("player") == self.player:
            self.seatings.append(("left", self.table))
            self.state.seat = None            # busted or moved: the tournament says which
            return
        if kind == "seated" and ev.get("player") == self.player:
            self.seatings.append(("seated", self.table))
        if kind == "timeout" and ev.get("seat") == self.state.seat:
            self.timeouts += 1
        super()._apply(ev)

    def _sit(self, seats) -> None:
        """The tournament seats its players: never ask for a seat."""

    def _back_in(self) -> None:
        """Tournament players are never sat out (their clock runs), nor topped up."""

    # -- what it saw -------------------------------------------------------------

    def report(self) -> dict:
        """What this bot saw, as JSON-able data; ``token`` is the player's secret (a test
        opens a fresh session with it to read the bankroll the server holds)."""
        you = (self.last_state or {}).get("you") or {}
        return {"name": self.name, "player": self.player, "token": self.token,
                "strategy": self.strategy_name, "bankroll_before": self.bankroll_before,
                "bankroll_after": self.bankroll, "place": you.get("place"),
                "prize": you.get("prize"), "stack": self.stack,
                "seatings": self.seatings, "moves": self.moves, "closed": self.closed,
                "timeouts": self.timeouts}


# ---------------------------------------------------------------------------
# Plain functions: make bots, create a tournament, fill it, read the standings


def make_bots(url: str, n: int, strategy: str, stats: Stats, stop: gevent.event.Event, *,
              think: float = 0.0, seed=None, name_prefix: str = "tbot") -> list[TournamentBot]:
    """``n`` tournament bots, the strategies dealt in turn (``mix``: all of them)."""
    rng = random.Random(seed)
    names = strategy_names(strategy)
    return [TournamentBot(url, f"{name_prefix}{i}", names[i % len(names)], stats, think=think,
                          rng=random.Random(rng.random()), stop=stop) for i in range(n)]


def create(creator: TournamentBot, *, name: str, seats: int, buy_in: int, starting_stack: int,
           level_seconds: float, multi_table: bool, levels=None) -> dict:
    """``creator`` creates a sit-and-go of ``seats`` players, or a multi-table freezeout at
    tables of ``seats``; the ``tournament`` answered (raises on an ``error``)."""
    answer = creator.request({
        "type": "create_tournament", "name": name, "seats": seats, "buy_in": buy_in,
        "starting_stack": starting_stack, "seconds": level_seconds,
        "levels": levels or fast_levels(starting_stack), "multi_table": multi_table})
    if answer.get("type") != "tournament":
        raise RuntimeError(f"create_tournament refused: {answer}")
    return answer


def fill(url: str, n: int, *, tournament: str | None = None, sit_and_go: bool = True,
         seats: int | None = None, buy_in: int = 100, starting_stack: int = 1500,
         level_seconds: float = 10.0, levels=None, strategy: str = "mix", think: float = 0.0,
         seed=None, timeout: float = 600.0, name: str | None = None,
         progress=None) -> dict:
    """Fill a tournament with ``n`` bots and play it to the end (or ``timeout`` seconds).

    Without ``tournament`` the first bot creates one: a sit-and-go of ``n`` seats
    (``sit_and_go``), or a multi-table freezeout of ``n`` players at tables of ``seats``
    (9 by default), which it starts once all are registered. With ``tournament`` the bots
    register in that one (a sit-and-go starts when full; a multi-table one when its
    creator starts it). Returns the result: ``finished``, the final ``standings``, and
    what every bot saw (``bots``, see :meth:`TournamentBot.report`).
    """
    began = time.monotonic()
    deadline = began + timeout
    stats, stop = Stats(), gevent.event.Event()
    bots = make_bots(url, n, strategy, stats, stop, think=think, seed=seed)
    greenlets = [gevent.spawn(bot.run) for bot in bots]
    result: dict = {"tournament": tournament, "finished": False, "standings": [],
                    "refused": []}
    try:
        for bot in bots:
            if not bot.welcomed.wait(max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f"{bot.name} was not welcomed")
        created = None
        if tournament is None:
            multi = not sit_and_go
            created = create(bots[0], name=name or ("Bots SNG" if sit_and_go else "Bots MTT"),
                             seats=(seats or n) if sit_and_go else (seats or 9),
                             buy_in=buy_in, starting_stack=starting_stack,
                             level_seconds=level_seconds, multi_table=multi, levels=levels)
            tournament = created["id"]
            result["tournament"] = tournament
        playing = []
        for bot in bots:
            answer = bot.register(tournament)
            if answer.get("type") == "tournament":
                playing.append(bot)
            else:
                result["refused"].append({"name": bot.name, "error": answer})
                bot.tournament = None
        if created is not None and not sit_and_go:
            answer = bots[0].request({"type": "start_tournament", "tournament": tournament})
            if answer.get("type") != "tournament":
                raise RuntimeError(f"start_tournament refused: {answer}")
        if progress:
            progress.write(f"{len(playing)} bots registered in {tournament}\n")
        shown = None
        while playing and not all(b.finished.is_set() for b in playing):
            if time.monotonic() >= deadline:
                break
            gevent.sleep(0.1)
            if progress:
                state = _latest(playing)
                line = _progress_line(state, stats) if state else None
                if line and line != shown:
                    progress.write(line + "\n")
                    shown = line
        state = _latest(playing)
        result["finished"] = bool(playing) and all(b.finished.is_set() for b in playing)
        if state is not None:
            result["standings"] = standings(state, {b.player: b.name for b in bots})
            result["payouts"] = state.get("payouts")
            result["registered"] = state.get("registered")
        result["bots"] = [b.report() for b in playing]
        result["moves"] = sum(len(b.moves) for b in playing)
        result["tables_broken"] = len(broken_tables(playing, result["finished"]))
        result["hands"] = len(stats.hands)
        result["timeouts"] = sum(b.timeouts for b in playing)
        result["errors"] = dict(stats.errors)
        return result
    finally:
        result["elapsed_s"] = round(time.monotonic() - began, 2)
        for bot in bots:
            bot.stop()
        gevent.joinall(greenlets, timeout=5)
        gevent.killall([g for g in greenlets if not g.dead], block=False)


def broken_tables(bots: list[TournamentBot], finished: bool) -> set[str]:
    """The tables the bots saw broken: a tournament table closes when it breaks, or when the
    tournament ends (the winner's table, the last one the winner saw close)."""
    closed = {t for b in bots for t in b.closed}
    if finished:
        winner = next((b for b in bots if (b.last_state or {}).get("you", {}).get("place") == 1
                       and b.closed), None)
        if winner is not None:
            closed.discard(winner.closed[-1])
    return closed


def _latest(bots: list[TournamentBot]) -> dict | None:
    """The newest ``tournament`` message any bot got (the most players placed)."""
    states = [b.last_state for b in bots if b.last_state is not None]
    return max(states, key=lambda s: (s.get("status") == "finished", len(s.get("places") or ())),
               default=None)


def _progress_line(state: dict, stats: Stats) -> str:
    return (f"{state['status']}: level {state.get('level')} blinds {state.get('blinds')}, "
            f"{state.get('players_left')} left, {len(stats.hands)} hands")


def standings(state: dict, names: dict) -> list[dict]:
    """The places of a ``tournament`` message, best first, with the players' names
    (their player ids when not ours).

    >>> for s in standings({"places": [{"player": "p2", "place": 2, "prize": 0},
    ...                                {"player": "p1", "place": 1, "prize": 200}]},
    ...                    {"p1": "ann"}):
    ...     print(s)
    {'place': 1, 'player': 'p1', 'name': 'ann', 'prize': 200}
    {'place': 2, 'player': 'p2', 'name': 'p2', 'prize': 0}
    """
    places = sorted(state.get("places") or (), key=lambda p: p["place"])
    return [{"place": p["place"], "player": p["player"],
             "name": names.get(p["player"], p["player"]), "prize": p["prize"]} for p in places]


def format_standings(result: dict) -> str:
    """The final standings as a table to print: place, name, prize."""
    lines = [f"tournament {result['tournament']}: "
             f"{'finished' if result['finished'] else 'NOT finished'} in {result['elapsed_s']} s, "
             f"{result.get('hands', 0)} hands, {result.get('moves', 0)} moves, "
             f"{result.get('tables_broken', 0)} tables broken",
             f"{'place':>5}  {'name':<20} {'prize':>8}"]
    for s in result["standings"]:
        lines.append(f"{s['place']:>5}  {s['name']:<20} {s['prize']:>8}")
    for r in result.get("refused") or ():
        lines.append(f"not registered: {r['name']}: {r['error'].get('message', r['error'])}")
    return "\n".join(lines)
