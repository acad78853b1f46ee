"""Bots: strategies on canned turns, and crowds of bots against a real server.

The server tests start ``run_server.py`` on a free loopback port with a short
clock and pause, and are skipped while the server is not there yet.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

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


# ---------------------------------------------------------------------------
# Crowds of bots against a real server subprocess (the CLI, as people run it)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def server():
    """run_server.py on a free loopback port: a one-second clock, no pause, a short history."""
    if not (ROOT / "run_server.py").exists():
        pytest.skip("run_server.py is not there yet")
    port = free_port()
    proc = subprocess.Popen(
        [PY, "run_server.py", "--port", str(port), "--turn-seconds", "1", "--time-bank", "1",
         "--hand-pause", "0.05", "--history", "40", "--no-default-tables", "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            http(base + "/healthz")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield SimpleNamespace(port=port, base=base, ws=f"ws://127.0.0.1:{port}/ws", proc=proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def bots_cli(server, tmp_path, *args, timeout=60) -> dict:
    """Run ``python -m client.bots`` against the server; its JSON report."""
    out = tmp_path / f"report-{time.monotonic_ns()}.json"
    done = subprocess.run([PY, "-m", "client.bots", "--url", server.ws, "--quiet", "--seed", "1",
                           "--json", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.exists(), done.stderr[-3000:]
    report = json.loads(out.read_text())
    report["exit"], report["stdout"] = done.returncode, done.stdout
    return report


def metrics(server) -> dict:
    """The server's /metrics as {name: value} (labelled series summed)."""
    values: dict = {}
    for line in http(server.base + "/metrics").splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            name = name.split("{")[0]
            values[name] = values.get(name, 0) + float(value)
    return values


