"""The games a table can play, named by their PHH variant codes, and what differs between them.

Every difference between the games lives here, as a small pure function that
:mod:`game.table` asks: how many hole cards are dealt, how a hand is ranked at
the showdown, and how much a bet or raise may be. Everything else (blinds,
side pots, odd chips, short all-ins, the showdown order) is the same engine.

- ``"NT"`` No-Limit Texas Hold'em (the default; images from before games existed)
- ``"PO"`` Pot-Limit Omaha: four hole cards, ``"PO5"`` its five-card form; a hand
  uses exactly two hole cards and three board cards; the most a bet or raise may
  be is the pot after calling.
- ``"FT"`` Fixed-Limit Texas Hold'em: every bet and raise is the small bet (the big
  blind) preflop and on the flop, the big bet (twice it) on the turn and river; a
  bet and three raises per street (the big blind is the bet preflop). The cap also
  holds heads-up.

>>> label("PO", 1, 2), label("FT", 1, 2), label("NT", 1, 2)
('PLO 1/2', 'FL 2/4', 'NL 1/2')
>>> hole_cards("PO"), hole_cards("FT")
(4, 2)
"""

from __future__ import annotations

from game.cards import Card
from game.evaluator import evaluate, evaluate_omaha

Game = str  # a PHH variant code: "NT", "PO", "PO5" (ours: PHH has no 5-card PLO), "FT"

GAMES: tuple[Game, ...] = ("NT", "PO", "PO5", "FT")
NAMES = {"NT": "No-Limit Hold'em", "PO": "Pot-Limit Omaha", "PO5": "5-Card Pot-Limit Omaha",
         "FT": "Fixed-Limit Hold'em"}
_SHORT = {"NT": "NL", "PO": "PLO", "PO5": "PLO5", "FT": "FL"}
_HOLE_CARDS = {"NT": 2, "PO": 4, "PO5": 5, "FT": 2}
#: "no", "pot" or "fixed": how big a bet or raise may be
LIMIT = {"NT": "no", "PO": "pot", "PO5": "pot", "FT": "fixed"}
#: fixed limit: a bet and this many raises per street
RAISES_CAP = 3


def check_game(game) -> Game:
    """``game`` if it is a known game code, else ``ValueError``.

    >>> check_game("XX")
    Traceback (most recent call last):
    ...
    ValueError: the game is one of NT, PO, PO5, FT, not 'XX'
    """
    if game not in GAMES:
        raise ValueError(f"the game is one of {', '.join(GAMES)}, not {game!r}")
    return game


def hole_cards(game: Game) -> int:
    """How many hole cards each player is dealt."""
    return _HOLE_CARDS[game]


def strength(game: Game, hole: tuple[Card, ...], board: tuple[Card, ...]) -> int:
    """The value of a player's best hand at the showdown (higher wins, equal ties).

    >>> from game.cards import parse_cards
    >>> board = parse_cards("Ah Kh Qh Jh 2c")
    >>> strength("NT", parse_cards("Th 3c"), board) > strength("PO", parse_cards("Th 3c 4d 5d"), board)
    True
    """
    if game in ("PO", "PO5"):
        return evaluate_omaha(hole, board)
    return evaluate(hole + board)


def label(game: Game, small_blind: int, big_blind: int) -> str:
    """How the lobby shows a table's game and stakes; fixed limit shows its two bet sizes."""
    if LIMIT[game] == "fixed":
        return f"{_SHORT[game]} {big_blind}/{2 * big_blind}"
    return f"{_SHORT[game]} {small_blind}/{big_blind}"


def fixed_bet(big_blind: int, street: str) -> int:
    """Fixed limit: the size of every bet and raise on ``street``.

    >>> fixed_bet(2, "flop"), fixed_bet(2, "turn")
    (2, 4)
    """
    return big_blind if street in ("preflop", "flop") else 2 * big_blind


def pot_limit_to(current_bet: int, to_call: int, pot: int) -> int:
    """Pot limit: the most a player may bet or raise *to*: call, then raise by the pot
    as it is after the call (``pot`` counts every chip put in, this street's bets too).

    Blinds 1/2, under the gun: call 2, the pot is then 5, so raise to 2 + 5 = 7:

    >>> pot_limit_to(2, 2, 3)
    7

    Facing a bet of 10 into 20 the pot is 30; calling makes it 40; a raise to 50:

    >>> pot_limit_to(10, 10, 30)
    50
    """
    return current_bet + pot + to_call


def deck_fits(game: Game, seats: int, boards: int = 1) -> bool:
    """Whether one deck deals every seat and ``boards`` boards (no burn cards).

    >>> deck_fits("PO5", 10), deck_fits("PO5", 9), deck_fits("PO", 10, boards=2)
    (False, True, True)
    """
    return seats * hole_cards(game) + 5 * boards <= 52
