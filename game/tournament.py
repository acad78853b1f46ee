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

from game.table import Table, new_table

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
