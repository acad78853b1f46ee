"""Tournament rules (game/tournament.py): blind clock, payouts, places, seating, balancing.

Properties with Hypothesis, plus whole tournaments played with the table engine.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.cards import DECK
from game.phh import dumps_phh, hand_to_phh, loads_phh, replay
from game.table import (AllIn, Call, Check, Fold, SitDown, StandUp, StartHand, apply,
                        automatic_action, can_start_hand, legal_actions, new_table)
from game.tournament import (PAYOUTS, BlindStructure, Clock, Level, Moved, Placed, TableBroken,
                             Tournament, TournamentError, absent_action, between_hands,
                             blinds_for_next_hand, bust_order, clock, final_table, level_at,
                             next_big_blind, payout_shares, payouts, players_at, prizes, ready,
                             register, seat_of, sit_and_go, start, tables_needed,
                             time_to_next_level, unregister, with_level, with_table,
                             worst_seat)
from hands import stacked_deck
from pokerkit_reader import strict_stacks
from test_pokerkit_diff import pokerkit_stacks

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
    assert time_to_next_level(s, 0, 3599) == 1 and time_to_next_level(s, 0, 10**9) is None
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


# -- seats: the next big blind and the worst seat --------------------------------------


def shuffled(rng: random.Random) -> tuple:
    deck = list(DECK)
    rng.shuffle(deck)
    return tuple(deck)


def drop_busted(t):
    for i, s in enumerate(t.seats):
        if s is not None and s.stack == 0:
            t, _ = apply(t, StandUp(i))
    return t


def decide(t, rng: random.Random):
    """A simple, quick policy: often all in, often folding, otherwise calling or checking."""
    legal = legal_actions(t)
    r = rng.random()
    if r < 0.06 and "all_in" in legal.actions:
        return AllIn(legal.seat)
    if "check" in legal.actions:
        return Check(legal.seat)
    if r < 0.6:
        return Fold(legal.seat)
    return Call(legal.seat) if "call" in legal.actions else AllIn(legal.seat)


def step(t, rng: random.Random, absent=frozenset()):
    """One action in a running hand: the rules' own, an absent player's, or the policy's."""
    action = automatic_action(t) or absent_action(t, absent) or decide(t, rng)
    t, _ = apply(t, action)
    return t


def play_out(t, rng, absent=frozenset()):
    while t.hand_running:
        t = step(t, rng, absent)
    return t


def play_hand(t, rng, absent=frozenset()):
    t, _ = apply(t, StartHand(shuffled(rng)))
    return play_out(t, rng, absent)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 10), st.data())
def test_next_big_blind_agrees_with_the_table(size, data):
    """Whatever the seats and however many hands were played, :func:`next_big_blind`
    names the seat the table then puts in the big blind; a newcomer in the
    :func:`worst_seat` is not skipped: they post a big blind before anyone posts two."""
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    taken = data.draw(st.sets(st.integers(0, size - 1), min_size=2, max_size=size))
    t = new_table(size, 1, 2, 2, ante_kind="big_blind")
    for i in sorted(taken):
        t, _ = apply(t, SitDown(i, f"p{i}", data.draw(st.integers(1, 30))))
    for _ in range(data.draw(st.integers(0, 4))):
        if not can_start_hand(t):
            break
        t = drop_busted(play_hand(t, rng))
    if not can_start_hand(t):
        return
    newcomer = None
    if len(players_at(t)) < size and data.draw(st.booleans()):
        newcomer = worst_seat(t)
        t, _ = apply(t, SitDown(newcomer, "new", 1000))
    bigs = []
    for _ in range(size):
        if not can_start_hand(t):
            break
        expected = next_big_blind(t)
        t, _ = apply(t, StartHand(shuffled(rng)))
        assert t.hand.big_blind_seat == expected
        bigs.append(expected)
        t = drop_busted(play_out(t, rng))
        if newcomer is None or newcomer in bigs:
            break
    assert len(set(bigs)) == len(bigs)    # nobody posted twice before the newcomer


# -- sitting out does not forfeit ---------------------------------------------------