def assert_sane(report: dict, bots: int) -> None:
    lat = report["latency_ms"]
    assert report["bots"] == report["connected"] == report["seated"] == bots, report
    assert report["actions"] > 0 and report["actions_per_s"] > 0 and report["hands_per_s"] > 0
    assert lat["n"] == report["actions"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"] < 5000, lat


def test_each_strategy_plays_hands_without_errors(server, tmp_path):
    report = bots_cli(server, tmp_path, "--bots", "9", "--tables", "3", "--strategy", "mix",
                      "--hands", "30", "--duration", "25")
    assert report["exit"] == 0, report["stdout"]
    assert report["errors"] == {} and report["closes"] == {}, report
    assert report["hands"] >= 30
    assert_sane(report, 9)
    assert set(report["decisions"]) == set(STRATEGIES)          # every strategy played
    assert report["reconnects"] == report["timeouts"] == report["gaps"] == 0
    assert "hands" in report["stdout"] and "p99" in report["stdout"]


def test_chaos_bots_get_the_documented_answers_and_the_server_stays_healthy(server, tmp_path):
    before = metrics(server)
    report = bots_cli(server, tmp_path, "--bots", "12", "--tables", "2", "--chaos",
                      "drop,slow,bad", "--chaos-share", "0.5", "--duration", "14")
    assert report["exit"] == 0, report["stdout"]
    probes = report["probes"]
    assert len(probes) >= 25, probes                             # most bad inputs were tried
    assert all(p["ok"] for p in probes.values()), {n: p for n, p in probes.items() if not p["ok"]}
    # Drops resumed with the token and the last v, and the replays matched the server.
    assert report["reconnects"] > 0
    assert report["resumes"].get("replay", 0) + report["resumes"].get("resync", 0) > 0
    assert report["resumes"].get("replay_mismatch", 0) == 0
    assert report["resumes"].get("replay", 0) == report["resumes"].get("replay_verified", 0)
    assert report["hands"] > 0 and report["actions"] > 0
    # Errors outside the probes: none but a late act racing its own timeout.
    assert set(report["errors"]) <= {"illegal"}, report["error_samples"]
    # The server is healthy: the chips add up, and fresh bots play cleanly.
    after = metrics(server)
    assert after["poker_chips_total"] == after["poker_chips_issued"]
    assert after["poker_hands_total"] > before["poker_hands_total"]
    assert json.loads(http(server.base + "/healthz"))["ok"] is True
    clean = bots_cli(server, tmp_path, "--bots", "6", "--tables", "1", "--hands", "5",
                     "--duration", "15")
    assert clean["errors"] == {} and clean["hands"] >= 5, clean


def test_join_fills_a_table_with_bots(server, tmp_path):
    table = json.loads(http(server.base + "/api/tables",
                            {"name": "Lonely", "seats": 4, "small_blind": 1, "big_blind": 2}))["id"]
    report = bots_cli(server, tmp_path, "--join", table, "--bots", "3", "--think", "0",
                      "--hands", "5", "--duration", "15")
    assert report["errors"] == {} and report["hands"] >= 5, report
    assert report["tables"] == [table] and report["seated"] == 3


SPAWN = """
from gevent import monkey; monkey.patch_all()
import json, sys, gevent
from client.bots import spawn_bots
group = spawn_bots(sys.argv[1], sys.argv[2], 3, "tight-aggressive", think=0)
for _ in range(300):
    gevent.sleep(0.05)
    if len(group.stats.hands) >= 3:
        break
group.stop()
print(json.dumps(group.stats.report(3)))
"""


def test_spawn_bots_seats_bots_in_the_calling_gevent_process(server):
    table = json.loads(http(server.base + "/api/tables",
                            {"name": "Spawned", "seats": 6, "small_blind": 1, "big_blind": 2}))["id"]
    done = subprocess.run([PY, "-c", SPAWN, server.ws, table], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["hands"] >= 3 and report["errors"] == {} and report["seated"] == 3, report
    lobby = json.loads(http(server.base + "/api/tables"))["tables"]
    assert next(t for t in lobby if t["id"] == table)["seats_taken"] == 0   # they left on stop


def test_locustfile_drives_bots(server, tmp_path):
    # Not importorskip: importing locust monkey-patches this process (an xdist
    # worker's own threads then wait on gevent and the worker dies).
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed")
    done = subprocess.run(
        [PY, "-m", "locust", "-f", "client/locustfile.py", "--headless", "-u", "6", "-r", "6",
         "-t", "6s", "--host", server.base, "--only-summary", "--stop-timeout", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=45,
        env={**os.environ, "BOT_THINK": "0.05"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert re.search(r"WS\s+act\s+[1-9]", output), output[-3000:]


# ---------------------------------------------------------------------------
# A bot's message handling, fed by hand (no network)


class FakeSocket:
    def __init__(self):
        self.sent = []

    def send(self, data, opcode=None):
        self.sent.append(json.loads(data))


def seated_bot(strategy="calling-station"):
    from client.bots.bot import Bot
    from client.bots.stats import Stats
    bot = Bot("ws://127.0.0.1:1/ws", "b", "t1", strategy, Stats(), rng=random.Random(1))
    bot.ws, bot.connected, bot.player, bot.v = FakeSocket(), True, "p1", 10
    bot.state.seat = 4
    return bot


def event(bot, kind, **fields):
    bot._handle({"type": "events", "table": "t1", "v": bot.v + 1,
                 "events": [{"type": kind, **fields}]})


def test_a_bot_answers_two_turns_in_a_row_with_the_same_deadline():
    """Last to act on the flop and first on the turn: the server may give both the same deadline."""
    bot = seated_bot()
    t = turn(["fold", "check", "bet", "all_in"], 0, 2, 200, seat=4) | {"deadline_ms": 5000}
    bot._handle(t)
    assert [m["action"] for m in bot.ws.sent] == ["check"]
    event(bot, "action", seat=4, action="check", amount=0, to=0, stack=200, all_in=False)
    event(bot, "street", street="turn", cards=["2c"], board=["As", "Kd", "7h", "2c"])
    event(bot, "to_act", seat=4)
    bot._handle(t)                                   # same hand, same deadline: a new turn
    assert [m["action"] for m in bot.ws.sent] == ["check", "check"]
    bot._handle(t)                                   # no event since: the same turn sent again
    assert len(bot.ws.sent) == 2
    assert bot.stats.actions == 1 and bot.stats.decisions["calling-station"] == 2


def test_a_bot_asks_for_a_resync_on_a_gap_once():
    bot = seated_bot()
    bot._handle({"type": "events", "table": "t1", "v": 13, "events": [{"type": "to_act", "seat": 1},
                                                                     {"type": "to_act", "seat": 2}]})
    assert [m["type"] for m in bot.ws.sent] == ["watch"] and bot.ws.sent[0]["v"] == 10
    assert bot.stats.gaps == 2 and bot.v == 10
    event(bot, "to_act", seat=1)                     # the replay starts: in order again
    assert bot.v == 11 and not bot.resync_asked


def test_an_act_overtaken_by_the_end_of_the_hand_is_not_an_error():
    """The others left while our act was on the wire: the server refuses it, after hand_ended."""
    bot = seated_bot()
    bot._handle(turn(["fold", "check", "bet", "all_in"], 0, 2, 200, seat=4))
    rid = bot.ws.sent[-1]["rid"]
    event(bot, "hand_ended", hand=12, stacks={"4": 200})
    bot._handle({"type": "error", "code": "illegal", "rid": rid, "message": "no hand is running"})
    assert bot.stats.errors == {} and bot.stats.overtaken == 1


def test_an_illegal_act_on_an_open_turn_is_an_error():
    bot = seated_bot()
    bot._handle(turn(["fold", "check", "bet", "all_in"], 0, 2, 200, seat=4))
    rid = bot.ws.sent[-1]["rid"]
    bot._handle({"type": "error", "code": "illegal", "rid": rid, "message": "bet too small"})
    assert bot.stats.errors == {"illegal": 1} and bot.stats.overtaken == 0


def test_a_rate_limited_act_is_sent_again_while_the_turn_is_open():
    import gevent
    bot = seated_bot()
    bot._handle(turn(["fold", "check", "bet", "all_in"], 0, 2, 200, seat=4))
    first = bot.ws.sent[-1]
    bot._handle({"type": "error", "code": "rate_limited", "message": "slow"})   # unread: no rid
    gevent.sleep(0.25)
    again = bot.ws.sent[-1]
    assert again["rid"] != first["rid"] and again["action"] == first["action"]
    assert bot.stats.errors == {"rate_limited": 1}


def test_an_act_that_went_through_is_not_sent_again_after_a_rate_limited_answer():
    import gevent
    bot = seated_bot()
    bot._handle(turn(["fold", "check", "bet", "all_in"], 0, 2, 200, seat=4))
    bot._handle({"type": "error", "code": "rate_limited", "message": "slow"})  # another message's
    event(bot, "action", seat=4, action="check", amount=0, to=0, stack=200, all_in=False)
    gevent.sleep(0.25)
    assert len(bot.ws.sent) == 1
