"""Side pots from contributions, and splitting a pot with the odd-chip rule.

Pure arithmetic on plain numbers: seats are ints, chips are ints.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pot:
    """A pot and the seats that may win it."""

    amount: int
    eligible: tuple[int, ...]

    def to_json(self) -> dict:
        return {"amount": self.amount, "eligible": list(self.eligible)}


def side_pots(contributions: dict[int, int], live: set[int] | frozenset[int],
              dead: int = 0) -> list[Pot]:
    """Split what each seat put in into a main pot and side pots.

    ``contributions`` maps seat -> chips put in this hand (folded seats too);
    ``live`` is the seats still in the hand. Pot levels come from the live
    seats' contributions; a folded seat's chips go into the pots its chips
    reach but it is eligible for none. Empty pots are never produced, and
    chips above the highest live level (which only happens if the uncalled
    bet was not returned) fall into the last pot, so no chip is ever lost.

    Case 5 of the rule cases: stacks 1000/2501/4000/10000 all in, the big
    stack's uncalled 6000 already returned.

    >>> side_pots({0: 1000, 1: 2501, 2: 4000, 3: 4000}, {0, 1, 2, 3})
    [Pot(amount=4000, eligible=(0, 1, 2, 3)), Pot(amount=4503, eligible=(1, 2, 3)), Pot(amount=2998, eligible=(2, 3))]

    A folded seat's chips stay in the pot:

    >>> side_pots({0: 50, 1: 100, 2: 100}, {1, 2})
    [Pot(amount=250, eligible=(1, 2))]

    ``dead`` money (a big-blind ante, a dead small blind) is in no one's
    contribution: it goes to the main pot, which every live player may win.
    A live player who put in only dead money (all in on a big-blind ante)
    is eligible for that money alone:

    >>> side_pots({0: 0, 1: 100, 2: 100}, {0, 1, 2}, dead=20)
    [Pot(amount=20, eligible=(0, 1, 2)), Pot(amount=200, eligible=(1, 2))]
    >>> side_pots({0: 50, 1: 100, 2: 100}, {0, 1, 2}, dead=20)
    [Pot(amount=170, eligible=(0, 1, 2)), Pot(amount=100, eligible=(1, 2))]
    """
    levels = sorted({contributions[s] for s in live if contributions.get(s, 0) > 0})
    pots: list[Pot] = []
    if dead:
        if not levels or any(contributions.get(s, 0) == 0 for s in live):
            pots.append(Pot(dead, tuple(sorted(live))))
            dead = 0
    previous = 0
    for level in levels:
        amount = sum(min(c, level) - min(c, previous) for c in contributions.values())
        eligible = tuple(sorted(s for s in live if contributions[s] >= level))
        amount, dead = amount + dead, 0
        if amount:
            pots.append(Pot(amount, eligible))
        previous = level
    leftover = sum(max(0, c - previous) for c in contributions.values())
    if leftover:
        if pots:
            last = pots[-1]
            pots[-1] = Pot(last.amount + leftover, last.eligible)
        else:  # nobody live put anything in: cannot happen in a real hand
            pots.append(Pot(leftover, tuple(sorted(live))))
    return pots


def split_pot(amount: int, winners_in_order: list[int]) -> dict[int, int]:
    """Share ``amount`` among winners, odd chips one at a time in the given order.

    The caller passes winners ordered starting left of the button (rule case 6).

    >>> split_pot(328, [4, 7, 1])
    {4: 110, 7: 109, 1: 109}
    >>> split_pot(5, [2])
    {2: 5}
    """
    share, odd = divmod(amount, len(winners_in_order))
    return {seat: share + (1 if i < odd else 0) for i, seat in enumerate(winners_in_order)}


def clockwise_from(start: int, seats: list[int] | tuple[int, ...], size: int) -> list[int]:
    """Order ``seats`` clockwise beginning with the first seat after ``start``.

    >>> clockwise_from(3, [0, 2, 4, 5], 6)
    [4, 5, 0, 2]
    """
    return sorted(seats, key=lambda s: (s - start - 1) % size)
