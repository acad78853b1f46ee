"""Read, replay and write PHH hand histories of the games of :mod:`game.variants`.

No-Limit Texas Hold'em (variant ``"NT"``), Pot-Limit Omaha (``"PO"``, four hole
cards; ``"PO5"``, five, is our own code, which only we read) and Fixed-Limit
Hold'em (``"FT"``, with ``small_bet`` and ``big_bet`` instead of ``min_bet``).

PHH (the open Poker Hand History format, see ``shared/phh.md``) is TOML: one
hand per ``.phh`` file, many (tables ``[1]``, ``[2]``, ...) in a ``.phhs``
file. Players p1..pN are in position order, p1 left of the button and pN
the button; blinds and antes are implicit, ``actions`` lists the rest.

Replaying plays a hand through *our* rules (:func:`game.table.apply`), so a
history our rules reject fails with the reason:

>>> example = '''
... variant = "NT"
... antes = [0, 0, 0]
... blinds_or_straddles = [50, 100, 0]
... min_bet = 100
... starting_stacks = [10000, 10000, 10000]
... actions = [
...   "d dh p1 7c2d", "d dh p2 QhQd", "d dh p3 AsKs",
...   "p3 cbr 300", "p1 f", "p2 cc",
...   "d db 2h7h9c",
...   "p2 cc", "p3 cbr 400", "p2 f",
... ]
... finishing_stacks = [9950, 9700, 10350]
... '''
>>> replay(loads_phh(example)).finishing_stacks
[9950, 9700, 10350]
>>> replay(loads_phh(example.replace("p3 cbr 300", "p3 cbr 150")))
Traceback (most recent call last):
...
game.phh.PHHError: action 'p3 cbr 150' (#4): the minimum raise is to 200

Writing goes the other way: :func:`hand_to_phh` takes the table as it was
before a hand plus the actions that played it (``StartHand`` first) and
gives the PHH fields; :func:`dumps_phh` writes them as TOML. With
``viewer=seat`` the hole cards that seat did not see become ``????``.

From the command line, ``python -m game.phh replay FILE...`` prints one JSON
line per hand and exits 1 if any hand fails or ends with other stacks than
its ``finishing_stacks``.

What we read, beyond the basic fields:

- forced bets as pokerkit reads them: antes the same for everyone (dead
  money in the main pot unless ``ante_trimming_status = true``, the PHH
  default being false), or one big-blind ante; a small and a big blind (or
  a big blind alone: a dead small blind), an under-the-gun straddle, and
  negative entries for a big blind posted out of position (a player back
  from missing it; a small blind they missed is their ``antes`` entry, dead);
- amounts with decimals (dollars and cents): read in the smallest unit the
  file uses, and given back in it (``unit`` in the output);
- hole cards nobody knows (``????``): a hand that never shows them cannot
  win a pot against a shown hand (as in pokerkit); a pot only such hands
  contest has no known winner, and the replay says so; an all-in hand
  nobody knows is out of the contest if the file mucks it (``pN sm``);
- the check pokerkit writes for the last player with chips when everyone
  else is all in (our rules deal on without asking it);
- run twice, as our extension: ``_runout_count = 2``, and the second board's
  ``d db`` lines after the first's (PHH has no notation for it yet).

Limits: the variants above; one straddle at most; ``min_bet`` (fixed limit:
``small_bet``) equal to the big blind, and ``big_bet`` twice it. Our PHH
conventions, for readers of our files, are in ``docs/phh.md``.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal

from game.cards import DECK, Card, CardError, parse_card
from game.events import (Acted, Blind, HandStarted, HoleCards, Left, Mucked, SecondBoard, Shown,
                         Street, TimedOut, Uncalled)
from game.pots import clockwise_from
from game.variants import GAMES, hole_cards
from game.table import (MAX_SEATS, Bet, Call, Check, Fold, IllegalAction, Muck, Raise, Show,
                        SitDown, StartHand, Table, Timeout, apply, legal_actions, new_table, pots,
                        showdown_awards)

UNKNOWN = "??"
SPECTATOR = -1  # a ``viewer`` who holds no seat: sees only the cards shown
RUNOUTS = "_runout_count"  # our extension: 2 when the board was run twice


class PHHError(ValueError):
    """A hand history we cannot read or replay; the message says why."""


# ---------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class PHHAction:
    """One entry of ``actions``. ``player`` counts from 0 (p1 is 0); None for the dealer.

    ``verb`` is ``dh``, ``db``, ``f``, ``cc``, ``cbr``, ``sm`` or ``#`` (a
    line that is only a commentary). Unknown cards are ``"??"``. An amount
    with decimals is a ``Decimal``.

    >>> parse_action("p2 cbr 600 # a raise")
    PHHAction(verb='cbr', player=1, cards=(), amount=600, comment='a raise')
    >>> parse_action("p2 cbr 1.25").amount
    Decimal('1.25')
    >>> parse_action("d dh p1 As??")
    PHHAction(verb='dh', player=0, cards=('As', '??'), amount=None, comment=None)
    >>> parse_action("p1 sm")
    PHHAction(verb='sm', player=0, cards=(), amount=None, comment=None)
    >>> parse_action("p1 raises")
    Traceback (most recent call last):
    ...
    game.phh.PHHError: not a PHH action: 'p1 raises'
    """

    verb: str
    player: int | None = None
    cards: tuple[Card, ...] = ()
    amount: int | Decimal | None = None
    comment: str | None = None


_PLAYER = re.compile(r"p([1-9][0-9]*)")


def _phh_cards(text: str) -> tuple[Card, ...]:
    if len(text) % 2:
        raise PHHError(f"not cards: {text!r}")
    cards = []
    for i in range(0, len(text), 2):
        card = text[i:i + 2]
        try:
            cards.append(card if card == UNKNOWN else parse_card(card))
        except CardError:
            raise PHHError(f"not a card: {card!r}") from None
    return tuple(cards)


def parse_action(text: str) -> PHHAction:
    """Parse one action line (see :class:`PHHAction`); raises :class:`PHHError`."""
    if not isinstance(text, str):
        raise PHHError(f"an action must be a string, not {text!r}")
    body, hash_, comment = text.partition("#")
    comment = comment.strip() if hash_ else None
    words = body.split()
    player = None
    if words and _PLAYER.fullmatch(words[0]):
        player = int(words[0][1:]) - 1
    match words:
        case []:
            if comment is None:
                raise PHHError("an empty action")
            return PHHAction("#", comment=comment)
        case ["d", "dh", p, cards] if _PLAYER.fullmatch(p):
            return PHHAction("dh", int(p[1:]) - 1, _phh_cards(cards), comment=comment)
        case ["d", "db", cards]:
            return PHHAction("db", None, _phh_cards(cards), comment=comment)
        case [_, ("f" | "cc") as verb] if player is not None:
            return PHHAction(verb, player, comment=comment)
        case [_, "cbr", amount] if player is not None:
            if re.fullmatch(r"[0-9]+", amount):
                return PHHAction("cbr", player, amount=int(amount), comment=comment)
            if re.fullmatch(r"[0-9]+\.[0-9]+", amount):
                return PHHAction("cbr", player, amount=Decimal(amount), comment=comment)
            raise PHHError(f"not an amount: {amount!r}")
        case [_, "sm"] if player is not None:
            return PHHAction("sm", player, comment=comment)
        case [_, "sm", "-"] if player is not None:  # pokerkit: show, cards not given
            return PHHAction("sm", player, (UNKNOWN, UNKNOWN), comment=comment)
        case [_, "sm", cards] if player is not None:
            return PHHAction("sm", player, _phh_cards(cards), comment=comment)
        case [_, ("sd" | "pb"), *_] if player is not None:
            raise PHHError(f"unsupported in No-Limit Hold'em: {text!r}")
    raise PHHError(f"not a PHH action: {text!r}")


def loads_phh(text: str) -> dict:
    """The fields of a one-hand ``.phh`` text (TOML); raises :class:`PHHError`.

    Numbers with decimals are read exactly (as ``Decimal``).
    """
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PHHError(f"not TOML: {e}") from None


def loads_phhs(text: str) -> list[tuple[str | None, dict]]:
    """The hands of a ``.phhs`` text as ``(key, fields)``; a lone hand gets key None.

    >>> [key for key, _ in loads_phhs('[1]\\nvariant = "NT"\\n[2]\\nvariant = "NT"\\n')]
    ['1', '2']
    """
    doc = loads_phh(text)
    if "actions" in doc or "variant" in doc:
        return [(None, doc)]
    if doc and all(isinstance(v, dict) for v in doc.values()):
        return list(doc.items())
    raise PHHError("neither a hand nor tables of hands")


# ---------------------------------------------------------------------------
# Amounts


def _is_amount(value) -> bool:
    return (type(value) is int or (type(value) is Decimal and value.is_finite())) \
        and type(value) is not bool


def _unit(hand: dict, lines: list[PHHAction]) -> Decimal:
    """The smallest unit the file's amounts use: 1, or 0.1, 0.01, ... for decimals.

    >>> _unit({"starting_stacks": [Decimal("10.5"), 20], "min_bet": Decimal("0.25")}, [])
    Decimal('0.01')
    """
    values = [hand.get("min_bet")]
    for name in ("starting_stacks", "antes", "blinds_or_straddles"):
        v = hand.get(name)
        values.extend(v if isinstance(v, list) else [v])
    values.extend(a.amount for a in lines if a.verb == "cbr")
    places = 0
    for v in values:
        if type(v) is Decimal and v.is_finite():
            places = max(places, -v.normalize().as_tuple().exponent)
    return Decimal(1).scaleb(-places) if places > 0 else Decimal(1)


def _chips(value, what: str, unit: Decimal, signed: bool = False) -> int:
    """``value`` (in the file's unit) as whole chips of ``unit``; raises :class:`PHHError`."""
    if not _is_amount(value):
        raise PHHError(f"unsupported: {what} {value!r} (not a finite amount)")
    if value < 0 and not signed:
        raise PHHError(f"{what} cannot be negative: {value}")
    chips = value if unit == 1 and type(value) is int else value / unit
    if chips != int(chips):
        raise PHHError(f"{what} {value} is not a whole number of {unit}")
    return int(chips)


def _in_unit(chips: int, unit: Decimal) -> str:
    """An amount of whole chips as the file writes it, in its unit (0 stays 0).

    >>> _in_unit(150, Decimal("0.01")), _in_unit(-5, Decimal("0.01")), _in_unit(150, Decimal(1))
    ('1.50', '-0.05', '150')
    """
    return str(chips) if unit == 1 or chips == 0 else format(chips * unit, "f")


def _list_in_unit(chips: list[int], unit: Decimal) -> str:
    return "[" + ", ".join(_in_unit(c, unit) for c in chips) + "]"


# A whole number in a reason our rules give, unless it is part of a word or a
# number, a count of seats or raises, or a seat number: an amount of chips.
_AMOUNT = re.compile(r"(?<![\w.#])(?<!seat )(\d+)(?![\w.]| seats| raises)")


def _reason_in_unit(reason: str, unit: Decimal) -> str:
    """A reason of our rules (which count whole chips) with its amounts in the file's unit.

    >>> _reason_in_unit("the minimum raise is to 100", Decimal("0.01"))
    'the minimum raise is to 1.00'
    >>> _reason_in_unit("fixed limit: a bet and 3 raises were made on this street",
    ...                 Decimal("0.01"))
    'fixed limit: a bet and 3 raises were made on this street'
    """
    if unit == 1:
        return reason
    return _AMOUNT.sub(lambda m: _in_unit(int(m.group(1)), unit), reason)


def _per_player(hand: dict, name: str, count: int, unit: Decimal,
                signed: bool = False) -> list[int]:
    value = hand.get(name, 0)
    if _is_amount(value):
        value = [value] * count
    if not isinstance(value, list) or len(value) > count:
        raise PHHError(f"{name} must list at most one value per player")
    return [_chips(v, name, unit, signed) for v in value] + [0] * (count - len(value))


# ---------------------------------------------------------------------------
# Replaying


@dataclass(frozen=True, slots=True)
class _Setup:
    table: Table        # before StartHand
    seat_of: tuple[int, ...]  # PHH player index -> our seat index


def _forced_bets(hand: dict, n: int, unit: Decimal) -> dict:
    """Who posts what, per player (heads-up the file lists them the other way round).

    Amounts are in whole chips of ``unit``; the reasons given speak in the file's unit.
    """
    blinds = _per_player(hand, "blinds_or_straddles", n, unit, signed=True)
    antes = _per_player(hand, "antes", n, unit)
    shown = f"blinds_or_straddles {_list_in_unit(blinds, unit)}"
    written_antes = _list_in_unit(antes, unit)
    if n == 2:
        blinds.reverse()
        antes.reverse()
    if not _is_amount(hand.get("min_bet")):
        raise PHHError(f"min_bet {hand.get('min_bet')!r} is not the big blind")
    big = _chips(hand["min_bet"], "min_bet", unit)
    posts = [i for i, b in enumerate(blinds) if b < 0]
    if posts and n == 2:
        # Both players post a blind every hand: nobody is back from missing one.
        raise PHHError(f"unsupported: {shown} (heads-up: a small and a big blind, none "
                       "posted out of position)")
    for i in posts:
        if blinds[i] != -big:
            raise PHHError(f"unsupported: p{i + 1} posts {_in_unit(-blinds[i], unit)} out of "
                           f"position (only a big blind, {_in_unit(big, unit)}, posted back "
                           "from missing it)")
    posted = [i for i, b in enumerate(blinds) if b > 0]
    if n == 2 and blinds[0] != big:
        raise PHHError(f"min_bet {hand['min_bet']} is not the big blind "
                       f"{_in_unit(blinds[0], unit)}")
    if big not in [blinds[i] for i in posted]:
        guess = max([0] + [blinds[i] for i in posted])
        raise PHHError(f"min_bet {hand['min_bet']} is not the big blind {_in_unit(guess, unit)}")
    small_at = straddle_at = big_at = None
    if n == 2:
        if not 0 < blinds[1] <= big:
            raise PHHError(f"unsupported: {shown} (heads-up: a small and a big blind)")
        small_at, big_at = 1, 0
    # The blinds and a straddle sit next to each other, clockwise (three-handed
    # the straddle is on the button, just before the small blind).
    starts = [i for i in posted if (i - 1) % n not in posted] or posted
    for start in starts if n > 2 else ():
        run = [(start + k) % n for k in range(len(posted))]
        values = [blinds[i] for i in run]
        if values == [big]:
            big_at, = run                            # a dead small blind
        elif len(values) == 2 and values[1] == big and values[0] <= big:
            small_at, big_at = run
        elif len(values) == 2 and values[0] == big < values[1]:
            big_at, straddle_at = run                # a dead small blind and a straddle
        elif len(values) == 3 and values[0] <= big == values[1] < values[2]:
            small_at, big_at, straddle_at = run
        else:
            continue
        break
    if big_at is None:
        raise PHHError(f"unsupported: {shown} (not a small blind, a big blind and one "
                       "straddle, next to each other)")
    trimming = hand.get("ante_trimming_status", False)
    if type(trimming) is not bool:
        raise PHHError(f"ante_trimming_status is true or false, not {trimming!r}")
    if trimming and antes.count(max(antes)) == 1 and n > 1:
        # pokerkit gives back what the largest ante puts in beyond the second.
        antes[antes.index(max(antes))] = sorted(antes)[-2]
    # A player back from missing the blinds may owe a dead small blind, in
    # their antes entry: one who posts a big blind out of position, or who
    # straddles under the gun instead. The rest are antes for everyone, or
    # the big blind's alone: whichever explains every entry.
    owing = set(posts) | ({straddle_at} if straddle_at is not None else set())
    others = {a for i, a in enumerate(antes) if i not in owing}
    small = blinds[small_at] if small_at is not None else None
    kinds = [("each" if trimming else "each_dead", others.pop(), lambda i: True)]\
        if len(others) == 1 else []
    if not trimming:
        kinds.append(("big_blind", antes[big_at], lambda i: i == big_at))
    for kind, ante, pays in kinds:
        if any(antes[i] != (ante if pays(i) else 0) for i in range(n) if i not in owing):
            continue
        dead = {i: antes[i] - (ante if pays(i) else 0) for i in owing}
        due = {d for d in dead.values() if d}
        if min(dead.values(), default=0) >= 0 and len(due) <= 1 and (
                small is None or due <= {small}):
            break
    else:
        raise PHHError(f"unsupported: antes {written_antes} (the same for everyone, or the "
                       "big blind's alone, and a dead small blind for a player back from "
                       "missing it" + (", without ante_trimming_status = true)"
                                       if trimming else ")"))
    if trimming and due:
        raise PHHError("unsupported: a dead small blind with ante_trimming_status = true")
    small = small if small is not None else (min(due) if due else big)
    return {"small_at": small_at, "big_at": big_at, "straddle_at": straddle_at,
            "small": small, "big": big, "straddle": blinds[straddle_at] if straddle_at
            is not None else 0, "ante": ante, "ante_kind": kind, "posts": posts,
            "dead": dead}


def _with_min_bet(hand: dict) -> dict:
    """Fixed limit names its bets ``small_bet`` and ``big_bet`` (twice it, for us),
    not ``min_bet``: the small bet is the big blind, read as a ``min_bet``."""
    if hand.get("variant") != "FT":
        return hand
    small, big = hand.get("small_bet"), hand.get("big_bet")
    if not (_is_amount(small) and _is_amount(big) and big == 2 * small):
        raise PHHError(f"unsupported: small_bet {small!r} and big_bet {big!r} "
                       "(the big bet is twice the small bet)")
    return {**hand, "min_bet": small}


def _setup(hand: dict, unit: Decimal) -> _Setup:
    """Our table for this hand, before ``StartHand``, and where each player sits."""
    game = hand.get("variant")
    if game not in GAMES:
        raise PHHError(f"unsupported: variant {game!r} (only {', '.join(map(repr, GAMES))})")
    stacks = hand.get("starting_stacks")
    if not isinstance(stacks, list) or not 2 <= len(stacks) <= MAX_SEATS:
        raise PHHError(f"unsupported: starting_stacks must list 2 to {MAX_SEATS} players")
    stacks = [_chips(s, "a stack", unit) for s in stacks]
    if 0 in stacks:
        raise PHHError("unsupported: a player without chips")
    n = len(stacks)
    f = _forced_bets(hand, n, unit)
    runouts = hand.get(RUNOUTS, 1)
    if runouts not in (1, 2) or type(runouts) is not int:
        raise PHHError(f"unsupported: {RUNOUTS} {runouts!r} (1 or 2)")
    names = hand.get("players")
    if not (isinstance(names, list) and len(names) == n and len(set(names)) == n
            and all(isinstance(x, str) and x for x in names)):
        names = [f"p{i + 1}" for i in range(n)]
    small_at, big_at = f["small_at"], f["big_at"]
    # Seats in position order, the button's last. Our dead button rule also
    # deals hands with a dead small blind (an empty seat just before the big
    # blind holds it), and hands whose button is an empty seat: then pN is
    # not on the button, which shows when pN is the small blind or a player
    # posting missed blinds (never dealt in on the button). Such a button is
    # an empty seat 0. Elsewhere it makes no difference, and pN holds it.
    empty_button = n > 2 and (small_at == n - 1 or n - 1 in f["posts"]
                              or bool(f["dead"].get(n - 1)))
    layout: list[int | None] = [None] if empty_button else []
    for i in range(n):
        if i == big_at and small_at is None:
            layout.append(None)
        layout.append(i)
    if len(layout) > MAX_SEATS:
        raise PHHError(f"unsupported: blinds_or_straddles with {n} players and a dead "
                       "button or small blind")
    seat_of = tuple(layout.index(i) for i in range(n))
    try:
        table = new_table(len(layout), f["small"], f["big"], ante=f["ante"],
                          ante_kind=f["ante_kind"], straddle=f["straddle"],
                          run_it_twice=runouts == 2, game=game)
    except ValueError as e:
        raise PHHError(f"unsupported: {_reason_in_unit(str(e), unit)}") from None
    for i, seat in enumerate(seat_of):
        table, _ = apply(table, SitDown(seat, names[i], stacks[i]))
    seats = list(table.seats)
    for i, seat in enumerate(seat_of):
        missed = bool(f["dead"].get(i))
        seats[seat] = replace(seats[seat], waiting=False, run_twice=runouts == 2,
                              posting=i in f["posts"] or missed, missed=missed)
    # The last hand's blinds, where our rule moves them on from: its small
    # blind becomes this hand's button, its big blind this hand's small blind.
    button = 0 if empty_button else seat_of[n - 1]
    previous_big = seat_of[small_at] if small_at is not None else seat_of[big_at] - 1
    size = len(layout)
    last = seat_of[f["straddle_at"] if f["straddle_at"] is not None else big_at]
    for i in f["posts"]:
        if (seat_of[i] - button) % size <= (last - button) % size:
            raise PHHError(f"unsupported: p{i + 1} posts a big blind on the button or in the "
                           "blinds (a player back from missing it is dealt in after them)")
    return _Setup(replace(table, seats=tuple(seats), button=button, small_blind_pos=button,
                          big_blind_pos=previous_big), seat_of)


def _hole_and_board(lines: list[PHHAction], n: int, runouts: int, count: int = 2):
    """Hole cards per player (revealed by ``sm`` where unknown), the board, unknown players."""
    holes: list[list[Card]] = [[] for _ in range(n)]
    board: list[Card] = []
    for a in lines:
        if a.verb == "dh":
            if not 0 <= a.player < n:
                raise PHHError(f"no player p{a.player + 1}")
            holes[a.player].extend(a.cards)
        elif a.verb == "db":
            board.extend(a.cards)
    for i, cards in enumerate(holes):
        if not cards:
            cards.extend((UNKNOWN,) * count)
        if len(cards) != count:
            raise PHHError(f"p{i + 1} is dealt {len(cards)} hole cards, not {count}")
    if UNKNOWN in board:
        raise PHHError("unsupported: unknown board cards")
    if len(board) > 5 * runouts:
        raise PHHError(f"{len(board)} board cards")
    # A later "pN sm CARDS" shows cards the deal lines may have hidden.
    for a in lines:
        if a.verb != "sm" or not a.cards or not 0 <= a.player < n:
            continue
        cards = holes[a.player]
        for card in a.cards:
            if card == UNKNOWN or card in cards:
                continue
            if UNKNOWN not in cards:
                shown = "".join(a.cards)
                raise PHHError(f"p{a.player + 1} shows {shown} but was dealt {''.join(cards)}")
            cards[cards.index(UNKNOWN)] = card
    known = [c for cards in holes for c in cards if c != UNKNOWN] + board
    for card in set(known):
        if known.count(card) > 1:
            raise PHHError(f"the card {card} appears twice")
    unknown = frozenset(i for i, cards in enumerate(holes) if UNKNOWN in cards)
    # Fill unknown cards with unused ones: they never decide anything (a hand
    # nobody knows wins no pot against a shown one), but the deck must be whole.
    spare = iter(c for c in DECK if c not in set(known))
    holes = [[c if c != UNKNOWN else next(spare) for c in cards] for cards in holes]
    return holes, board, unknown, list(spare)


def _deck(holes, board, spare) -> tuple[Card, ...]:
    """The deck our dealing turns into exactly these hole cards and this board.

    We deal one card at a time, two rounds, from p1 (left of the button), then
    take the board from the top of what is left, without burning (a second
    board, when run twice, from the cards after the first).

    >>> _deck([["As", "Ad"], ["Ks", "Kd"]], ["2c", "3c", "4c"], ["5c"])
    ('As', 'Ks', 'Ad', 'Kd', '2c', '3c', '4c', '5c')
    """
    deck = [holes[i][r] for r in range(len(holes[0])) for i in range(len(holes))]
    return tuple(deck + board + spare)


class _PokerkitTurns:
    """Whom pokerkit asks to act, followed from our events (the PHH view of a hand).

    Our rules and pokerkit's agree on every turn but one: when everyone else
    still in is all in (or has folded) and the one player left with chips has
    nothing to call, pokerkit still asks that player, who can only check; we
    deal on. :meth:`feed` returns that player's seat after the action that
    makes it so: the writer adds their check, the reader accepts it.

    A player who left mid-hand keeps their chips here, as in the file: PHH
    knows nothing of leaving (their hand folds on its turn).
    """

    def __init__(self):
        self.stack: dict[int, int] = {}
        self.bet: dict[int, int] = {}
        self.live: set[int] = set()
        self.queue: set[int] = set()   # still to act this betting round
        self.started = False

    def _begin(self) -> None:
        """pokerkit's ``_begin_betting``: who may act in the new betting round."""
        self.started = True
        totals = sorted(self.bet[i] + self.stack[i] for i in self.live)
        second = totals[-2] if len(totals) > 1 else 0
        self.queue = {i for i in self.live if self.stack[i] > 0
                      and min(self.stack[i], second - self.bet[i]) > 0}
        if len(self.queue) == 1 and self.bet[next(iter(self.queue))] >= max(self.bet.values()):
            self.queue = set()

    def feed(self, e) -> int | None:
        match e:
            case HandStarted(stacks=stacks):
                self.stack = {int(k): v for k, v in stacks.items()}
                self.bet = dict.fromkeys(self.stack, 0)
                self.live = set(self.stack)
                return None
            case HoleCards():
                return None
            case Blind(seat=seat, kind=kind, amount=amount):
                self.stack[seat] -= amount
                if kind in ("small", "big", "straddle", "post"):
                    self.bet[seat] += amount
                return None
        if not self.started:
            self._begin()
        match e:
            case Acted(seat=seat, action=action, amount=amount, to=to):
                self.stack[seat] -= amount
                self.bet[seat] = to
                self.queue.discard(seat)
                if action == "fold":
                    self.live.discard(seat)
                elif action in ("bet", "raise"):
                    self.queue = {i for i in self.live if self.stack[i] > 0} - {seat}
                with_chips = [i for i in self.live if self.stack[i] > 0]
                if (len(self.live) > 1 and len(with_chips) == 1 and with_chips[0] in self.queue
                        and self.bet[with_chips[0]] >= max(self.bet.values())):
                    return with_chips[0]
            case Uncalled(seat=seat, amount=amount):
                self.stack[seat] += amount
                self.bet[seat] -= amount
            case Street():
                self.bet = dict.fromkeys(self.bet, 0)
                self._begin()
        return None

    def checked(self, seat: int) -> None:
        self.queue.discard(seat)


class _Replay:
    """The state of one replay: our table and what the file told us so far."""

    def __init__(self, hand: dict):
        actions = hand.get("actions")
        if not isinstance(actions, list):
            raise PHHError("actions must be a list of strings")
        self.texts = actions
        self.lines = []
        for number, text in enumerate(actions, 1):
            try:
                self.lines.append(parse_action(text))
            except PHHError as e:
                raise PHHError(f"action {text!r} (#{number}): {e}") from None
        hand = _with_min_bet(hand)
        self.unit = _unit(hand, self.lines)
        self.setup = _setup(hand, self.unit)
        self.n = len(self.setup.seat_of)
        holes, self.board, unknown, spare = _hole_and_board(
            self.lines, self.n, hand.get(RUNOUTS, 1), hole_cards(self.setup.table.game))
        self.unknown = frozenset(self.setup.seat_of[i] for i in unknown)
        self.player_of = {seat: i for i, seat in enumerate(self.setup.seat_of)}
        # Unknown hands the file mucks ("pN sm", no cards), and unknown hands
        # our rules tabled because someone was all in: mucked, or not shown.
        self.mucks = frozenset(self.setup.seat_of[a.player] for a in self.lines
                               if a.verb == "sm" and not a.cards and 0 <= a.player < self.n)
        self.tabled_mucked: set[int] = set()
        self.tabled_unshown: set[int] = set()
        self.turns = _PokerkitTurns()
        self.lone: int | None = None   # owed pokerkit's check that changes nothing
        self.table = self.setup.table
        self.actions: list = []
        self.apply(StartHand(_deck(holes, self.board, spare)))
        self.board_read = 0
        self.decisions: dict[int, type] = {}  # seat -> Show or Muck, read ahead
        self.quiet: set[int] = set()  # unknown hands the file never shows nor mucks

    def label(self, seat: int) -> str:
        return f"p{self.player_of[seat] + 1}"

    def apply(self, action) -> None:
        table, events = apply(self.table, action)
        for e in events:
            if (type(e) is Shown and e.seat in self.unknown
                    and not isinstance(action, (Show, Timeout))):
                # Everyone was tabled (someone is all in) with cards nobody
                # knows: the file mucks the hand (it is out of the contest), or
                # never shows it (:meth:`finish` sees whether that matters).
                (self.tabled_mucked if e.seat in self.mucks else self.tabled_unshown).add(e.seat)
        self.table = table
        self.actions.append(action)
        for e in events:
            lone = self.turns.feed(e)
            if type(e) is Acted:
                self.lone = lone

    def dealt(self) -> tuple[Card, ...]:
        """The board cards dealt so far, in order (a second board's after the first)."""
        hand = self.table.hand
        second = hand.second_board
        common = next((k for k in range(5, -1, -1) if second[:k] == hand.board[:k]), 0)
        return hand.board + second[common:]

    def step(self, a: PHHAction) -> None:
        hand = self.table.hand
        if a.verb in ("#", "dh"):
            return
        if a.verb == "db":
            self.board_read += len(a.cards)
            dealt = self.dealt()
            if len(dealt) < self.board_read:
                raise PHHError("the board comes before the betting round is over")
            if dealt[:self.board_read] != tuple(self.board[:self.board_read]):
                raise PHHError(f"the board dealt is {''.join(dealt)}")
            return
        if not 0 <= a.player < self.n:
            raise PHHError(f"no player p{a.player + 1}")
        seat = self.setup.seat_of[a.player]
        if a.verb == "sm":
            return self.show_or_muck(seat, a)
        legal = legal_actions(self.table)
        if a.verb == "cc" and seat == self.lone and (legal is None or legal.seat != seat):
            # pokerkit's check for the last player with chips, when everyone
            # else is all in: our rules dealt on already; it changes nothing.
            self.turns.checked(seat)
            self.lone = None
            return
        if not hand.running:
            raise PHHError("the hand is already over")
        match a.verb:
            case "f":
                self.apply(Fold(seat))
            case "cc":
                checks = legal is not None and legal.seat == seat and "check" in legal.actions
                self.apply(Check(seat) if checks else Call(seat))
            case "cbr":
                amount = _chips(a.amount, "an amount", self.unit)
                self.apply((Raise if hand.current_bet else Bet)(seat, amount))

    def show_or_muck(self, seat: int, a: PHHAction) -> None:
        s, hand = self.table.seats[seat], self.table.hand
        if s.shown or not hand.running:
            # Tabled already (our rules turn up every hand when someone is
            # all in), or a hand shown after it ended: the cards are checked.
            return
        if hand.street != "showdown" or seat not in hand.showdown_order:
            raise PHHError("showing or mucking before the showdown")
        # Our showdown order may differ from the file's: keep the decision
        # until it is this player's turn.
        self.decisions[seat] = Show if a.cards and seat not in self.unknown else Muck
        self.drain()

    def drain(self) -> None:
        while (self.table.hand.street == "showdown"
               and self.table.hand.to_act in self.decisions):
            seat = self.table.hand.to_act
            self.apply(self.decisions.pop(seat)(seat))

    def silent(self, seat: int) -> type:
        """The decision of a player the file neither shows nor mucks, once it has all been read.

        One whose rivals in some pot have all mucked (or will: the file says
        so) is the last who can win it, and shows; any other gets our default
        (:class:`Timeout`), or mucks when nobody knows their cards.
        """
        seats = self.table.seats
        for pot in pots(self.table):
            if seat in pot.eligible and not any(
                    i != seat and not seats[i].mucked and self.decisions.get(i) is not Muck
                    for i in pot.eligible):
                return Show
        return Muck if seat in self.unknown else Timeout

    def finish(self) -> None:
        """After the listed actions: the default show/muck for whoever the file left out.

        A player whose cards nobody knows and who never shows mucks: a hand
        not shown wins no pot against a shown one (the winner's cards are
        known), but wins one nobody else contests. A pot that only such
        hands contest has no known winner: :meth:`repay` refuses it.

        When someone is all in our rules table every hand. One nobody knows
        that the file mucks is out of the contest (the rest of the board may
        then be missing, if it decides nothing: pokerkit stops dealing when
        one hand is left); one the file neither shows nor mucks is refused
        unless no other hand is left to contest it.
        """
        while True:
            self.drain()
            hand = self.table.hand
            if hand.street != "showdown" or hand.to_act is None:
                break
            seat = hand.to_act
            self.decisions[seat] = self.silent(seat)
            if seat in self.unknown:
                self.quiet.add(seat)
        if hand.running:
            raise PHHError(f"hand not finished: {self.label(hand.to_act)} to act")
        seats = self.table.seats
        contest = [i for i, s in enumerate(seats)
                   if s and s.live and i not in self.tabled_mucked]
        if self.tabled_unshown and len(contest) > 1:
            # The main pot holds every live hand: this one contests it.
            who = self.label(min(self.tabled_unshown, key=self.player_of.get))
            raise PHHError(f"{who}'s hole cards are unknown but the showdown needs them, "
                           f"and no '{who} sm CARDS' line shows them")
        dealt = self.dealt()
        short = (len(dealt) > len(self.board) and self.tabled_mucked and not hand.second_board
                 and len([i for i in contest if i not in self.unknown]) <= 1)
        if short:
            # The hands left are decided without the rest of the board (pokerkit
            # stops dealing once one hand is left): our spare cards stood in.
            dealt = tuple(self.board)
        if len(dealt) > len(self.board):
            raise PHHError(f"hand not finished: the file deals {len(self.board)} board cards, "
                           f"the hand needs {len(dealt)}")
        if len(self.board) > len(dealt):
            raise PHHError(f"the file deals {len(self.board)} board cards, the hand "
                           f"{len(dealt)}")
        contested = {i for i, s in enumerate(self.table.seats) if s and s.live}
        if len(contested) > 1 and self.unknown & contested:
            self.repay()
        if short:
            self.table = replace(self.table, hand=replace(hand, board=tuple(self.board)))
        # Whatever stood in for the cards nobody knows is not theirs; a tabled
        # hand the file mucks was not shown.
        self.table = replace(self.table, seats=tuple(
            replace(s, cards=(UNKNOWN, UNKNOWN), **(
                {"shown": False, "mucked": True} if i in self.tabled_mucked else {}))
            if i in self.unknown else s
            for i, s in enumerate(self.table.seats)))

    def repay(self) -> None:
        """Pay the pots again with the unknown hands out of the contest.

        Our rules needed a show-or-muck decision from them; a hand the file
        never shows nor mucks still contests its pots, so a pot that only
        such hands contest has no known winner.
        """
        table = self.table
        contest = replace(table, seats=tuple(
            replace(s, mucked=False) if i in self.quiet else
            replace(s, shown=False, mucked=True) if i in self.tabled_mucked else s
            for i, s in enumerate(table.seats)))
        try:
            fixed = showdown_awards(contest, self.unknown)
        except IllegalAction as e:
            raise PHHError(str(e)) from None
        change: dict[int, int] = {}
        for sign, awards in ((-1, showdown_awards(table)), (1, fixed)):
            for award in awards:
                for w in award.winners:
                    change[w.seat] = change.get(w.seat, 0) + sign * w.amount
        self.table = replace(table, seats=tuple(
            replace(s, stack=s.stack + change.get(i, 0)) if s else s
            for i, s in enumerate(table.seats)))


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replayed hand: our table at the end, and the seat of each PHH player.

    ``unit`` is the file's smallest unit (``Decimal("0.01")`` for cents): the
    table counts in it, the stacks are given back in the file's terms.
    ``start`` and ``actions`` replay the hand again (``hand_to_phh`` writes it back).
    """

    table: Table
    seat_of: tuple[int, ...]
    unit: Decimal = Decimal(1)
    start: Table | None = None
    actions: tuple = ()

    @property
    def chips(self) -> list[int]:
        """Each player's stack at the end in whole units, in PHH player order."""
        return [self.table.seats[seat].stack for seat in self.seat_of]

    @property
    def finishing_stacks(self) -> list:
        """Each player's stack at the end in the file's terms, in PHH player order."""
        if self.unit == 1:
            return self.chips
        return [chips * self.unit for chips in self.chips]


def replay(hand: dict) -> Replayed:
    """Play a hand's actions through our rules.

    Raises :class:`PHHError` naming the first action our rules reject, or
    why the hand cannot be replayed.
    """
    try:
        r = _Replay(hand)
    except IllegalAction as e:
        raise PHHError(str(e)) from None
    # Our rules count whole chips of the file's unit: their reasons say amounts
    # as the file does (ours already do).
    for number, (text, line) in enumerate(zip(r.texts, r.lines), 1):
        try:
            r.step(line)
        except IllegalAction as e:
            raise PHHError(f"action {text!r} (#{number}): {_reason_in_unit(str(e), r.unit)}") \
                from None
        except PHHError as e:
            raise PHHError(f"action {text!r} (#{number}): {e}") from None
    try:
        r.finish()
    except IllegalAction as e:
        raise PHHError(_reason_in_unit(str(e), r.unit)) from None
    return Replayed(r.table, r.setup.seat_of, r.unit, r.setup.table, tuple(r.actions))


def _hand_id(key: str | None, hand: dict):
    if "hand" in hand:
        return hand["hand"]
    if key is not None and key.isdigit():
        return int(key)
    return key


def _json_number(value):
    return value if type(value) is int else (int(value) if value == int(value)
                                             else float(value))


def replay_result(hand: dict, file: str | None = None, key: str | None = None) -> dict:
    """One hand's replay as a plain JSON-able dict (the CLI prints these).

    Amounts with decimals come back in the file's unit, and ``unit`` says which.

    >>> replay_result({"variant": "NT", "antes": [0, 0], "blinds_or_straddles": [1, 2],
    ...                "min_bet": 2, "starting_stacks": [100, 100],
    ...                "actions": ["p2 f"], "finishing_stacks": [101, 99]}, "x.phh")
    {'file': 'x.phh', 'hand': None, 'finishing_stacks': [101, 99], 'expected_finishing_stacks': [101, 99], 'matches_file': True}
    """
    result = {"file": file, "hand": _hand_id(key, hand)}
    try:
        replayed = replay(hand)
    except PHHError as e:
        result["error"] = str(e)
        return result
    stacks = replayed.finishing_stacks
    result["finishing_stacks"] = [_json_number(s) for s in stacks]
    if replayed.unit != 1:
        result["unit"] = str(replayed.unit)
    if "finishing_stacks" in hand:
        expected = hand["finishing_stacks"]
        result["expected_finishing_stacks"] = (
            [_json_number(s) if _is_amount(s) else s for s in expected]
            if isinstance(expected, list) else expected)
        result["matches_file"] = expected == stacks
    return result


def replay_file(path: str) -> list[dict]:
    """Replay every hand of a ``.phh`` or ``.phhs`` file: one result per hand."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        hands = loads_phhs(text)
    except (OSError, UnicodeDecodeError, PHHError) as e:
        return [{"file": path, "hand": None, "error": f"cannot read the file: {e}"}]
    return [replay_result(hand, path, key) for key, hand in hands]


# ---------------------------------------------------------------------------
# Writing


_VERBS = {"fold": "f", "check": "cc", "call": "cc", "bet": "cbr", "raise": "cbr"}


class _Recorder:
    """Turns a hand played at our table into PHH lines, from its events.

    Our rules never fold a player out of turn (one who leaves is folded when
    the turn reaches them) and keep an all-in hand live when its player
    leaves, so every hand is written as it was played. Two things are written
    the way pokerkit reads them: the check it asks of the last player with
    chips when everyone else is all in (:class:`_PokerkitTurns`), and the
    hands turned up when nobody can bet any more, shown before the rest of
    the board is dealt.
    """

    def __init__(self, start_table: Table, start: StartHand):
        self.table, events = apply(start_table, start)
        hand, seats = self.table.hand, self.table.seats
        self.order = clockwise_from(hand.button, [i for i, s in enumerate(seats)
                                                  if s and s.in_hand], len(seats))
        self.player = {seat: k for k, seat in enumerate(self.order)}
        self.names = {seat: seats[seat].player for seat in self.order}
        self.starting = {int(k): v for e in events if type(e) is HandStarted
                         for k, v in e.stacks.items()}
        self.lines: list = []   # strings, or ("dh", seat) to fill in at the end
        self.cards: dict[int, str] = {}
        self.shown: set[int] = set()
        self.taken: dict[int, int] = {}   # seats that left: the chips they took
        self.posts: dict[int, set[str]] = {}  # seat -> kinds of blinds posted
        self.turns = _PokerkitTurns()
        self.streets: list[int] = []      # line index of each board dealt (first board)
        self.betting: set[int] = set()    # of those, the ones someone acted after
        self.showdown: list[int] = []     # line index of each hand shown or mucked
        self.note(events)

    def feed(self, action) -> None:
        self.table, events = apply(self.table, action)
        self.note(events)

    def act(self, line: str) -> None:
        self.lines.append(line)
        if self.streets:
            self.betting.add(self.streets[-1])

    def note(self, events: list) -> None:
        comment = None
        for e in events:
            lone = self.turns.feed(e)
            p = f"p{self.player.get(getattr(e, 'seat', None), -1) + 1}"  # for those that name one
            match e:
                case TimedOut():
                    comment = "timed out"
                case HoleCards(seat=seat, cards=cards):
                    self.cards[seat] = "".join(cards)
                    self.lines.append(("dh", seat))
                case Blind(seat=seat, kind=kind):
                    self.posts.setdefault(seat, set()).add(kind)
                case Street(cards=cards):
                    self.streets.append(len(self.lines))
                    self.lines.append("d db " + "".join(cards))
                case SecondBoard(cards=cards):
                    self.lines.append("d db " + "".join(cards))
                case Acted(seat=seat, action=action, to=to):
                    verb = _VERBS[action]
                    line = f"{p} {verb} {to}" if verb == "cbr" else f"{p} {verb}"
                    if seat in self.taken and action == "fold":
                        comment = "left the table"
                    self.act(line + (f" # {comment}" if comment else ""))
                    comment = None
                case Shown(seat=seat, cards=cards):
                    self.shown.add(seat)
                    self.showdown.append(len(self.lines))
                    self.lines.append(f"{p} sm " + "".join(cards))
                case Mucked(seat=seat):
                    if seat in self.taken:
                        comment = "left the table"
                    self.showdown.append(len(self.lines))
                    self.lines.append(f"{p} sm" + (f" # {comment}" if comment else ""))
                    comment = None
                case Left(seat=seat, stack=stack) if seat in self.player:
                    if seat not in self.taken and self.table.hand_running:
                        self.lines.append(f"# {p} left the table")
                    self.taken[seat] = self.taken.get(seat, 0) + stack
            if lone is not None:
                self.act(f"p{self.player[lone] + 1} cc")
                self.turns.checked(lone)

    def actions(self) -> list:
        """The lines, the hands tabled when nobody could bet moved before the runout."""
        runout = [i for i in self.streets if i not in self.betting]
        if not runout or not self.showdown:
            return list(self.lines)
        at = runout[0]
        moved = set(self.showdown)
        shown = [self.lines[i] for i in self.showdown]
        rest = [x for i, x in enumerate(self.lines) if i not in moved]
        return rest[:at] + shown + rest[at:]


def hand_to_phh(start_table: Table, actions, *, viewer: int | None = None,
                unit: Decimal | int | None = None, **fields) -> dict:
    """The PHH fields of a finished hand.

    ``start_table`` is the table just before the hand; ``actions`` begins with
    the hand's ``StartHand`` and goes on with the actions applied until the
    hand ended (seat changes of others are skipped; anything after the end is
    ignored). ``viewer`` hides, as ``????``, the hole cards that seat did not
    see: its own and those shown at the showdown stay; ``SPECTATOR`` hides
    every hand not shown; ``None`` hides nothing. ``unit`` writes the amounts
    in a unit (``Decimal("0.01")``: the table counts cents, the file dollars).
    ``fields`` (``table``, ``time_limit``, ``_anything``, ...) are added as
    given. Raises ``ValueError`` (an ``IllegalAction`` for an action the table
    refuses) when the actions do not play a whole hand.

    A player who left mid-hand is written as they played: folding when their
    turn came, or their all-in hand playing on; their finishing stack is what
    they took with them. A board run twice is written as pokerkit deals it
    (the second board's cards after the first's) with ``_runout_count = 2``.
    A table with antes for everyone where a player also posted a dead small
    blind has no exact PHH (pokerkit counts all antes the same way) when a
    stack was below the ante: ``_inexact`` then says so.

    >>> from game.table import new_table, SitDown
    >>> from game.cards import DECK
    >>> t = new_table(3, 1, 2)
    >>> for seat, name in enumerate(["ann", "bob", "cy"]):
    ...     t, _ = apply(t, SitDown(seat, name, 100))
    >>> phh = hand_to_phh(t, [StartHand(DECK), Raise(0, 6), Fold(1), Fold(2)], viewer=1)
    >>> phh["actions"]
    ['d dh p1 2c2s', 'd dh p2 ????', 'd dh p3 ????', 'p3 cbr 6', 'p1 f', 'p2 f']
    >>> phh["blinds_or_straddles"], phh["players"], phh["finishing_stacks"]
    ([1, 2, 0], ['bob', 'cy', 'ann'], [99, 98, 103])
    >>> print(dumps_phh(phh))
    variant = "NT"
    antes = [0, 0, 0]
    blinds_or_straddles = [1, 2, 0]
    min_bet = 2
    starting_stacks = [100, 100, 100]
    actions = [
      "d dh p1 2c2s",
      "d dh p2 ????",
      "d dh p3 ????",
      "p3 cbr 6",
      "p1 f",
      "p2 f",
    ]
    hand = 1
    players = ["bob", "cy", "ann"]
    seats = [2, 3, 1]
    seat_count = 3
    finishing_stacks = [99, 98, 103]
    <BLANKLINE>
    """
    actions = list(actions)
    if not actions or not isinstance(actions[0], StartHand):
        raise ValueError("the actions must begin with the hand's StartHand")
    rec = _Recorder(start_table, actions[0])
    for action in actions[1:]:
        if not rec.table.hand_running or isinstance(action, StartHand):
            break
        rec.feed(action)
    if rec.table.hand_running:
        raise ValueError("the hand is not finished")
    table, hand = rec.table, rec.table.hand
    order = rec.order
    scale = Decimal(1) if unit is None else Decimal(unit)

    def amount(chips: int):
        return chips if scale == 1 else chips * scale

    def hole(seat: int) -> str:
        seen = viewer is None or seat == viewer or seat in rec.shown
        return rec.cards[seat] if seen else UNKNOWN * hole_cards(table.game)

    def line(x) -> str:
        if isinstance(x, tuple):
            return f"d dh p{rec.player[x[1]] + 1} {hole(x[1])}"
        if scale != 1 and " cbr " in x:
            head, _, tail = x.partition(" cbr ")
            chips, _, comment = tail.partition(" ")
            return f"{head} cbr {amount(int(chips))}" + (f" {comment}" if comment else "")
        return x

    dead = {seat for seat, kinds in rec.posts.items() if "dead" in kinds}
    blinds, antes = [], []
    for seat in order:
        kinds = rec.posts.get(seat, set())
        blinds.append(table.small_blind if seat == hand.small_blind_seat else
                      table.big_blind if seat == hand.big_blind_seat else
                      table.straddle if seat == hand.straddle_seat else
                      -table.big_blind if kinds & {"post", "dead"} else 0)
        ante = table.ante if table.ante_kind != "big_blind" or seat == hand.big_blind_seat else 0
        antes.append(ante + (table.small_blind if seat in dead else 0))
    if len(order) == 2:  # heads-up PHH lists [small, big]; p1 posts the big blind
        blinds.reverse()
        antes.reverse()
    phh = {"variant": table.game}
    if table.ante or dead:
        # pokerkit counts antes as dead money in the main pot unless they are
        # "trimmed": counted like any other chips put in, as our antes for
        # everyone are. A big-blind ante and a dead small blind are dead money.
        trimmed = table.ante_kind == "each" and not dead
        phh["ante_trimming_status"] = trimmed
        if (table.ante_kind == "each" and table.ante and dead
                and any(rec.starting[seat] < table.ante for seat in order)):
            phh["_inexact"] = ("a dead small blind needs ante_trimming_status = false, but a "
                               "stack below the ante was counted live: pokerkit pays it "
                               "otherwise")
    phh |= {
        "antes": [amount(a) for a in antes],
        "blinds_or_straddles": [amount(b) for b in blinds],
        **({"small_bet": amount(table.big_blind), "big_bet": amount(2 * table.big_blind)}
           if table.game == "FT" else {"min_bet": amount(table.big_blind)}),
        "starting_stacks": [amount(rec.starting[seat]) for seat in order],
        "actions": [line(x) for x in rec.actions()],
        "hand": hand.number,
        "players": [rec.names[seat] for seat in order],
        "seats": [seat + 1 for seat in order],
        "seat_count": len(table.seats),
        "finishing_stacks": [amount(rec.taken[seat] if seat in rec.taken
                                    else table.seats[seat].stack) for seat in order],
    }
    if hand.second_board:
        phh[RUNOUTS] = 2
    phh.update(fields)
    return phh


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        # An amount in a unit with decimals (dollars and cents): exact, as TOML.
        return str(int(value)) if value == int(value) and value.as_tuple().exponent >= 0 \
            else format(value, "f")
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} in PHH")


def _toml_key(key) -> str:
    if not isinstance(key, str):
        raise TypeError(f"a PHH key must be a string, not {key!r}")
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def dumps_phh(phh: dict) -> str:
    """PHH fields as TOML text, one action a line; ``None`` values are left out.

    >>> print(dumps_phh({"variant": "NT", "actions": ["p1 f"], "table": None, "_x": 'a "b"'}))
    variant = "NT"
    actions = [
      "p1 f",
    ]
    _x = "a \\"b\\""
    <BLANKLINE>
    """
    out = []
    for key, value in phh.items():
        if value is None:
            continue
        if key == "actions":
            out.append("actions = [")
            out.extend(f"  {_toml_value(a)}," for a in value)
            out.append("]")
        else:
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def dumps_phhs(hands) -> str:
    """Several hands as a ``.phhs`` text: tables ``[1]``, ``[2]``, ..."""
    return "\n".join(f"[{i}]\n{dumps_phh(phh)}" for i, phh in enumerate(hands, 1))


# ---------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """``python -m game.phh replay FILE...``: one JSON line per hand; 1 if any fails."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "replay":
        print("usage: python -m game.phh replay FILE.phh|FILE.phhs ...", file=sys.stderr)
        return 2
    ok = True
    for path in args[1:]:
        for result in replay_file(path):
            print(json.dumps(result), flush=True)
            ok = ok and "error" not in result and result.get("matches_file", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
