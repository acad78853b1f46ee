"""Tournament rules: blind levels, payouts, finishing places, seating, balancing.

Pure, like :mod:`game.table`: no I/O, no clock, no randomness. The time
arrives as ``now`` (seconds, any epoch the caller keeps to), the random draw
for seats as a permutation of the players; the server turns its clock and
its shuffle into those arguments and applies what these functions return.

The blind clock. A :class:`BlindStructure` is a list of :class:`Level` values
(small blind, big blind, big-blind ante) each lasting ``seconds``; with
``hands_per_level`` a level also ends after that many hands, whichever comes
first; with ``break_every`` the clock stops for ``break_seconds`` after every
that many levels (20-minute levels and ``break_every=3``: a break every hour).
No hand starts during a break; a hand started in a level is finished at its
blinds; the next hand uses the new ones.

A tournament (:class:`Tournament`) is a value holding its tables, which are
ordinary :class:`game.table.Table` values with a big-blind ante. The server
would drive it like this: :func:`register` / :func:`unregister`, then
:func:`start` with a shuffled list of the players (a sit-and-go when
:func:`ready`); at each table, actions are applied with :func:`game.table.apply`
as at a cash table, :func:`absent_action` playing for players who are away,
and the table is written back with :func:`with_table`; when a hand is over,
:func:`between_hands` takes out the busted (:class:`Placed`: place and prize,
to pay into the bankroll), breaks or balances tables (:class:`Moved`,
:class:`TableBroken`) and sets the next blinds; the next hand starts when
:func:`game.table.can_start_hand` and :func:`blinds_for_next_hand` allow.

>>> s = BlindStructure((Level(10, 20), Level(15, 30, 30), Level(25, 50, 50)), seconds=600)
>>> level_at(s, started_at=1000, now=1000)
Level(small_blind=10, big_blind=20, ante=0)
>>> clock(s, started_at=1000, now=1700)
Clock(level=1, on_break=False, seconds_left=500)
>>> blinds_for_next_hand(s, started_at=1000, now=99999)   # past the last level: it stays
Level(small_blind=25, big_blind=50, ante=50)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from game.table import (Action, SitDown, StandUp, Table, Timeout, apply, dealable,
                        new_table)

Player = str
Chips = int
Seconds = float


class TournamentError(ValueError):
    """Something the tournament rules do not allow now; the message says why."""


# ---------------------------------------------------------------------------
# Blind levels


@dataclass(frozen=True, slots=True)
class Level:
    """The forced bets of one level; ``ante`` is one big-blind ante (posted by the big blind)."""

    small_blind: Chips
    big_blind: Chips
    ante: Chips = 0


@dataclass(frozen=True, slots=True)
class BlindStructure:
    """Levels in order, each ``seconds`` long (and at most ``hands_per_level`` hands, if
    set); a break of ``break_seconds`` after every ``break_every`` levels (0: none)."""

    levels: tuple[Level, ...]
    seconds: Seconds
    hands_per_level: int = 0
    break_every: int = 0
    break_seconds: Seconds = 0

    def __post_init__(self):
        if not self.levels:
            raise ValueError("a blind structure needs at least one level")
        if self.seconds <= 0:
            raise ValueError(f"a level lasts a positive time, not {self.seconds}")
        if self.hands_per_level < 0 or self.break_every < 0 or self.break_seconds < 0:
            raise ValueError("hands per level, break_every and break_seconds are not negative")
        for level in self.levels:
            if not 0 < level.small_blind <= level.big_blind or level.ante < 0:
                raise ValueError(f"impossible level {level!r}")


@dataclass(frozen=True, slots=True)
class Clock:
    """Where the blind clock stands: the level's index (during a break: the level that
    comes after it), whether this is a break, and the seconds until it ends (``None``
    on the last level, which lasts for ever)."""

    level: int
    on_break: bool
    seconds_left: Seconds | None


def clock(structure: BlindStructure, started_at: Seconds, now: Seconds,
          hands_played: int = 0) -> Clock:
    """The blind clock at ``now`` for a tournament started at ``started_at``.

    ``hands_played`` counts the hands started at the table asking (only used when the
    structure has ``hands_per_level``): the level is the later of the two counts.

    >>> s = BlindStructure((Level(1, 2), Level(2, 4), Level(3, 6)), seconds=60,
    ...                    break_every=1, break_seconds=30)
    >>> [clock(s, 0, t) for t in (59, 60, 89, 90, 500)]   # doctest: +NORMALIZE_WHITESPACE
    [Clock(level=0, on_break=False, seconds_left=1), Clock(level=1, on_break=True, seconds_left=30),
     Clock(level=1, on_break=True, seconds_left=1), Clock(level=1, on_break=False, seconds_left=60),
     Clock(level=2, on_break=False, seconds_left=None)]
    >>> s = BlindStructure((Level(1, 2), Level(2, 4)), seconds=600, hands_per_level=10)
    >>> clock(s, 0, 5, hands_played=10)
    Clock(level=1, on_break=False, seconds_left=None)
    """
    elapsed = now - started_at
    if elapsed < 0:
        raise ValueError("the tournament has not started at this time")
    last = len(structure.levels) - 1
    timed = 0           # the level by time alone
    while timed < last and elapsed >= _level_start(structure, timed + 1):
        timed += 1
    on_break = timed < last and elapsed >= _break_start(structure, timed + 1)
    if on_break:
        timed += 1
        return Clock(_by_hands(structure, timed, hands_played), True,
                     _level_start(structure, timed) - elapsed)
    level = _by_hands(structure, timed, hands_played)
    # What changes next: a break starting, or the time reaching the level after this.
    changes = [_break_start(structure, k) for k in range(timed + 1, min(level + 1, last) + 1)
               if k == level + 1 or _has_break_before(structure, k)]
    return Clock(level, False, min(changes) - elapsed if changes else None)


def _by_hands(structure: BlindStructure, level: int, hands_played: int) -> int:
    """``level``, or the later level that ``hands_played`` reaches."""
    if not structure.hands_per_level:
        return level
    return max(level, min(hands_played // structure.hands_per_level,
                          len(structure.levels) - 1))


def _has_break_before(structure: BlindStructure, level: int) -> bool:
    return (bool(structure.break_every and structure.break_seconds) and level > 0
            and level % structure.break_every == 0)


def _level_start(structure: BlindStructure, level: int) -> Seconds:
    """Seconds from the start to the start of ``level`` (breaks included)."""
    breaks = level // structure.break_every if structure.break_every else 0
    return level * structure.seconds + breaks * structure.break_seconds


def _break_start(structure: BlindStructure, level: int) -> Seconds:
    """When the clock stops before ``level``: its start, less the break before it."""
    gap = structure.break_seconds if _has_break_before(structure, level) else 0
    return _level_start(structure, level) - gap


def level_at(structure: BlindStructure, started_at: Seconds, now: Seconds,
             hands_played: int = 0) -> Level:
    """The level being played at ``now`` (during a break: the one that comes next)."""
    return structure.levels[clock(structure, started_at, now, hands_played).level]


def time_to_next_level(structure: BlindStructure, started_at: Seconds, now: Seconds,
                       hands_played: int = 0) -> Seconds | None:
    """Seconds until the blinds go up or a break starts or ends (``None``: never again).

    >>> time_to_next_level(BlindStructure((Level(1, 2), Level(2, 4)), seconds=60), 0, 45)
    15
    """
    return clock(structure, started_at, now, hands_played).seconds_left


def blinds_for_next_hand(structure: BlindStructure, started_at: Seconds, now: Seconds,
                         hands_played: int = 0) -> Level | None:
    """The blinds a table uses for the hand it starts at ``now``; ``None`` during a break
    (no hand starts)."""
    c = clock(structure, started_at, now, hands_played)
    return None if c.on_break else structure.levels[c.level]


def with_level(table: Table, level: Level) -> Table:
    """``table`` with this level's blinds and big-blind ante, for its next hand.

    Between hands only: a hand is played to the end at the blinds it started with.

    >>> t = with_level(new_table(9, 10, 20), Level(25, 50, 50))
    >>> t.small_blind, t.big_blind, t.ante, t.ante_kind
    (25, 50, 50, 'big_blind')
    """
    if table.hand_running:
        raise TournamentError("the blinds change between hands, not during one")
    return dataclasses.replace(table, small_blind=level.small_blind, big_blind=level.big_blind,
                               ante=level.ante, ante_kind="big_blind")


# ---------------------------------------------------------------------------
# Payouts and places

# The share of the prize pool for each paid place, in basis points (1/100 of a
# percent), by the number of entrants: a sit-and-go of up to 5 pays the winner
# only, 6-7 pays 65/35, 8-9 pays 50/30/20; a multi-table field pays about one
# player in six. Each row adds up to 10000 and never rises from one place to
# the next.
PAYOUTS: tuple[tuple[range, tuple[int, ...]], ...] = (
    (range(2, 6), (10000,)),
    (range(6, 8), (6500, 3500)),
    (range(8, 10), (5000, 3000, 2000)),
    (range(10, 19), (4000, 2500, 1800, 1000, 700)),
    (range(19, 28), (3000, 2000, 1400, 1000, 800, 600, 450, 400, 350)),
    (range(28, 46), (2800, 1800, 1300, 950, 750, 600, 450, 350, 300, 250, 225, 225)),
    (range(46, 91), (2500, 1600, 1150, 900, 700, 550, 450, 360, 290, 250, 220, 200, 180,
                     160, 140, 130, 120, 100)),
)


MAX_ENTRANTS = 90   # the largest field the payout table covers


def payout_shares(entrants: int) -> tuple[int, ...]:
    """The basis points of the pool paid to 1st, 2nd, ... for this many entrants.

    >>> payout_shares(6), payout_shares(9)
    ((6500, 3500), (5000, 3000, 2000))
    """
    for field, shares in PAYOUTS:
        if entrants in field:
            return shares
    raise TournamentError(f"no payout table for {entrants} entrants (2 to 90)")


def payouts(pool: Chips, entrants: int) -> tuple[Chips, ...]:
    """What 1st, 2nd, ... win: the shares of ``pool``, rounded down, and the odd chips
    left over one each to the higher places, so the payouts add up to the pool.

    >>> payouts(600, 6), payouts(1001, 9)
    ((390, 210), (501, 300, 200))
    """
    shares = payout_shares(entrants)
    paid = [pool * share // 10000 for share in shares]
    for place in range(pool - sum(paid)):
        paid[place] += 1
    return tuple(paid)


def bust_order(busted: dict[Player, Chips]) -> tuple[tuple[Player, ...], ...]:
    """The players who busted in one hand, ``{player: stack at the start of the hand}``,
    as groups in the order they finish: the smaller starting stack busts first (finishes
    lower); equal stacks tie, and share their places. Within a tie the players keep the
    order given (the server gives seat order clockwise from the button: the odd-chip rule
    of a split pot).

    >>> bust_order({"ann": 500, "bob": 200, "cy": 500})
    (('bob',), ('ann', 'cy'))
    """
    by_stack: dict[Chips, list[Player]] = {}
    for player, stack in busted.items():
        by_stack.setdefault(stack, []).append(player)
    return tuple(tuple(by_stack[stack]) for stack in sorted(by_stack))


def prizes(pool: Chips, entrants: int, group: tuple[Player, ...],
           remaining: int) -> dict[Player, Chips]:
    """What a group busting together wins when ``remaining`` players (the group
    included) were left: the group takes places ``remaining - len(group) + 1`` to
    ``remaining``; tied players split those places' payouts evenly, the odd chips one
    each to the first of them.

    >>> prizes(900, 9, ("ann",), 3)
    {'ann': 180}
    >>> prizes(903, 9, ("ann", "bob"), 3)      # 2nd and 3rd (271 + 180) split
    {'ann': 226, 'bob': 225}
    """
    paid = payouts(pool, entrants)
    best = remaining - len(group) + 1
    total = sum(paid[best - 1:remaining])
    share, odd = divmod(total, len(group))
    return {player: share + (i < odd) for i, player in enumerate(group)}


# ---------------------------------------------------------------------------
# Sitting out: posted and folded, never forfeited


def absent_action(table: Table, absent) -> Action | None:
    """The action to take for an absent (sitting out or disconnected) player whose turn it is.

    In a tournament nobody is sat out of the deal (:class:`~game.table.SitOut` is never
    applied): an absent player stays in, the blinds and the big-blind ante are posted
    from their stack when the hand starts, and on their turn they check if they can
    and otherwise fold (:class:`~game.table.Timeout`), until they come back. ``absent``
    is the players (names) the server holds to be away; ``None`` when nothing is due.
    """
    hand = table.hand
    if not table.hand_running or hand.to_act is None:
        return None
    seat = table.seats[hand.to_act]
    return Timeout(hand.to_act) if seat is not None and seat.player in absent else None


# ---------------------------------------------------------------------------
# Seats: where the big blind goes next, the worst seat for a newcomer


def _clockwise_after(index: int, size: int) -> list[int]:
    return [(index + k) % size for k in range(1, size + 1)]


def players_at(table: Table) -> list[Player]:
    """The players seated at ``table`` (busted or not), in seat order."""
    return [s.player for s in table.seats if s is not None and not s.leaving]


def next_big_blind(table: Table) -> int | None:
    """The seat that posts the big blind in the table's next hand (dead button rule of
    :mod:`game.table`: the next player with chips after the last big blind); ``None``
    when fewer than two players could be dealt in."""
    players = dealable(table)
    if len(players) < 2:
        return None
    size = len(table.seats)
    if table.big_blind_pos is None:
        # The table's first hand: the button one seat on, then the blinds.
        last = table.button if table.button is not None else size - 1
        order = [i for i in _clockwise_after(last, size) if i in players]
        return order[1] if len(order) == 2 else order[2]
    return next(i for i in _clockwise_after(table.big_blind_pos, size) if i in players)


def worst_seat(table: Table) -> int:
    """The empty seat for a player joining ``table``: the first the big blind reaches
    (clockwise from the last big blind). The newcomer waits there for the big blind, as
    any new player at a table does (:mod:`game.table`), so they neither skip a blind
    nor post two, and the wait is as short as the table allows.

    >>> t = new_table(4, 1, 2)
    >>> worst_seat(t)
    0
    """
    size = len(table.seats)
    start = table.big_blind_pos if table.big_blind_pos is not None else size - 1
    for i in _clockwise_after(start, size):
        if table.seats[i] is None:
            return i
    raise TournamentError("the table is full")


# ---------------------------------------------------------------------------
# Sit-and-go and multi-table freezeout


@dataclass(frozen=True, slots=True)
class Moved:
    """``player`` was moved, with ``stack``, between hands of their old table."""

    player: Player
    from_table: int
    from_seat: int
    to_table: int
    to_seat: int
    stack: Chips


@dataclass(frozen=True, slots=True)
class Placed:
    """``player`` finished in ``place`` and won ``prize`` (players tied share a place
    number, the best of the places they cover, and split those places' prizes)."""

    player: Player
    place: int
    prize: Chips


@dataclass(frozen=True, slots=True)
class TableBroken:
    """Table ``table`` was broken up; its players were moved to the others."""

    table: int


TournamentEvent = Moved | Placed | TableBroken


@dataclass(frozen=True, slots=True)
class Tournament:
    """A freezeout: a sit-and-go when ``capacity`` is set (one table of that many seats,
    started when full), else a multi-table tournament with tables of ``seats``.

    ``buy_in`` (bankroll chips) makes the prize pool; everyone gets ``starting_stack``
    tournament chips. ``late_levels``: registration stays open during the first that
    many levels. ``tables`` holds ``(number, table)`` pairs (numbers from 1, by number);
    ``results`` the players who finished, first out first, with their place and prize.
    """

    buy_in: Chips
    starting_stack: Chips
    structure: BlindStructure
    seats: int = 9
    capacity: int = 0
    late_levels: int = 0
    registered: tuple[Player, ...] = ()
    started_at: Seconds | None = None
    tables: tuple[tuple[int, Table], ...] = ()
    results: tuple[Placed, ...] = ()

    def __post_init__(self):
        if self.buy_in < 0 or self.starting_stack <= 0:
            raise ValueError("a buy-in is not negative and a starting stack is positive")
        if not 2 <= self.seats <= 10 or self.capacity and not 2 <= self.capacity <= 10:
            raise ValueError("a table has 2 to 10 seats")

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def finished(self) -> bool:
        return self.started and len(self.results) == len(self.registered)

    @property
    def prize_pool(self) -> Chips:
        return self.buy_in * len(self.registered)

    def table(self, number: int) -> Table:
        for n, table in self.tables:
            if n == number:
                return table
        raise TournamentError(f"no table {number}")

    def players_left(self) -> list[Player]:
        """The players still in (with chips, or busted in a hand not yet settled)."""
        return [p for _, table in self.tables for p in players_at(table)]

    def chips(self) -> Chips:
        """All tournament chips in play: stacks and pots at every table."""
        return sum(table.chips() for _, table in self.tables)


def sit_and_go(seats: int, buy_in: Chips, starting_stack: Chips,
               structure: BlindStructure) -> Tournament:
    """A sit-and-go of ``seats`` players at one table."""
    return Tournament(buy_in, starting_stack, structure, seats=seats, capacity=seats)


def register(t: Tournament, player: Player, now: Seconds | None = None) -> Tournament:
    """Register ``player``. After the start (late registration, ``now`` needed) they are
    seated at once at the worst seat of the table with the fewest players (a new table
    when all are full), and finish above everyone already out, whose places move down
    one; so late registration closes once a player out would move into the money."""
    if not isinstance(player, str) or not player:
        raise TournamentError("a player needs a name")
    if player in t.registered:
        raise TournamentError(f"{player} is already registered")
    if t.started and (t.capacity or now is None or t.finished or clock(
            t.structure, t.started_at, now).level >= t.late_levels):
        raise TournamentError("registration is closed")
    if len(t.registered) >= (t.capacity or MAX_ENTRANTS):
        raise TournamentError("the tournament is full")
    if not t.started:
        return dataclasses.replace(t, registered=t.registered + (player,))
    paid = len(payout_shares(len(t.registered) + 1))
    if any(r.prize or r.place + 1 <= paid for r in t.results):
        raise TournamentError("registration is closed: the players out are in the money")
    results = tuple(dataclasses.replace(r, place=r.place + 1) for r in t.results)
    number = _shortest(t, exclude=None)
    t = dataclasses.replace(t, registered=t.registered + (player,), results=results)
    if len(players_at(t.table(number))) >= t.seats:   # every table full: open one
        number = max(n for n, _ in t.tables) + 1
        level = t.structure.levels[clock(t.structure, t.started_at, now).level]
        t = _with_table(t, number, _empty_table(t, level))
    table = t.table(number)
    table, _ = apply(table, SitDown(worst_seat(table), player, t.starting_stack))
    return _with_table(t, number, table)


def seat_of(t: Tournament, player: Player) -> tuple[int, int] | None:
    """``(table number, seat)`` of ``player``, or ``None`` (not seated: out, or not started)."""
    for number, table in t.tables:
        for i, s in enumerate(table.seats):
            if s is not None and not s.leaving and s.player == player:
                return number, i
    return None


def unregister(t: Tournament, player: Player) -> Tournament:
    """Take ``player`` off the list; only before the start (then the buy-in is refunded)."""
    if t.started:
        raise TournamentError("the tournament has started: no unregistering")
    if player not in t.registered:
        raise TournamentError(f"{player} is not registered")
    return dataclasses.replace(t, registered=tuple(p for p in t.registered if p != player))


def ready(t: Tournament) -> bool:
    """A sit-and-go starts when it is full."""
    return not t.started and bool(t.capacity) and len(t.registered) == t.capacity


def start(t: Tournament, now: Seconds, draw) -> Tournament:
    """Start at ``now``, seating the players in the order of ``draw`` (a random permutation
    of the registered players, made by the caller): as few tables as hold everyone, filled
    in turn so that no two differ by more than one player, each player in the next seat.

    >>> s = BlindStructure((Level(10, 20),), seconds=600)
    >>> t = Tournament(10, 1500, s)
    >>> for p in "abcdefghijk":
    ...     t = register(t, p)
    >>> t = start(t, 0, "kjihgfedcba")
    >>> [players_at(table) for _, table in t.tables]
    [['k', 'i', 'g', 'e', 'c', 'a'], ['j', 'h', 'f', 'd', 'b']]
    """
    if t.started:
        raise TournamentError("the tournament has already started")
    draw = tuple(draw)
    if sorted(draw) != sorted(t.registered) or len(set(draw)) != len(draw):
        raise TournamentError("the draw must be a permutation of the registered players")
    if len(draw) < 2:
        raise TournamentError("a tournament needs at least two players")
    if t.capacity and len(draw) != t.capacity:
        raise TournamentError("a sit-and-go starts when it is full")
    count = -(-len(draw) // t.seats)
    level = t.structure.levels[0]
    tables = [_empty_table(t, level) for _ in range(count)]
    for i, player in enumerate(draw):
        tables[i % count], _ = apply(tables[i % count], SitDown(i // count, player,
                                                                t.starting_stack))
    return dataclasses.replace(t, started_at=now,
                               tables=tuple((n + 1, table) for n, table in enumerate(tables)))


def _empty_table(t: Tournament, level: Level) -> Table:
    return new_table(t.capacity or t.seats, level.small_blind, level.big_blind, level.ante,
                     ante_kind="big_blind")


def _with_table(t: Tournament, number: int, table: Table | None) -> Tournament:
    """``t`` with table ``number`` replaced, added (kept by number), or removed (None)."""
    tables = {n: tb for n, tb in t.tables}
    if table is None:
        del tables[number]
    else:
        tables[number] = table
    return dataclasses.replace(t, tables=tuple(sorted(tables.items())))


def with_table(t: Tournament, number: int, table: Table) -> Tournament:
    """``t`` after the server applied actions to table ``number`` (it must hold the same
    players, give or take the chips: the tournament moves players, the table plays)."""
    if sorted(players_at(table)) != sorted(players_at(t.table(number))):
        raise TournamentError("the players at a table change only by the tournament's moves")
    return _with_table(t, number, table)


def _count(table: Table) -> int:
    return len(players_at(table))


def _shortest(t: Tournament, exclude: int | None) -> int:
    """The table with the fewest players (the lowest number on a tie), but ``exclude``."""
    return min((n for n, _ in t.tables if n != exclude),
               key=lambda n: (_count(t.table(n)), n))


def _move(t: Tournament, number: int, seat: int, to: int) -> tuple[Tournament, Moved]:
    """Move the player in ``seat`` of table ``number`` to the worst seat of table ``to``."""
    source, dest = t.table(number), t.table(to)
    player = source.seats[seat]
    source, _ = apply(source, StandUp(seat))
    new_seat = worst_seat(dest)
    dest, _ = apply(dest, SitDown(new_seat, player.player, player.stack))
    t = _with_table(_with_table(t, number, source), to, dest)
    return t, Moved(player.player, number, seat, to, new_seat, player.stack)


def tables_needed(t: Tournament) -> int:
    """As few tables as seat everyone left."""
    return -(-len(t.players_left()) // t.seats)


def between_hands(t: Tournament, number: int,
                  now: Seconds) -> tuple[Tournament, tuple[TournamentEvent, ...]]:
    """What the tournament does at table ``number`` once a hand is over, before the next:

    1. players left with no chips are out (the smaller stack at the start of the hand
       finishes lower; see :func:`bust_order`), with their place and prize; the last
       player left wins (players out at different tables are placed in the order their
       tables get here: there is no hand-for-hand play);
    2. the highest-numbered table breaks when fewer tables can seat everyone: each of
       its players goes to the worst seat of the table with the fewest players;
    3. otherwise, while this table has two players more than the shortest other table,
       the player who would post the next big blind here moves to the shortest table's
       worst seat;
    4. the table gets the blinds for its next hand (unchanged during a break).

    Nobody moves in the middle of a hand: only this table's players move, and only now.
    """
    if t.finished:
        raise TournamentError("the tournament is over")
    table = t.table(number)
    if table.hand_running:
        raise TournamentError("players move between hands only")
    events: list[TournamentEvent] = []
    t, table = _settle_busts(t, number, table, events)
    if t.finished:
        return t, tuple(events)
    highest = max(n for n, _ in t.tables)
    if len(t.tables) > tables_needed(t) and number == highest:
        events.append(TableBroken(number))
        for seat in _break_order(table):
            t, moved = _move(t, number, seat, _shortest(t, exclude=number))
            events.append(moved)
        return _with_table(t, number, None), tuple(events)
    breaking = highest if len(t.tables) > tables_needed(t) else None
    while len(t.tables) > 1:
        others = [n for n, _ in t.tables if n not in (number, breaking)]
        if not others:
            break
        shortest = min(others, key=lambda n: (_count(t.table(n)), n))
        if _count(t.table(number)) < _count(t.table(shortest)) + 2:
            break
        t, moved = _move(t, number, next_big_blind(t.table(number)), shortest)
        events.append(moved)
    level = blinds_for_next_hand(t.structure, t.started_at, now, t.table(number).hand_number)
    if level is not None:
        t = _with_table(t, number, with_level(t.table(number), level))
    return t, tuple(events)


def _break_order(table: Table) -> list[int]:
    """The seats of a table being broken, from the next big blind on."""
    first = next_big_blind(table)
    size = len(table.seats)
    start = first - 1 if first is not None else size - 1
    return [i for i in _clockwise_after(start, size) if table.seats[i] is not None]


def _settle_busts(t: Tournament, number: int, table: Table,
                  events: list[TournamentEvent]) -> tuple[Tournament, Table]:
    """Take the players with no chips off the table, placed; place the winner."""
    size = len(table.seats)
    button = table.button if table.button is not None else size - 1
    out = {}
    for i in _clockwise_after(button, size):        # from the button: the odd-chip order
        s = table.seats[i]
        if s is not None and s.stack == 0:
            # A player who busted put in all they had at the start of the hand.
            out[s.player] = s.total
            table, _ = apply(table, StandUp(i))
    t = _with_table(t, number, table)
    remaining = len(t.players_left()) + len(out)
    results = list(t.results)
    for group in bust_order(out):
        won = prizes(t.prize_pool, len(t.registered), group, remaining)
        for player in group:
            results.append(Placed(player, remaining - len(group) + 1, won[player]))
        remaining -= len(group)
    if remaining == 1:
        (winner,) = t.players_left()
        results.append(Placed(winner, 1, prizes(t.prize_pool, len(t.registered),
                                                (winner,), 1)[winner]))
    events.extend(results[len(t.results):])
    return dataclasses.replace(t, results=tuple(results)), table


def final_table(t: Tournament) -> bool:
    """Everyone left sits at one table."""
    return t.started and len(t.tables) == 1
