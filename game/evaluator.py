"""Hold'em hand evaluator: the value of the best five-card hand in 5, 6 or 7 cards.

>>> from game.cards import parse_cards
>>> v = evaluate(parse_cards("AhKh 7h7d7s2h9h"))
>>> category(v), describe(v)
('Flush', 'Flush, ace high')
>>> evaluate(parse_cards("KsKd7c7hKh")) > evaluate(parse_cards("QsQdQcAhAd"))
True
>>> best_five(parse_cards("2c 9d As 5h 3d 4s Kd"))
('5h', '4s', '3d', '2c', 'As')

Hand values
-----------
:func:`evaluate` returns an ``int``: higher is better, equal is a tie.  The
value is readable, not just comparable::

    value = category << 20 | r1 << 16 | r2 << 12 | r3 << 8 | r4 << 4 | r5

``category`` runs from 0 (``HIGH_CARD``) to 8 (``STRAIGHT_FLUSH``); ``r1..r5``
are the ranks that decide between two hands of that category, most significant
first, as indexes into ``RANKS`` (0 is a deuce, 12 an ace), unused ones 0:

* high card, flush: the five ranks, highest first;
* pair: the pair, then three kickers; two pair: high pair, low pair, kicker;
* three of a kind: the trips, two kickers; full house: trips, pair;
* four of a kind: the quads, one kicker;
* straight, straight flush: the top card only (a wheel A-2-3-4-5 is five high,
  so it is the lowest straight, and the steel wheel the lowest straight flush).

>>> hex(evaluate(parse_cards("KsKdKc7h7d")))   # full house (6), kings (11) over sevens (5)
'0x6b5000'

How it is fast
--------------
Each card string maps, through one dict, to one int holding two fields::

    5 ** rank << 16  |  1 << 4 * suit

so adding up a hand's ints (a handful of dict subscripts and additions, no
loop, no call per card) gives both at once:

* Bits 16 and up: the sum of ``5 ** rank``, a base-5 number whose digit ``d``
  is how many cards of rank ``d`` the hand holds.  No rank occurs more than 4
  times, so digits never carry: the number identifies the multiset of ranks
  exactly.  (Largest: ``4 * 5**12 + 3 * 5**11 < 2**31``: the whole sum fits a
  machine word.)
* Bits 0-15: four 4-bit counters, one per suit.  The sum starts at ``0x3333``
  (folded into the first card's int), i.e. each counter starts at 3, so a
  counter reaches 8, its top bit, exactly when its suit has 5 or more cards:
  ``key & 0x8888`` is non-zero iff the hand holds a flush, and that bit says
  which suit.  (7 + 3 < 16: no carry.)

Without a flush, the ranks alone decide, and ``_RANK_TABLE[key >> 16]`` holds
the answer for every multiset of 5 to 7 ranks (73,775 entries).  With a flush
(about 3% of 7-card hands), note that 7 cards cannot hold a flush together
with quads or a full house (those need 3 cards outside the flush suit: 5 + 3
> 7), so the best hand is a flush or straight flush made of the flush suit's
cards alone: a second pass over the cards gives that suit's rank bitmask and
``_FLUSH_TABLE`` maps it to the value.  The tables are built at import in
roughly 0.1 s: the 6,175 five-rank multisets are classified directly, and a
6- or 7-rank multiset takes the best value among its multisets with one rank
fewer.

Validation is cheap: a wrong number of cards or a string that is not a card
raises :class:`EvaluatorError` (a ``ValueError``).  Duplicate cards are *not*
detected (that would cost a set per call); their result is unspecified.
Tuples and lists are evaluated as they are; any other iterable is copied to
a tuple first.
"""

from __future__ import annotations

from itertools import combinations, combinations_with_replacement

from game.cards import DECK, RANKS, SUITS

__all__ = [
    "EvaluatorError", "evaluate", "category", "describe", "best_five",
    "CATEGORIES", "HIGH_CARD", "PAIR", "TWO_PAIR", "THREE_OF_A_KIND", "STRAIGHT",
    "FLUSH", "FULL_HOUSE", "FOUR_OF_A_KIND", "STRAIGHT_FLUSH",
]

CATEGORIES = (
    "High card", "Pair", "Two pair", "Three of a kind", "Straight",
    "Flush", "Full house", "Four of a kind", "Straight flush",
)
(HIGH_CARD, PAIR, TWO_PAIR, THREE_OF_A_KIND, STRAIGHT,
 FLUSH, FULL_HOUSE, FOUR_OF_A_KIND, STRAIGHT_FLUSH) = range(9)