def test_an_absent_player_is_dealt_in_posts_and_folds():
    """Away for six hands against players who always move all in: dealt in each time,
    the blinds and the big-blind ante come out of the stack, and the hand is folded."""
    rng = random.Random(5)
    t = new_table(3, 10, 20, 20, ante_kind="big_blind")
    for i, stack in enumerate((1000, 10**6, 10**6)):
        t, _ = apply(t, SitDown(i, f"p{i}", stack))
    posted = []
    for _ in range(6):
        t, _ = apply(t, StartHand(shuffled(rng)))
        assert t.seats[0].in_hand                   # dealt in, never sat out
        posted.append(t.seats[0].total)
        while t.hand_running:
            action = automatic_action(t) or absent_action(t, {"p0"})
            if action is None:
                assert t.seats[t.hand.to_act].player != "p0"
                legal = legal_actions(t)
                action = (AllIn if "all_in" in legal.actions else
                          Call if "call" in legal.actions else Check)(legal.seat)
            t, _ = apply(t, action)
        assert t.seats[0].folded
    assert sorted(posted) == [0, 0, 10, 10, 40, 40]   # small blind; big blind and its ante
    assert t.seats[0].stack == 1000 - 100
    assert absent_action(t, {"p0"}) is None         # between hands nothing is due


# -- sit-and-go and multi-table tournaments ----------------------------------------------

