"""The table-driven evaluator against a brute-force reference written here.

The reference tries every 5-card subset and classifies it the obvious way,
returning a tuple that compares like poker hands; the evaluator must order
hands exactly as it does and name the same category.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations, combinations_with_replacement

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.cards import DECK, RANKS, SUITS, parse_cards
from game.evaluator import (
    CATEGORIES, EvaluatorError, best_five, category, describe, evaluate,
)

# -- brute-force reference --------------------------------------------------

REF_NAMES = CATEGORIES  # the reference's category numbers index this tuple


def ref_five(cards) -> tuple[int, ...]:
    """(category, deciding ranks...) of exactly five cards."""
    ranks = [RANKS.index(c[0]) for c in cards]
    flush = len({c[1] for c in cards}) == 1
    counts = Counter(ranks)
    # ranks ordered by how many there are, then by rank: the tie-break order
    ordered = sorted(counts, key=lambda r: (counts[r], r), reverse=True)
    shape = sorted(counts.values(), reverse=True)
    distinct = sorted(counts, reverse=True)
    top = None
    if len(distinct) == 5:
        if distinct[0] - distinct[4] == 4:
            top = distinct[0]
        elif distinct == [12, 3, 2, 1, 0]:  # A-5-4-3-2
            top = 3
    if top is not None and flush:
        return (8, top)
    if shape == [4, 1]:
        return (7, *ordered)
    if shape == [3, 2]:
        return (6, *ordered)
    if flush:
        return (5, *distinct)
    if top is not None:
        return (4, top)
    if shape == [3, 1, 1]:
        return (3, *ordered)
    if shape == [2, 2, 1]:
        return (2, *ordered)
    if shape == [2, 1, 1, 1]:
        return (1, *ordered)
    return (0, *ordered)


def reference(cards) -> tuple[int, ...]:
    return max(ref_five(five) for five in combinations(cards, 5))


def sign(x) -> int:
    return (x > 0) - (x < 0)


def ref_cmp(a, b) -> int:
    ra, rb = reference(a), reference(b)
    return (ra > rb) - (ra < rb)


# -- strategies -------------------------------------------------------------

WRAPPED_RANKS = "A" + RANKS  # so a window of ranks can be the wheel's


@st.composite
def hands(draw, sizes=(5, 6, 7)):
    """Distinct cards; often from few ranks or suits, so that pairs, trips,
    straights and flushes, rare among uniform hands, come up often."""
    n = draw(st.sampled_from(sizes))
    kind = draw(st.sampled_from(["deck", "ranks", "window", "suits"]))
    if kind == "deck":
        pool = list(DECK)
    elif kind == "ranks":
        ranks = draw(st.lists(st.sampled_from(RANKS), min_size=2, max_size=5, unique=True))
        pool = [r + s for r in ranks for s in SUITS]
    elif kind == "window":  # consecutive ranks: straights
        start = draw(st.integers(0, len(WRAPPED_RANKS) - 5))
        width = draw(st.integers(5, 7))
        suits = draw(st.lists(st.sampled_from(SUITS), min_size=1, max_size=4, unique=True))
        pool = [r + s for r in WRAPPED_RANKS[start:start + width] for s in suits]
    else:  # one or two suits: flushes, straight flushes
        suits = draw(st.lists(st.sampled_from(SUITS), min_size=1, max_size=2, unique=True))
        pool = [c for c in DECK if c[1] in suits]
    pool = sorted(set(pool))
    if len(pool) < n:
        pool = list(DECK)
    return tuple(draw(st.permutations(pool))[:n])


# -- properties -------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(hands(), hands())
def test_orders_pairs_of_hands_like_brute_force(a, b):
    assert sign(evaluate(a) - evaluate(b)) == ref_cmp(a, b)
    assert category(evaluate(a)) == REF_NAMES[reference(a)[0]]
    assert category(evaluate(b)) == REF_NAMES[reference(b)[0]]


@settings(max_examples=100, deadline=None)
@given(hands(), st.randoms(use_true_random=False))
def test_order_of_cards_does_not_matter(hand, rnd):
    shuffled = list(hand)
    rnd.shuffle(shuffled)
    assert evaluate(shuffled) == evaluate(hand)


@settings(max_examples=100, deadline=None)
@given(hands())
def test_best_five_is_a_subset_with_the_same_value(hand):
    five = best_five(hand)
    assert len(five) == 5 and set(five) <= set(hand)
    assert evaluate(five) == evaluate(hand)


def test_every_five_card_hand_class_in_the_right_order():
    """All 7,462 distinct five-card hands: one per rank multiset (offsuit
    where possible) plus every suited set of five ranks."""
    hands_ = []
    for ranks in combinations_with_replacement(RANKS, 5):
        if len(set(ranks)) == 5:
            hands_.append(tuple(r + s for r, s in zip(ranks, "cdhsc")))  # not a flush
            hands_.append(tuple(r + "s" for r in ranks))                 # a flush
        elif max(Counter(ranks).values()) <= 4:
            seen: Counter = Counter()
            hand = []
            for r in ranks:
                hand.append(r + SUITS[seen[r]])
                seen[r] += 1
            hands_.append(tuple(hand))
    ours = sorted(hands_, key=evaluate)
    refs = [reference(h) for h in ours]
    values = [evaluate(h) for h in ours]
    assert len(set(values)) == len(set(refs)) == 7462
    for i in range(len(ours) - 1):  # sorted by ours, so the reference must agree
        assert (values[i] == values[i + 1]) == (refs[i] == refs[i + 1]), ours[i:i + 2]
        assert refs[i] <= refs[i + 1], ours[i:i + 2]


# -- edge cases -------------------------------------------------------------

def ev(text: str) -> int:
    return evaluate(parse_cards(text))


def test_wheel_is_the_lowest_straight():
    wheel = ev("Ac 2d 3h 4s 5c")
    assert category(wheel) == "Straight"
    assert describe(wheel) == "Straight, five high"
    assert wheel < ev("2c 3d 4h 5s 6c")           # six high straight wins
    assert wheel > ev("Ac Ad Ah Ks Qc")           # any straight beats trips
    assert wheel == ev("As 2c 3c 4d 5h Kd Kh")    # pair of kings is irrelevant
    assert ev("Ac 2d 3h 4s 5c 6d") == ev("2c 3d 4h 5s 6c")  # a six makes it six high
    assert describe(ev("Ac Kd Qh Js Tc")) == "Straight, ace high"
    assert category(ev("Kc Ad 2h 3s 4c")) == "High card"  # no wrap-around


def test_steel_wheel_is_the_lowest_straight_flush_and_beats_quads():
    steel = ev("Ad 2d 3d 4d 5d")
    assert category(steel) == "Straight flush"
    assert describe(steel) == "Straight flush, five high"
    assert steel > ev("Ac Ad Ah As Kc")
    assert steel < ev("2h 3h 4h 5h 6h")
    assert steel == ev("Ad 2d 3d 4d 5d Ac As")


def test_kickers_decide():
    assert ev("Ac Kd 9h 7s 5c") > ev("Ad Qc 9s 7h 5d")            # AK vs AQ high
    assert ev("Ac Kd 9h 7s 5c") > ev("Ad Kc 9s 7h 4d")            # down to the fifth card
    assert ev("Ac Ad Kh Qs Jc") > ev("Ah As Kd Qc Tc")            # pair, third kicker
    assert ev("Ac Ad Kh Ks Qc") > ev("Ah As Kd Kc Jd")            # two pair kicker
    assert ev("Ac Ad Ah Ks Qc") > ev("As Ad Ah Kd Jc")            # trips kicker
    assert ev("Ac Ad Kh Qs Jc 3d 2c") == ev("Ah As Kd Qc Jh 4c 5d")  # sixth/seventh cards play no part


def test_two_trips_make_a_full_house():
    value = ev("Kd Ks Kc 7h 7d 7s 2c")
    assert category(value) == "Full house"
    assert describe(value) == "Full house, kings over sevens"
    assert value == ev("Kd Ks Kc 7h 7d")
    assert ev("7h 7d 7s Kd Ks 2c 3c") < value                      # sevens full of kings is less


def test_three_pairs_make_two_pair_with_the_best_kicker():
    value = ev("Ac Ad Kh Ks Qc Qd 2c")
    assert category(value) == "Two pair"
    assert describe(value) == "Two pair, aces and kings"
    assert value == ev("Ac Ad Kh Ks Qh")                           # kicker: the third pair's rank
    assert ev("Ac Ad Kh Ks 3c 3d Qh") == ev("Ac Ad Kh Ks Qh")       # kicker: the single queen
    assert ev("Ac Ad Kh Ks 3c 3d 2h") == ev("Ac Ad Kh Ks 3h")       # kicker: the third pair


def test_quads_take_the_highest_other_card_as_kicker():
    assert ev("Ac Ad Ah As Kc Kd Kh") == ev("Ac Ad Ah As Kc")
    assert ev("2c 2d 2h 2s 3c 3d Ah") == ev("2c 2d 2h 2s Ac")
    assert ev("2c 2d 2h 2s 3c 3d Qh") < ev("2c 2d 2h 2s Ac")
    assert describe(ev("Qc Qd Qh Qs 3c 3d 3h")) == "Four of a kind, queens"


def test_flush_beats_a_straight_in_the_same_seven_cards():
    value = ev("2h 4h 6h 8h 9h 5d 7c")  # 5-6-7-8-9 straight and a heart flush
    assert category(value) == "Flush"
    assert describe(value) == "Flush, nine high"
    assert value == ev("2h 4h 6h 8h 9h")
    assert value > ev("5c 6d 7h 8s 9c")


def test_straight_flush_beats_a_higher_flush():
    assert ev("9h 8h 7h 6h 5h") > ev("Ah Kh Qh Jh 9h")
    value = ev("5h 6h 7h 8h 9h Ah Kh")  # also an ace-high flush in the same suit
    assert category(value) == "Straight flush"
    assert describe(value) == "Straight flush, nine high"
    assert describe(ev("As Ks Qs Js Ts 9s 8s")) == "Royal flush"


def test_six_flush_cards_use_the_top_five():
    assert ev("Ah Kh 9h 7h 4h 2h Ac") == ev("Ah Kh 9h 7h 4h")
    assert ev("Ah Kh 9h 7h 4h 3h") > ev("Ah Kh 9h 7h 3h 2h")


def test_five_six_and_seven_cards():
    assert ev("Ac Kd 9h 7s 5c") == ev("Ac Kd 9h 7s 5c 2d") == ev("Ac Kd 9h 7s 5c 2d 3h")
    assert category(ev("Ac Ad 9h 7s 5c 2d")) == "Pair"
    assert category(ev("Ac Ad 9h 9s 5c 5d")) == "Two pair"


def test_category_and_describe_strings():
    cases = {
        "Ac Jd 9h 7s 5c": ("High card", "High card, ace"),
        "9c 9d 5h 3s 2c": ("Pair", "Pair of nines"),
        "6c 6d 5h 3s 2c": ("Pair", "Pair of sixes"),
        "Ac Ad Th Ts 2c": ("Two pair", "Two pair, aces and tens"),
        "Jc Jd Jh 9s 2c": ("Three of a kind", "Three of a kind, jacks"),
        "Tc 9d 8h 7s 6c": ("Straight", "Straight, ten high"),
        "Ah 9h 7h 3h 2h": ("Flush", "Flush, ace high"),
        "Kc Kd Kh 7s 7c": ("Full house", "Full house, kings over sevens"),
        "Qc Qd Qh Qs 2c": ("Four of a kind", "Four of a kind, queens"),
        "9s 8s 7s 6s 5s": ("Straight flush", "Straight flush, nine high"),
        "As Ks Qs Js Ts": ("Straight flush", "Royal flush"),
    }
    for hand, (cat, text) in cases.items():
        value = ev(hand)
        assert (category(value), describe(value)) == (cat, text), hand
    assert set(CATEGORIES) == {category(ev(h)) for h in cases}


def test_best_five_display_order():
    assert best_five(parse_cards("Kd 7s Kc 2h 7h Kh 9c")) == ("Kd", "Kc", "Kh", "7s", "7h")
    assert best_five(parse_cards("2c 9d As 5h 3d 4s Kd")) == ("5h", "4s", "3d", "2c", "As")
    assert best_five(parse_cards("Ac Ad Kh Ks Qc Qd 2c")) == ("Ac", "Ad", "Kh", "Ks", "Qc")


def test_any_iterable_of_cards_is_accepted():
    flush = ("2h", "4h", "6h", "8h", "9h", "5d", "7c")
    assert evaluate(iter(flush)) == evaluate(list(flush)) == evaluate(flush)
    assert evaluate(c for c in flush) == evaluate(flush)


@pytest.mark.parametrize("cards", [
    (), ("Ac", "Kd", "9h", "7s"),                          # too few
    ("Ac", "Kd", "9h", "7s", "5c", "2d", "3h", "4h"),      # too many
    ("Ah", "Kh", "9h", "7h", "5h", "2h", "3h", "4h"),      # too many, and a flush
    ("Ac", "Kd", "9h", "7s", "Xx"),                        # not a card
    ("Ac", "Kd", "9h", "7s", 5),
    "AcKd9h7s5c",                                          # a string, not a sequence of cards
])
def test_bad_input_raises_value_error(cards):
    with pytest.raises(EvaluatorError):
        evaluate(cards)
    with pytest.raises(ValueError):
        evaluate(cards)


def test_category_rejects_non_values():
    with pytest.raises(ValueError):
        category(9 << 20)
    with pytest.raises(ValueError):
        category(-1)