_ACE = 12
_FIVE = 3  # rank index of the top card of a wheel


class EvaluatorError(ValueError):
    """Input that is not 5 to 7 cards."""


# -- card encoding --------------------------------------------------------

_POW5 = tuple(5 ** r for r in range(13))

#: card string -> ``5**rank << 16 | 1 << 4*suit``
_CARD_KEY = {
    card: _POW5[RANKS.index(card[0])] << 16 | 1 << 4 * SUITS.index(card[1])
    for card in DECK
}
#: The same plus the suit counters' starting bias ``0x3333``, for the first
#: card of a hand: this saves an addition per evaluation.
_FIRST_CARD_KEY = {card: key + 0x3333 for card, key in _CARD_KEY.items()}

#: flush bit of a suit (``0x8 << 4*suit``) -> {card: ``1 << rank`` if the card
#: is of that suit else 0}; summing it over a hand gives the suit's rank mask.
_SUIT_RANK_BITS = {
    0x8 << 4 * s: {card: (1 << RANKS.index(card[0])) * (card[1] == suit) for card in DECK}
    for s, suit in enumerate(SUITS)
}


# -- table construction ---------------------------------------------------

def _pack(cat: int, ranks) -> int:
    """Build a hand value from a category and up to five deciding ranks."""
    value = cat
    for i in range(5):
        value = value << 4 | (ranks[i] if i < len(ranks) else 0)
    return value


def _straight_top(mask: int) -> int:
    """Top rank of the best straight in a 13-bit rank mask, or -1.

    >>> _straight_top(0b1_0000_0000_1111)   # A,2,3,4,5: the wheel, five high
    3
    >>> _straight_top(0b0_0000_0011_1111)   # 2..7: seven high
    5
    >>> _straight_top(0b1_1110_0000_0000)
    -1
    """
    for top in range(_ACE, _FIVE, -1):
        window = 0b11111 << (top - 4)
        if mask & window == window:
            return top
    wheel = 1 << _ACE | 0b1111
    return _FIVE if mask & wheel == wheel else -1


def _five_ranks_value(ranks: tuple[int, ...]) -> int:
    """Value of five cards with these ranks, assuming they are not a flush."""
    counts: dict[int, int] = {}
    for r in ranks:
        counts[r] = counts.get(r, 0) + 1
    # Ranks by (multiplicity, rank), best first: exactly the deciding order.
    order = sorted(counts, key=lambda r: (counts[r], r), reverse=True)
    shape = sorted(counts.values(), reverse=True)
    if shape == [1, 1, 1, 1, 1]:
        top = _straight_top(sum(1 << r for r in ranks))
        return _pack(STRAIGHT, [top]) if top >= 0 else _pack(HIGH_CARD, order)
    cat = {
        (4, 1): FOUR_OF_A_KIND, (3, 2): FULL_HOUSE, (3, 1, 1): THREE_OF_A_KIND,
        (2, 2, 1): TWO_PAIR, (2, 1, 1, 1): PAIR,
    }[tuple(shape)]
    return _pack(cat, order)


def _build_rank_table() -> dict[int, int]:
    """Map the rank key of every 5-, 6- and 7-card rank multiset to its value."""
    layer = {}
    for ranks in combinations_with_replacement(range(13), 5):
        if ranks[0] != ranks[4]:  # sorted, so this excludes five of a kind
            layer[sum(_POW5[r] for r in ranks)] = _five_ranks_value(ranks)
    table = dict(layer)
    # Best of n+1 cards = best over the n-card hands inside it: push each
    # n-rank multiset's value up to every multiset with one more rank.
    for _ in (6, 7):
        bigger: dict[int, int] = {}
        get = bigger.get
        for key, value in layer.items():
            for p in _POW5:
                if key // p % 5 < 4:  # room for one more card of this rank
                    if get(key + p, -1) < value:
                        bigger[key + p] = value
        table.update(bigger)
        layer = bigger
    return table


def _build_flush_table() -> dict[int, int]:
    """Map every rank mask of 5 to 7 suited cards to its (straight) flush value."""
    table = {}
    for mask in range(1 << 13):
        if 5 <= mask.bit_count() <= 7:
            top = _straight_top(mask)
            if top >= 0:
                table[mask] = _pack(STRAIGHT_FLUSH, [top])
            else:
                table[mask] = _pack(FLUSH, [r for r in range(_ACE, -1, -1) if mask >> r & 1][:5])
    return table