FAST = BlindStructure(tuple(Level(b // 2, b, b) for b in (20, 40, 80, 160, 320, 640, 1280)),
                      seconds=600, hands_per_level=6)


def test_a_sit_and_go_starts_when_full():
    t = sit_and_go(6, 100, 1500, FAST)
    for p in "abcdef":
        assert not ready(t)
        t = register(t, p)
    assert ready(t) and t.prize_pool == 600
    with pytest.raises(TournamentError, match="full"):
        register(t, "g")
    with pytest.raises(TournamentError, match="already registered"):
        register(unregister(t, "f"), "a")
    t = unregister(t, "f")
    with pytest.raises(TournamentError, match="must be a permutation"):
        start(t, 0, "abcdef")
    with pytest.raises(TournamentError, match="when it is full"):
        start(t, 0, "abcde")
    t = register(t, "f")
    t = start(t, 0, "fedcba")
    assert [players_at(table) for _, table in t.tables] == [list("fedcba")]
    assert final_table(t) and t.chips() == 6 * 1500
    assert {s.stack for s in t.table(1).seats} == {1500}
    with pytest.raises(TournamentError, match="no unregistering"):
        unregister(t, "a")
    with pytest.raises(TournamentError, match="closed"):
        register(t, "z", now=1)


class Run:
    """Plays a tournament with the table engine: tables take turns at random (one action,
    or the tournament's turn between hands and a new hand), as the server's tables do,
    and every invariant is checked after every step."""

    def __init__(self, t: Tournament, seed: int, absent=frozenset()):
        self.t, self.rng, self.absent = t, random.Random(seed), absent
        self.total = t.chips()
        self.moves: list[Moved] = []
        self.broken: list[int] = []
        self.hands = 0
        self.now = 0.0
        self.tables_seen = {n for n, _ in t.tables}

    def step(self):
        t, rng = self.t, self.rng
        self.now += 1.5
        number, table = rng.choice(t.tables)
        if table.hand_running:
            with pytest.raises(TournamentError, match="between hands"):
                between_hands(t, number, self.now)
            t = with_table(t, number, step(table, rng, self.absent))
        else:
            playing = {n: in_hand(tb) for n, tb in t.tables if tb.hand_running}
            before = {p: n for n, tb in t.tables for p in players_at(tb)}
            t, events = between_hands(t, number, self.now)
            # Nobody moves in the middle of a hand: tables with a hand running keep
            # everyone in it, in the same seat; only the table between hands gives.
            assert {n: in_hand(t.table(n)) for n in playing} == playing
            for e in events:
                if isinstance(e, Moved):
                    assert e.from_table == number and before[e.player] == number
                    self.moves.append(e)
                elif isinstance(e, TableBroken):
                    self.broken.append(e.table)
            if not t.finished and any(n == number for n, _ in t.tables):
                table = t.table(number)
                level = blinds_for_next_hand(t.structure, t.started_at, self.now,
                                             table.hand_number)
                if can_start_hand(table) and level is not None:
                    assert (table.big_blind, table.ante) == (level.big_blind, level.ante)
                    t = with_table(t, number, apply(table, StartHand(shuffled(rng)))[0])
                    self.hands += 1
        self.t = t
        self.check()

    def check(self):
        t = self.t
        assert t.chips() == self.total                          # chips are conserved
        seated = [p for _, tb in t.tables for p in players_at(tb)]
        out = [r.player for r in t.results]
        assert len(seated) == len(set(seated))                  # one seat each
        if not t.finished:
            assert not set(seated) & set(out)                   # the busted never sit again
            assert sorted(seated + out) == sorted(t.registered)
        for _, tb in t.tables:
            assert len(players_at(tb)) <= t.seats
            for s in tb.seats:
                if s is not None and s.in_hand and tb.hand_running:
                    assert s.player not in out                  # nor play

    def to_the_end(self, max_steps=200_000):
        for _ in range(max_steps):
            if self.t.finished:
                return self
            self.step()
        raise AssertionError("the tournament did not finish")


def in_hand(table) -> dict:
    return {i: (s.player, s.stack, s.total) for i, s in enumerate(table.seats)
            if s is not None and s.in_hand}


def check_results(t: Tournament):
    """Places are a permutation of the entrants; prizes add up to the pool."""
    results = t.results
    assert sorted(r.player for r in results) == sorted(t.registered)
    places = sorted(r.place for r in results)
    assert places[0] == 1 and places.count(1) == 1
    for r in results:                     # a tie shares its places: no gaps, no overlaps
        tied = places.count(r.place)
        assert all(p not in places for p in range(r.place + 1, r.place + tied))
    assert sum(r.prize for r in results) == t.prize_pool
    paid = payouts(t.prize_pool, len(t.registered))
    for r in results:
        if places.count(r.place) == 1:
            assert r.prize == (paid[r.place - 1] if r.place <= len(paid) else 0)
    # The one who went out first finished last.
    assert results[0].place == len(t.registered) - places.count(results[0].place) + 1
    assert results[-1].place == 1


def new_mtt(n: int, seats: int = 9, seed: int = 0, **options) -> Tournament:
    t = Tournament(buy_in=100, starting_stack=1000, structure=FAST, seats=seats, **options)
    for i in range(n):
        t = register(t, f"p{i:02}")
    draw = [f"p{i:02}" for i in range(n)]
    random.Random(seed).shuffle(draw)
    return start(t, 0, draw)


def test_a_sit_and_go_played_to_the_end():
    t = sit_and_go(9, 100, 1000, FAST)
    for p in "abcdefghi":
        t = register(t, p)
    run = Run(start(t, 0, "abcdefghi"), seed=1).to_the_end()
    check_results(run.t)
    assert [r.prize for r in run.t.results if r.place <= 3] == [180, 270, 450]
    assert run.moves == [] and run.broken == []


def test_a_27_player_freezeout_played_to_the_end():
    """Three full tables of 9, played hand by hand with the table engine, interleaved;
    two players away for the whole tournament (posting and folding)."""
    t = new_mtt(27, seed=27)
    assert [len(players_at(tb)) for _, tb in t.tables] == [9, 9, 9]
    run = Run(t, seed=2027, absent={"p03", "p17"}).to_the_end()
    t = run.t
    check_results(t)
    assert t.prize_pool == 2700 and len([r for r in t.results if r.prize]) == 9
    assert final_table(t) and len(t.tables) == 1
    assert len(run.broken) == 2 and run.moves                  # 3 tables became 1
    assert {m.from_table for m in run.moves} <= {1, 2, 3}
    assert all(m.stack > 0 for m in run.moves)                 # only players with chips move
    assert run.hands > 50


def test_tables_start_balanced_and_the_draw_decides_the_seats():
    t = new_mtt(20, seed=3)
    assert [len(players_at(tb)) for _, tb in t.tables] == [7, 7, 6]
    assert tables_needed(t) == 3 and not final_table(t)
    again = new_mtt(20, seed=3)
    assert again == t                       # the same draw, the same seats
    assert new_mtt(20, seed=4) != t


def mtt_with(sizes: list[int], seats: int = 9) -> Tournament:
    """A started tournament whose tables hold ``sizes`` players (as after some busts)."""
    names = [f"p{i:02}" for i in range(sum(sizes))]
    t = Tournament(buy_in=10, starting_stack=500, structure=FAST, seats=seats,
                   registered=tuple(names), started_at=0)
    tables, it = [], iter(names)
    for n, size in enumerate(sizes, 1):
        table = new_table(seats, 10, 20, 20, ante_kind="big_blind")
        for seat in range(size):
            table, _ = apply(table, SitDown(seat, next(it), 500))
        tables.append((n, table))
    return dataclasses.replace(t, tables=tuple(tables))


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 9).flatmap(lambda seats: st.tuples(
    st.just(seats), st.lists(st.integers(1, seats), min_size=2, max_size=6))), st.data())
