"""A compact notation for scripted hands, so rule tests read like hand histories.

    t = deal([1000, 180, 1000], blinds=(50, 100), button=0)
    t = play(t, "0 call, 1 allin, 2 call")
"""

from __future__ import annotations

from dataclasses import replace

from game.events import to_json
from game.cards import DECK, parse_cards
from game.pots import clockwise_from
from game.variants import hole_cards
from game.table import (AllIn, Bet, Call, Check, Fold, Muck, Raise, Show, SitDown, StartHand,
                        Table, Timeout, apply, new_table)

VERBS = {"fold": Fold, "check": Check, "call": Call, "allin": AllIn, "timeout": Timeout,
         "show": Show, "muck": Muck}


def seated(stacks, blinds=(1, 2), ante=0, game="NT") -> Table:
    """A table with one seat per entry of ``stacks`` (``None`` leaves it empty)."""
    t = new_table(len(stacks), *blinds, ante=ante, game=game)
    for i, stack in enumerate(stacks):
        if stack is not None:
            t, _ = apply(t, SitDown(i, f"p{i}", stack))
    return t


def stacked_deck(order, holes: dict[int, str], board: str = "",
                 count: int = 2) -> tuple[str, ...]:
    """A deck that deals ``holes`` (seat -> "AsKd") in dealing ``order``, then ``board``."""
    fixed = {s: parse_cards(c) for s, c in holes.items()}
    board_cards = parse_cards(board)
    used = set(board_cards).union(*fixed.values()) if fixed else set(board_cards)
    rest = [c for c in DECK if c not in used]
    deck = []
    for round_ in range(count):
        for seat in order:
            deck.append(fixed[seat][round_] if seat in fixed else rest.pop())
    deck.extend(board_cards)
    deck.extend(rest)
    return tuple(deck)


def deal(stacks, blinds=(1, 2), button=0, holes=None, board="", ante=0, table=None,
         game="NT"):
    """Seat the stacks (or take ``table``, where no hand was played yet), put the button on
    ``button`` and start a hand.

    Returns ``(table, events)``.
    """
    t = table if table is not None else seated(stacks, blinds, ante, game)
    size = len(t.seats)
    if t.big_blind_pos is None:
        t = replace(t, button=(button - 1) % size)  # a fresh start moves it one seat on
    players = [i for i, s in enumerate(t.seats) if s and s.stack > 0 and not s.sitting_out]
    order = clockwise_from(button, players, size)
    count = hole_cards(t.game)
    t, events = apply(t, StartHand(stacked_deck(order, holes or {}, board, count)))
    return t, events


def play(t: Table, script: str) -> tuple[Table, list[dict]]:
    """Apply "seat verb [amount]" steps separated by commas; return table and all events."""
    events = []
    for step in filter(None, (s.strip() for s in script.split(","))):
        seat, verb, *amount = step.split()
        seat = int(seat)
        if verb in ("bet", "raise"):
            action = (Bet if verb == "bet" else Raise)(seat, int(amount[0]))
        else:
            action = VERBS[verb](seat)
        t, ev = apply(t, action)
        events.extend(ev)
    return t, events


def stacks(t: Table) -> list[int | None]:
    return [s.stack if s else None for s in t.seats]


def of_type(events, kind: str) -> list[dict]:
    """The events of one kind, as the wire carries them (JSON data)."""
    return [to_json(e) for e in events if e.type == kind]
