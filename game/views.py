"""What one viewer may see: a seat sees its own hole cards, everyone sees shown cards.

The deck, other seats' hole cards before they are shown, and mucked cards
never appear in a view. ``viewer`` is a seat index, or ``None`` for a
spectator.
"""

from __future__ import annotations

from game.events import Event, HoleCards
from game.pots import side_pots
from game.table import Table, dealable, legal_actions


def table_view(table: Table, viewer: int | None = None) -> dict:
    """The table as ``viewer`` may see it, as plain JSON data."""
    hand = table.hand
    waits = waiting_for_big_blind(table)
    seats = []
    for i, s in enumerate(table.seats):
        if s is None:
            seats.append(None)
            continue
        # A player who left is no longer the seat's viewer; their hand, if it
        # plays on and is shown, is public like any other.
        visible = s.cards if (i == viewer and not s.leaving) or s.shown else None
        seats.append({
            "seat": i, "player": s.player, "stack": s.stack, "bet": s.bet,
            "sitting_out": s.sitting_out, "waiting": s.waiting, "in_hand": s.in_hand,
            "leaving": s.leaving, "sit_out_next": s.sit_out_after,
            "folded": s.folded, "all_in": s.all_in and table.hand_running,
            "has_cards": s.live and table.hand_running,
            "cards": list(visible) if visible else None, "mucked": s.mucked,
            "missed_blinds": s.missed, "posting": s.posting, "run_twice": s.run_twice,
        })
        if i in waits:      # only when true: most seats do not wait, and frames stay small
            seats[-1]["waits_for_big_blind"] = True
    view = {"seats": seats, "small_blind": table.small_blind, "big_blind": table.big_blind,
            "ante": table.ante, "ante_kind": table.ante_kind, "straddle": table.straddle,
            "run_it_twice": table.run_it_twice, "game": table.game, "hand": None,
            "legal": None}
    if hand is not None:
        view["hand"] = {
            "number": hand.number, "street": hand.street, "board": list(hand.board),
            "second_board": list(hand.second_board) if hand.second_board else None,
            "button": hand.button, "small_blind": hand.small_blind_seat,
            "big_blind": hand.big_blind_seat, "straddle": hand.straddle_seat,
            "to_act": hand.to_act, "current_bet": hand.current_bet, "min_raise": hand.min_raise,
            "pots": [p.to_json() for p in collected_pots(table)],
        }
        legal = legal_actions(table)
        if legal is not None and legal.seat == viewer:
            view["legal"] = legal.to_json()
    return view


def waiting_for_big_blind(table: Table) -> set[int]:
    """The seats that will not be dealt in before the big blind reaches them.

    Such a seat has chips, is not sitting out, leaving or playing the running hand, and
    is ``waiting`` (it sat down, came back, or topped up from zero); and the game goes
    on without it: the table has dealt a hand before and at least two other players are
    ready for the next one (with fewer, or on a table's first hand, everyone is dealt in
    at once: :func:`game.table.apply`'s ``_positions``). Ready: not waiting, not sitting
    out or leaving or sitting out after this hand, and with chips (or still in the
    running hand, whose chips are not counted yet).

    >>> from game.table import SitDown, StartHand, new_table, apply
    >>> from game.cards import DECK
    >>> t = new_table(3, 1, 2)
    >>> t, _ = apply(t, SitDown(0, "ann", 100))
    >>> t, _ = apply(t, SitDown(1, "bob", 100))
    >>> waiting_for_big_blind(t)       # the first hand deals everyone in
    set()
    >>> t, _ = apply(t, StartHand(DECK))
    >>> t, _ = apply(t, SitDown(2, "cat", 100))
    >>> waiting_for_big_blind(t)
    {2}
    """
    if table.big_blind_pos is None:
        return set()
    running = table.hand_running
    chips = set(dealable(table))

    def ready(s, i) -> bool:
        return (not s.waiting and not s.sitting_out and not s.leaving and s.sit_out_after != "hand"
                and (i in chips or (running and s.in_hand and not s.folded)))

    if sum(1 for i, s in enumerate(table.seats) if s is not None and ready(s, i)) < 2:
        return set()
    return {i for i, s in enumerate(table.seats)
            if s is not None and s.waiting and i in chips and not (running and s.in_hand)}


def collected_pots(table: Table) -> list:
    """The pots as collected at the end of the last betting round: this street's bets,
    shown in front of each seat, are not in them yet (as in the ``pots`` event)."""
    if not table.hand_running:
        return []
    seats = [s if s and s.in_hand else None for s in table.seats]
    return side_pots({i: s.total - s.dead - s.bet for i, s in enumerate(seats) if s},
                     {i for i, s in enumerate(seats) if s and s.live},
                     sum(s.dead for s in seats if s))


def event_view(event: Event, viewer: int | None = None) -> Event:
    """The event as ``viewer`` may see it (the same value when nothing is hidden).

    Only hole cards are private: another viewer learns that the seat got its
    cards, not which, nor whose they were.

    >>> event_view(HoleCards(2, "p7", ("As", "Kd")), viewer=3)
    HoleCards(seat=2, player=None, cards=None)
    >>> event_view(HoleCards(2, "p7", ("As", "Kd")), viewer=2)
    HoleCards(seat=2, player='p7', cards=('As', 'Kd'))
    """
    if type(event) is HoleCards and event.seat != viewer:
        return HoleCards(event.seat, None, None)
    return event
