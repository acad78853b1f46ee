"""Bots: strategies on canned turns, and crowds of bots against a real server.

The server tests start ``run_server.py`` on a free loopback port with a short
clock and pause, and are skipped while the server is not there yet.
"""

from __future__ import annotations

import doctest
import random

import pytest

from client.bots import run as run_module
from client.bots import stats as stats_module
from client.bots import strategies
from client.bots.strategies import STRATEGIES, BotState, chen_score, monte_carlo_equity
from game.cards import DECK

# ---------------------------------------------------------------------------
# Strategies on canned turn messages


def turn(actions, call=0, min_to=0, max_to=0, seat=3):
    return {"type": "turn", "table": "t1", "hand": 12, "seat": seat,
            "legal": {"seat": seat, "actions": list(actions), "call": call,
                      "min_to": min_to, "max_to": max_to},
            "deadline_ms": 0, "time_bank_ms": 0}


CANNED = [
    turn(["fold", "check", "bet", "all_in"], 0, 2, 200),               # free check, may bet
    turn(["fold", "call", "raise", "all_in"], 20, 40, 200),            # facing a bet
    turn(["fold", "call", "all_in"], 150, 0, 0),                       # call puts them all in
    turn(["fold", "call"], 20, 0, 0),                                  # may not raise (not reopened)
    turn(["fold", "call", "all_in"], 5, 30, 30),                       # raise only all in
    turn(["fold", "check"], 0, 0, 0),                                  # all others all in
    turn(["fold", "call", "raise", "all_in"], 1, 4, 4000),             # deep stacks
    turn(["show", "muck"]),                                            # showdown, may muck
    turn(["show"]),                                                    # showdown, must show
]


def assert_legal(action: dict, t: dict) -> None:
    legal = t["legal"]
    assert action["action"] in legal["actions"], (action, legal)
    if action["action"] in ("bet", "raise"):
        assert set(action) == {"action", "amount"}
        amount = action["amount"]
        assert type(amount) is int and legal["min_to"] <= amount <= legal["max_to"], (action, legal)
    else:
        assert set(action) == {"action"}, action


def random_state(rng: random.Random) -> BotState:
    deck = list(DECK)
    rng.shuffle(deck)
    board = tuple(deck[2:2 + rng.choice([0, 3, 4, 5])])
    return BotState(seat=3, cards=tuple(deck[:2]) if rng.random() < 0.9 else (), board=board,
                    in_hand=set(rng.sample(range(6), rng.randint(1, 6))) | {3},
                    pot=rng.randint(0, 500), big_blind=2, rng=rng)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategies_always_return_a_legal_action(name):
    strategy, rng = STRATEGIES[name], random.Random(name)
    for t in CANNED:
        for _ in range(60):
            assert_legal(strategy(t, random_state(rng)), t)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategies_on_random_legal_turns(name):
    """Legal sets as game.table.legal_actions builds them, at random."""
    strategy, rng = STRATEGIES[name], random.Random(7)
    for _ in range(400):
        stack, facing = rng.randint(1, 400), rng.choice([0, 0, 2, 10, 60, 500])
        call = min(facing, stack)
        actions = ["fold", "call" if call else "check"]
        min_to = max_to = 0
        if rng.random() < 0.8 and stack > call:
            max_to = stack
            min_to = min(facing + max(2, facing), max_to)
            if max_to >= facing + max(2, facing):
                actions.append("raise" if facing else "bet")
            actions.append("all_in")
        t = turn(actions, call, min_to, max_to)
        assert_legal(strategy(t, random_state(rng)), t)


def test_random_play_keeps_hands_going():
    rng = random.Random(3)
    free = CANNED[0]
    picks = [strategies.random_play(free, BotState(rng=rng))["action"] for _ in range(2000)]
    assert picks.count("check") > 1000          # mostly checks
    assert 0 < picks.count("bet") < 600         # sometimes bets
    assert picks.count("fold") < 40             # rarely folds when checking is free
    facing = CANNED[1]
    picks = [strategies.random_play(facing, BotState(rng=rng))["action"] for _ in range(2000)]
    assert picks.count("call") > 1000 and picks.count("raise") > 50


def test_calling_station_never_folds_or_raises():
    for t in CANNED:
        assert strategies.calling_station(t, BotState())["action"] in ("check", "call", "all_in", "show")


def test_tight_aggressive_raises_good_hands_and_folds_bad_ones():
    rng = random.Random(5)
    facing = CANNED[1]
    aces = BotState(seat=3, cards=("As", "Ah"), in_hand={1, 3}, pot=30, rng=rng)
    trash = BotState(seat=3, cards=("7c", "2d"), in_hand={1, 3}, pot=30, rng=rng)
    assert strategies.tight_aggressive(facing, aces)["action"] == "raise"
    assert strategies.tight_aggressive(facing, trash)["action"] == "fold"
    assert strategies.tight_aggressive(CANNED[0], trash)["action"] == "check"   # free: no fold
    # Postflop: the nuts bets, air folds to a pot-sized bet.
    nuts = BotState(seat=3, cards=("As", "Ks"), board=("Qs", "Js", "Ts"), in_hand={1, 3},
                    pot=100, rng=rng)
    air = BotState(seat=3, cards=("7c", "2d"), board=("As", "Kh", "Qs", "Jd"), in_hand={1, 3},
                   pot=100, rng=rng)
    assert strategies.tight_aggressive(CANNED[0], nuts)["action"] == "bet"
    pot_bet = turn(["fold", "call", "raise", "all_in"], 100, 200, 400)
    assert strategies.tight_aggressive(pot_bet, air)["action"] == "fold"
    # Lost track of the hand (no hole cards known): never folds a free check.
    assert strategies.tight_aggressive(CANNED[0], BotState(seat=3))["action"] == "check"


def test_hand_strength_helpers():
    assert chen_score(("As", "Ah")) == 20 and chen_score(("2c", "2d")) == 5
    assert chen_score(("Js", "Ts")) == 9 and chen_score(("Ah", "Kh")) == 12
    rng = random.Random(11)
    assert 0.8 < monte_carlo_equity(("As", "Ah"), (), 1, 400, rng) < 0.9
    assert monte_carlo_equity(("7c", "2d"), ("Ac", "Ad", "Ah", "As", "Kc"), 2, 50, rng) == pytest.approx(1 / 3)  # all play the board


@pytest.mark.parametrize("module", [strategies, stats_module, run_module])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0