def test_after_every_table_had_its_turn_no_two_differ_by_more_than_one(case, data):
    seats, sizes = case
    t = mtt_with(sizes, seats)
    chips = t.chips()
    order = data.draw(st.permutations([n for n, _ in t.tables]))
    # Tables take turns (between hands) in some order; a break can make a table the
    # highest after its turn, so rounds go on until one moves nobody: a break per round.
    for _ in range(len(sizes) + 1):
        moved = False
        for number in order:
            if any(n == number for n, _ in t.tables):
                t, events = between_hands(t, number, 0)
                assert all(e.from_table == number for e in events if isinstance(e, Moved))
                moved = moved or bool(events)
        if not moved:
            break
    else:
        raise AssertionError("the tables never settled")
    counts = [len(players_at(tb)) for _, tb in t.tables]
    assert t.chips() == chips and sum(counts) == sum(sizes)    # moves and breaks keep chips
    assert len(t.tables) == tables_needed(t)                   # broken down to as few as need
    assert max(counts) - min(counts) <= 1
    assert all(c <= seats for c in counts)


def test_the_player_moved_is_the_next_big_blind_to_the_worst_seat():
    t = mtt_with([9, 6])
    table = t.table(1)
    table, _ = apply(table, StartHand(DECK))
    table = play_out(table, random.Random(0))
    t = with_table(t, 1, table)
    big = next_big_blind(t.table(1))
    player = t.table(1).seats[big].player
    to_seat = worst_seat(t.table(2))
    t, events = between_hands(t, 1, 0)
    assert events[0] == Moved(player, 1, big, 2, to_seat, events[0].stack)
    assert len(events) == 1 and t.table(2).seats[to_seat].player == player
    assert [len(players_at(tb)) for _, tb in t.tables] == [8, 7]


def test_the_highest_numbered_table_breaks():
    t = mtt_with([5, 5, 4])             # 14 players fit on two tables of 9
    t2, events = between_hands(t, 1, 0)
    assert events == () and len(t2.tables) == 3      # table 1 waits for table 3
    t3, events = between_hands(t, 3, 0)
    assert events[0] == TableBroken(3) and len(events) == 5
    assert [n for n, _ in t3.tables] == [1, 2]
    assert sorted(len(players_at(tb)) for _, tb in t3.tables) == [7, 7]


def test_late_registration_during_the_first_levels():
    t = new_mtt(18, late_levels=2)
    t = register(t, "late", now=700)               # level 2 (by time)
    assert any("late" in players_at(tb) for _, tb in t.tables)
    assert t.prize_pool == 1900 and t.chips() == 19 * 1000
    with pytest.raises(TournamentError, match="closed"):
        register(t, "later", now=1200)                 # level 3
    # Every table full: the newcomer opens one, which the others fill as they balance.
    t = register(new_mtt(27, late_levels=1), "late", now=1)
    assert seat_of(t, "late") == (4, 0) and len(players_at(t.table(4))) == 1
    t, events = between_hands(t, 1, 2)
    assert [(e.from_table, e.to_table) for e in events] == [(1, 4)] * 4
    assert seat_of(t, "p99") is None


def test_a_field_is_at_most_as_large_as_the_payout_table():
    t = Tournament(buy_in=1, starting_stack=100, structure=FAST)
    for i in range(90):
        t = register(t, f"p{i}")
    with pytest.raises(TournamentError, match="full"):
        register(t, "one more")


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(2, 9), st.integers(0, 2**32), st.booleans())
def test_any_freezeout_ends_with_places_prizes_and_chips_right(n, seats, seed, late):
    """Random fields, table sizes, draws and interleavings (the invariants of
    :class:`Run` are checked after every step): the places and prizes come out right."""
    t = new_mtt(n, seats=seats, seed=seed, late_levels=2 if late else 0)
    run = Run(t, seed=seed)
    if late:
        # Register late once someone is out: they finish below the newcomer.
        while not run.t.results and not run.t.finished:
            run.step()
        if not run.t.finished:
            before = run.t.results
            in_the_money = any(r.place + 1 <= len(payout_shares(n + 1)) for r in before)
            if in_the_money:
                with pytest.raises(TournamentError, match="in the money"):
                    register(run.t, "late", now=run.now)
            else:
                run.t = register(run.t, "late", now=run.now)
                run.total += run.t.starting_stack
                assert [r.place for r in run.t.results] == [r.place + 1 for r in before]
                assert seat_of(run.t, "late") is not None
                run.check()
    run.to_the_end()
    check_results(run.t)
    assert len(run.t.tables) == 1