_RANK_TABLE = _build_rank_table()
_FLUSH_TABLE = _build_flush_table()


# -- public API -----------------------------------------------------------

def evaluate(cards) -> int:
    """Value of the best five-card hand among 5, 6 or 7 distinct cards.

    ``cards`` is any iterable of card strings (a tuple or list is fastest).
    Higher is better; equal values tie.  See the module docstring for the
    layout of the value.

    >>> evaluate(["As", "Ks", "Qs", "Js", "Ts"]) > evaluate(("9s", "9d", "9h", "9c", "As", "Ad", "Ah"))
    True
    >>> try:
    ...     evaluate(["2c", "3d"])
    ... except ValueError as error:
    ...     print(error)
    need 5 to 7 cards, got 2
    """
    # Unpacking and subscripting by hand, rather than sum(map(...)), lets
    # CPython 3.11 use its specialised dict-subscript instruction instead of a
    # call per card: about 10% faster.  No loop: this runs millions of times.
    k, v = _CARD_KEY, _FIRST_CARD_KEY
    try:
        n = len(cards)
        if n == 7:
            a, b, c, d, e, f, g = cards
            key = v[a] + k[b] + k[c] + k[d] + k[e] + k[f] + k[g]
        elif n == 6:
            a, b, c, d, e, f = cards
            key = v[a] + k[b] + k[c] + k[d] + k[e] + k[f]
        elif n == 5:
            a, b, c, d, e = cards
            key = v[a] + k[b] + k[c] + k[d] + k[e]
        else:
            raise _diagnose(cards)
        if key & 0x8888:  # five or more cards of one suit: see module docstring
            suit_bits = _SUIT_RANK_BITS[key & 0x8888]
            return _FLUSH_TABLE[sum(map(suit_bits.__getitem__, cards))]
        return _RANK_TABLE[key >> 16]
    except (KeyError, TypeError):
        if cards.__class__ is not tuple:  # e.g. a generator: has no len()
            return evaluate(tuple(cards))
        raise _diagnose(cards) from None


def _diagnose(cards) -> Exception:
    """The error to raise for input that :func:`evaluate` could not look up."""
    if cards and all(isinstance(c, str) and len(c) == 1 for c in cards):
        return EvaluatorError("cards must be a sequence of card strings; "
                              "use game.cards.parse_cards() to split a string")
    for card in cards:
        if not isinstance(card, str) or card not in _CARD_KEY:
            return EvaluatorError(f"not a card: {card!r}")
    if not 5 <= len(cards) <= 7:
        return EvaluatorError(f"need 5 to 7 cards, got {len(cards)}")
    if len(set(cards)) != len(cards):
        return EvaluatorError(f"duplicate cards: {' '.join(cards)}")
    return EvaluatorError(f"cannot evaluate {cards!r}")  # not reached


def category(value: int) -> str:
    """Name of a hand value's category, one of :data:`CATEGORIES`.

    >>> category(evaluate("2c 2d 5h 9s Kd".split()))
    'Pair'
    """
    cat = value >> 20
    if not 0 <= cat < len(CATEGORIES):
        raise EvaluatorError(f"not a hand value: {value!r}")
    return CATEGORIES[cat]


