"""Cards as plain two-character strings: rank then suit, ``"As"``, ``"Td"``, ``"2c"``.

Strings keep tables, events, snapshots and PHH files readable and make JSON
round trips exact; the evaluator maps them to numbers internally.

>>> parse_cards("AsKd")
('As', 'Kd')
>>> len(set(DECK))
52
"""

from __future__ import annotations

Card = str

RANKS = "23456789TJQKA"
SUITS = "cdhs"
DECK: tuple[Card, ...] = tuple(r + s for r in RANKS for s in SUITS)
_VALID = frozenset(DECK)


class CardError(ValueError):
    """A card or list of cards that cannot be parsed."""


def parse_card(text: str) -> Card:
    """Validate one card.

    >>> parse_card("Qh")
    'Qh'
    >>> parse_card("Xx")
    Traceback (most recent call last):
    ...
    game.cards.CardError: not a card: 'Xx'
    """
    if text not in _VALID:
        raise CardError(f"not a card: {text!r}")
    return text


def parse_cards(text: str) -> tuple[Card, ...]:
    """Split a run of cards like ``"Jc3d5c"`` (spaces allowed) into a tuple.

    >>> parse_cards("Jc 3d5c")
    ('Jc', '3d', '5c')
    """
    text = text.replace(" ", "")
    if len(text) % 2:
        raise CardError(f"odd number of characters in cards: {text!r}")
    return tuple(parse_card(text[i:i + 2]) for i in range(0, len(text), 2))


def is_deck(cards) -> bool:
    """True when ``cards`` is the 52 distinct cards in some order."""
    return len(cards) == 52 and set(cards) == _VALID