def test_busting_in_one_hand_is_ranked_by_the_stack_the_hand_started_with():
    table = new_table(9, 10, 20, 20, ante_kind="big_blind")
    for seat, stack in enumerate((100, 300, 300, 2000)):
        table, _ = apply(table, SitDown(seat, f"p{seat}", stack))
    t = Tournament(buy_in=10, starting_stack=700, structure=FAST, registered=("p0", "p1", "p2",
                   "p3"), started_at=0, tables=((1, table),))
    # Button 0, small blind 1, big blind 2; everyone all in, p3's aces win it all.
    deck = stacked_deck([1, 2, 3, 0], {3: "AsAh", 0: "7c2d", 1: "8c3d", 2: "9c4h"},
                        "KdQs5c5s2h")
    table, _ = apply(table, StartHand(deck))
    while table.hand_running:
        legal = legal_actions(table)
        table, _ = apply(table, (AllIn if "all_in" in legal.actions else Call)(legal.seat))
    t = with_table(t, 1, table)
    t, events = between_hands(t, 1, 0)
    # p0 started with the least: 4th; p1 and p2 tie (300 each) and share 2nd and 3rd.
    assert events == (Placed("p0", 4, 0), Placed("p1", 2, 0), Placed("p2", 2, 0),
                      Placed("p3", 1, 40))
    assert t.finished and t.results == events
    with pytest.raises(TournamentError, match="over"):
        between_hands(t, 1, 0)


# -- the big-blind ante in PHH ------------------------------------------------------------


def test_big_blind_ante_hands_export_as_pokerkit_reads_them():
    """A 9-handed tournament table with rising blinds and a big-blind ante, until one
    player has everything: every hand written as PHH has one ante, the big blind's
    (``antes`` per position, 0 for the others, as pokerkit reads them), and pokerkit,
    reading each file strictly, agrees with our finishing stacks (but for its known way
    with odd chips), as does our replay; short big blinds (all in for the ante, or for
    part of the blind) included."""
    short_big_blinds = hands = 0
    for seed in range(40):
        if hands > 50 and short_big_blinds >= 3:
            break
        rng = random.Random(seed)
        table = new_table(9, 10, 20, 20, ante_kind="big_blind")
        for seat in range(9):
            table, _ = apply(table, SitDown(seat, f"p{seat}", rng.choice((15, 30, 200, 1000))))
        level = 0
        while can_start_hand(table):
            table = with_level(table, FAST.levels[min(level // 4, len(FAST.levels) - 1)])
            level += 1
            before = table
            actions = [StartHand(shuffled(rng))]
            table, events = apply(table, actions[0])
            big = table.seats[table.hand.big_blind_seat]
            short_big_blinds += big.total < table.ante + table.big_blind
            while table.hand_running:
                action = automatic_action(table) or decide(table, rng)
                actions.append(action)
                table, more = apply(table, action)
                events += more
            phh = hand_to_phh(before, actions)
            # One ante, in the big blind's position (heads-up, pokerkit's first position).
            assert sorted(phh["antes"]) == [0] * (len(phh["players"]) - 1) + [before.ante]
            assert phh["ante_trimming_status"] is False    # a big-blind ante is dead money
            text = dumps_phh(phh)
            # pokerkit gives all of a split pot's odd chips to one winner, we give
            # them one at a time (rule case 6, tests/test_pokerkit_diff.py).
            assert strict_stacks(text) == pokerkit_stacks(
                phh["finishing_stacks"], events, [seat - 1 for seat in phh["seats"]])
            assert replay(loads_phh(text)).finishing_stacks == phh["finishing_stacks"]
            hands += 1
            table = drop_busted(table)
    assert hands > 50 and short_big_blinds >= 3, (hands, short_big_blinds)