_NAMES = ("two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "jack", "queen", "king", "ace")
_PLURALS = tuple(name + ("es" if name == "six" else "s") for name in _NAMES)


def describe(value: int) -> str:
    """A short English description of a hand value, for players.

    >>> from game.cards import parse_cards
    >>> for hand in ["AsKsQsJsTs", "5d4d3d2dAd", "QcQdQhQs2c", "KcKdKh7s7c",
    ...              "Ah9h7h3h2h", "5c4d3h2sAc", "JcJdJh9s2c", "AcAdThTs9c2d",
    ...              "9c9d5h3s2c", "AcJd9h7s5c"]:
    ...     print(describe(evaluate(parse_cards(hand))))
    Royal flush
    Straight flush, five high
    Four of a kind, queens
    Full house, kings over sevens
    Flush, ace high
    Straight, five high
    Three of a kind, jacks
    Two pair, aces and tens
    Pair of nines
    High card, ace
    """
    name = category(value)
    r1, r2 = value >> 16 & 15, value >> 12 & 15
    cat = value >> 20
    if cat == STRAIGHT_FLUSH and r1 == _ACE:
        return "Royal flush"
    if cat in (STRAIGHT_FLUSH, STRAIGHT, FLUSH):
        return f"{name}, {_NAMES[r1]} high"
    if cat == FULL_HOUSE:
        return f"{name}, {_PLURALS[r1]} over {_PLURALS[r2]}"
    if cat == TWO_PAIR:
        return f"{name}, {_PLURALS[r1]} and {_PLURALS[r2]}"
    if cat == PAIR:
        return f"Pair of {_PLURALS[r1]}"
    if cat == HIGH_CARD:
        return f"{name}, {_NAMES[r1]}"
    return f"{name}, {_PLURALS[r1]}"  # three and four of a kind


def best_five(cards) -> tuple[str, ...]:
    """The five cards making the best hand, in display order.

    Groups first (quads, trips, pairs by size, then rank), then kickers high
    to low; a wheel is shown five-high, its ace last.  Slower than
    :func:`evaluate` (it tries every five-card subset): for display only.

    >>> best_five("Kd 7s Kc 2h 7h Kh 9c".split())
    ('Kd', 'Kc', 'Kh', '7s', '7h')
    >>> best_five("9h 8h 7h 6h 5h Ah Kh".split())
    ('9h', '8h', '7h', '6h', '5h')
    """
    cards = tuple(cards)
    value = evaluate(cards)
    five = next(c for c in combinations(cards, 5) if evaluate(c) == value)
    rank = {card: RANKS.index(card[0]) for card in five}
    if value >> 20 in (STRAIGHT, STRAIGHT_FLUSH) and value >> 16 & 15 == _FIVE:
        rank = {card: -1 if r == _ACE else r for card, r in rank.items()}
    count = {r: list(rank.values()).count(r) for r in rank.values()}
    return tuple(sorted(five, key=lambda c: (count[rank[c]], rank[c]), reverse=True))


def evaluate_omaha(hole, board) -> int:
    """Value of the best Omaha hand: exactly two of ``hole`` (4 or 5 cards, or any
    number from 2) and exactly three of ``board`` (3 to 5 cards).

    Same values as :func:`evaluate`, so an Omaha hand compares with an Omaha hand
    as a hold'em hand with a hold'em hand. Fast enough for Monte Carlo: the
    two-card and three-card key sums are made once (6 and 10 of them with four
    hole cards and a full board), and each of the 60 five-card hands costs one
    addition and one lookup (a flush, a few more).

    >>> from game.cards import parse_cards
    >>> board = parse_cards("Ah Kh Qh 2c 3d")
    >>> describe(evaluate_omaha(parse_cards("Jh 9c 8c 7c"), board))  # one heart: no flush
    'High card, ace'
    >>> describe(evaluate_omaha(parse_cards("Jh Th 2s 2d"), board))  # two hearts make it
    'Royal flush'
    >>> describe(evaluate_omaha(parse_cards("As Ad Ac 4s"), board))  # only two aces count
    'Three of a kind, aces'
    """
    k = _CARD_KEY
    try:
        hole_keys = [k[c] for c in hole]
        board_keys = [k[c] for c in board]
    except (KeyError, TypeError):
        raise _diagnose(tuple(hole) + tuple(board)) from None
    if (len(hole_keys) < 2 or not 3 <= len(board_keys) <= 5
            or len(set(hole) | set(board)) != len(hole_keys) + len(board_keys)):
        raise EvaluatorError(f"Omaha needs 2 or more hole cards and 3 to 5 board cards, "
                             f"all distinct: {' '.join(hole)} / {' '.join(board)}")
    ranks = _RANK_TABLE
    suits = sum(board_keys) & 0xFFFF
    if not (suits + 0x5555) & 0x8888:
        # No suit has three board cards, so no flush (most deals): the rank
        # parts of the keys alone make the value, two hole and three board.
        lows = [(a + b) >> 16 for a, b in combinations(hole_keys, 2)]
        return max([ranks[h + low] for h in [(a + b + c) >> 16 for a, b, c
                                                  in combinations(board_keys, 3)]
                    for low in lows])
    flushes, first = _FLUSH_TABLE, _FIRST_CARD_KEY
    pairs = [(k[a] + k[b], a, b) for a, b in combinations(hole, 2)]
    triples = [(first[a] + k[b] + k[c], a, b, c) for a, b, c in combinations(board, 3)]
    best = 0
    for tkey, a, b, c in triples:
        for pkey, d, e in pairs:
            key = tkey + pkey
            if key & 0x8888:
                bits = _SUIT_RANK_BITS[key & 0x8888]
                value = flushes[bits[a] + bits[b] + bits[c] + bits[d] + bits[e]]
            else:
                value = ranks[key >> 16]
            if value > best:
                best = value
    return best
