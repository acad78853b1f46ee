"""Tournament rules (game/tournament.py): blind clock, payouts, places, seating, balancing.

Properties with Hypothesis, plus whole tournaments played with the table engine.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.cards import DECK
from game.table import SitDown, StartHand, apply, new_table
from game.tournament import (PAYOUTS, BlindStructure, Clock, Level, TournamentError,
                             blinds_for_next_hand, bust_order, clock, level_at, payout_shares,
                             payouts, prizes, with_level)

LEVELS = tuple(Level(b // 2, b, b) for b in (20, 30, 40, 60, 80, 100, 150, 200))

structures = st.builds(
    BlindStructure, levels=st.integers(1, len(LEVELS)).map(lambda n: LEVELS[:n]),
    seconds=st.integers(1, 1200), hands_per_level=st.sampled_from([0, 0, 5, 10]),
    break_every=st.sampled_from([0, 1, 3]), break_seconds=st.integers(0, 300))


# -- the blind clock ------------------------------------------------------------------


def test_twenty_minute_levels_with_a_break_every_hour():
    s = BlindStructure(LEVELS, seconds=1200, break_every=3, break_seconds=300)
    assert clock(s, 0, 0) == Clock(0, False, 1200)
    assert clock(s, 0, 3599) == Clock(2, False, 1)
    assert clock(s, 0, 3600) == Clock(3, True, 300)        # the break before level 4
    assert blinds_for_next_hand(s, 0, 3700) is None         # no hand starts on a break
    assert clock(s, 0, 3900) == Clock(3, False, 1200)
    assert level_at(s, 0, 3900) == LEVELS[3]
    assert clock(s, 0, 10**9) == Clock(len(LEVELS) - 1, False, None)
    with pytest.raises(ValueError, match="not started"):
        clock(s, 100, 99)


def test_levels_by_hands_end_a_level_early():
    s = BlindStructure(LEVELS, seconds=600, hands_per_level=10)
    assert level_at(s, 0, 0, hands_played=9) == LEVELS[0]
    assert level_at(s, 0, 0, hands_played=10) == LEVELS[1]
    assert level_at(s, 0, 700, hands_played=0) == LEVELS[1]   # whichever comes first
    assert level_at(s, 0, 0, hands_played=10**6) == LEVELS[-1]


@settings(max_examples=300, deadline=None)
@given(structures, st.integers(0, 30000), st.integers(0, 30000), st.integers(0, 200))
def test_the_clock_only_moves_forward(s, t1, t2, hands):
    a, b = sorted((t1, t2))
    ca, cb = clock(s, 0, a, hands), clock(s, 0, b, hands)
    assert ca.level <= cb.level
    assert 0 <= ca.level < len(s.levels)
    if ca.seconds_left is None:
        assert ca.level == len(s.levels) - 1 and not ca.on_break
        assert cb.level == ca.level
    else:
        assert ca.seconds_left > 0
        # Just before the time is up nothing has changed; at it, something has.
        end = a + ca.seconds_left
        assert clock(s, 0, end - 0.001, hands) == Clock(ca.level, ca.on_break,
                                                        pytest.approx(0.001))
        after = clock(s, 0, end, hands)
        assert (after.level, after.on_break) != (ca.level, ca.on_break)
    if ca.on_break:
        assert blinds_for_next_hand(s, 0, a, hands) is None
    else:
        assert blinds_for_next_hand(s, 0, a, hands) == s.levels[ca.level]


def test_a_structure_is_checked_once():
    with pytest.raises(ValueError, match="at least one level"):
        BlindStructure((), 60)
    with pytest.raises(ValueError, match="impossible level"):
        BlindStructure((Level(30, 20),), 60)


def test_new_blinds_apply_between_hands_only():
    t = new_table(3, 10, 20)
    for seat in range(3):
        t, _ = apply(t, SitDown(seat, f"p{seat}", 1000))
    t = with_level(t, Level(50, 100, 100))
    t, events = apply(t, StartHand(DECK))
    hand = t.hand
    big = t.seats[hand.big_blind_seat]
    assert big.stack == 1000 - 100 - 100 and t.seats[hand.small_blind_seat].stack == 950
    assert sum(s.stack for s in t.seats) == 3000 - 250
    with pytest.raises(TournamentError, match="between hands"):
        with_level(t, LEVELS[0])


# -- payouts and places ---------------------------------------------------------------


def test_the_payout_table():
    assert [payout_shares(n) for n in (2, 5)] == [(10000,)] * 2
    assert payout_shares(6) == payout_shares(7) == (6500, 3500)
    assert payout_shares(9) == (5000, 3000, 2000)
    assert len(payout_shares(27)) == 9
    covered = [n for field, _ in PAYOUTS for n in field]
    assert covered == list(range(2, 91))              # every field size once, in order
    for field, shares in PAYOUTS:
        assert sum(shares) == 10000 and list(shares) == sorted(shares, reverse=True)
        assert len(shares) < field.start               # never more places paid than players
    for n in (1, 91):
        with pytest.raises(TournamentError, match="no payout table"):
            payout_shares(n)


@given(st.integers(0, 10**9), st.integers(2, 90))
def test_payouts_add_up_to_the_pool_and_fall_with_the_place(pool, entrants):
    paid = payouts(pool, entrants)
    assert sum(paid) == pool
    assert list(paid) == sorted(paid, reverse=True)
    floors = [pool * share // 10000 for share in payout_shares(entrants)]
    assert all(p - f in (0, 1) for p, f in zip(paid, floors))   # only odd chips added


def test_two_busting_in_one_hand_the_bigger_stack_finishes_higher():
    # 9 players, 3 left: a short stack (200) and a big one (700) bust in one hand.
    groups = bust_order({"big": 700, "short": 200})
    assert groups == (("short",), ("big",))
    assert prizes(900, 9, groups[0], 3) == {"short": 180}     # 3rd
    assert prizes(900, 9, groups[1], 2) == {"big": 270}       # 2nd


@settings(max_examples=200)
@given(st.integers(2, 90), st.integers(0, 10**7), st.data())
def test_places_are_a_permutation_and_prizes_add_up_to_the_pool(entrants, pool, data):
    """Bust everyone but one, a few per hand with random starting stacks (ties
    included): places cover 1..entrants once each and the prizes are the pool."""
    left = [f"p{i}" for i in range(entrants)]
    won: dict[str, int] = {}
    places: dict[str, tuple[int, int]] = {}
    covered: list[int] = []   # the places each group takes
    while len(left) > 1:
        k = data.draw(st.integers(1, len(left) - 1))
        out = data.draw(st.permutations(left)).__getitem__(slice(k))
        stacks = {p: data.draw(st.integers(1, 4)) for p in out}
        for group in bust_order(stacks):
            remaining = len(left)
            for p in group:
                places[p] = (remaining - len(group) + 1, remaining)
            covered.extend(range(remaining - len(group) + 1, remaining + 1))
            got = prizes(pool, entrants, group, remaining)
            assert set(got) == set(group) and max(got.values()) - min(got.values()) <= 1
            won.update(got)
            left = [p for p in left if p not in group]
        # Within one hand the bigger starting stack finishes higher.
        for a in out:
            for b in out:
                if stacks[a] > stacks[b]:
                    assert places[a][1] < places[b][0]
    won.update(prizes(pool, entrants, tuple(left), 1))
    covered.append(1)
    assert sum(won.values()) == pool and set(won) == {f"p{i}" for i in range(entrants)}
    # Each place goes to one group (tied players share theirs), once.
    assert sorted(covered) == list(range(1, entrants + 1))
