"""Bots play tournaments to the end on a real server (issue 16's proof): the command
``python -m client.bots --tournament`` as people run it, checked from the players' side.

The server runs with a short pause between hands and a tight clock; the bots' fast
structure has one-second levels, so the blinds outgrow the stacks within seconds and
a 27-player freezeout ends in well under a minute on an idle machine.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from client.bots import tournament as tournament_module
from game import tournament as rules
from test_server_helpers import REPO, chips, connect, start_server

SERVER_FLAGS = ("--hand-pause", "0.05", "--turn-seconds", "3", "--time-bank", "0",
                "--tick", "0.02", "--no-default-tables", "--log-level", "WARNING")
BUY_IN, STACK = 100, 1000
RUN_LIMIT = 100.0       # seconds the command may take (its --timeout is a little less)


@pytest.fixture
def server(tmp_path):
    s = start_server(str(tmp_path), *SERVER_FLAGS)
    try:
        yield s
    finally:
        assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


def run_command(server, tmp_path, *args) -> dict:
    """``python -m client.bots --tournament ...`` against ``server``: its JSON result,
    exit status and printed standings."""
    out = tmp_path / f"tournament-{time.monotonic_ns()}.json"
    done = subprocess.run(
        [sys.executable, "-m", "client.bots", "--url", server.ws_url, "--quiet", "--seed", "7",
         "--buy-in", str(BUY_IN), "--starting-stack", str(STACK), "--level-seconds", "1",
         "--timeout", str(RUN_LIMIT - 10), "--json", str(out), *args],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_LIMIT)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    result["exit"], result["stdout"] = done.returncode, done.stdout
    return result


def check_places_and_prizes(result: dict, entrants: int) -> None:
    """Places 1..entrants (players busted in one hand with the same stack share the best
    of their places, game.tournament.bust_order), each prize the payout table's, the pool
    paid out exactly."""
    standings = result["standings"]
    assert len(standings) == entrants and len({s["player"] for s in standings}) == entrants
    ranks = [s["place"] for s in standings]          # best first
    assert ranks[0] == 1 and ranks.count(1) == 1
    for i, r in enumerate(ranks):                     # 1, 2, 3, 3, 5, ...
        assert r == i + 1 or r == ranks[i - 1], ranks
    paid = list(rules.payouts(BUY_IN * entrants, entrants)) + [0] * entrants
    assert result["payouts"] == paid[:len(result["payouts"])]
    by_place = defaultdict(list)
    for s in standings:
        by_place[s["place"]].append(s["prize"])
    for place, prizes in by_place.items():            # a tie splits its places' payouts
        assert sum(prizes) == sum(paid[place - 1:place - 1 + len(prizes)]), (place, prizes)
        assert max(prizes) - min(prizes) <= 1, (place, prizes)
    assert sum(s["prize"] for s in standings) == BUY_IN * entrants
    for s in standings:                               # what is printed
        assert f"{s['place']:>5}  {s['name']:<20} {s['prize']:>8}" in result["stdout"]


def check_bankrolls(server, result: dict) -> None:
    """Each buy-in left a bankroll once and each prize came into one once: a fresh session
    of every bot (its token) sees bankroll before - buy-in + prize, and the server's
    chips still add up."""
    prize = {s["player"]: s["prize"] for s in result["standings"]}
    before = after = 0
    for bot in result["bots"]:
        again = connect(server, token=bot["token"])
        try:
            bankroll = again.bankroll
            assert again.seen[0]["seats"] == {}, again.seen[0]       # no seat left anywhere
        finally:
            again.close()
        assert bankroll == bot["bankroll_before"] - BUY_IN + prize[bot["player"]], bot["name"]
        assert bankroll == bot["bankroll_after"], bot["name"]       # as the bot was told
        before += bot["bankroll_before"]
        after += bankroll
    assert after == before - BUY_IN * len(result["bots"]) + sum(prize.values())
    total, issued = chips(server)
    assert total == issued


def check_one_seat_at_a_time(result: dict) -> None:
    """From what each bot's socket got, in order: it sat at one table at a time (it saw
    itself stand up, or the table close, before it saw itself seated elsewhere)."""
    for bot in result["bots"]:
        at = None
        for what, table in bot["seatings"]:
            if what == "seated":
                assert at in (None, table), (bot["name"], bot["seatings"])
                at = table
            elif what == "left":
                assert at == table, (bot["name"], bot["seatings"])
                at = None
            elif what == "closed" and at == table:
                at = None
        assert at is None, (bot["name"], bot["seatings"])   # nobody seated at the end
        # Every move was followed: the bot saw itself seated at its new table.
        seated_at = {table for what, table in bot["seatings"] if what == "seated"}
        assert {m["table"] for m in bot["moves"]} <= seated_at, (bot["name"], bot["seatings"])


def test_doctests():
    assert doctest.testmod(tournament_module).failed == 0


def test_27_bots_play_a_multi_table_freezeout_to_the_end(server, tmp_path):
    result = run_command(server, tmp_path, "--tournament", "mtt", "--bots", "27", "--seats", "9")
    assert result["exit"] == 0 and result["finished"], result["stdout"]
    assert len(result["bots"]) == 27 and not result["refused"]
    check_places_and_prizes(result, 27)
    check_bankrolls(server, result)
    check_one_seat_at_a_time(result)
    # Tables were balanced and broken: players moved on the same socket.
    assert result["moves"] >= 1 and result["tables_broken"] >= 1, result["stdout"]
    moved = [m for bot in result["bots"] for m in bot["moves"]]
    assert all(m["table"] != m["from"] for m in moved)
    # The winner holds every tournament chip after the last hand.
    (winner,) = [b for b in result["bots"] if b["place"] == 1]
    assert winner["stack"] == 27 * STACK
    # Only a socket's rate limit may have refused an act (the bot sends it again).
    assert set(result["errors"]) <= {"rate_limited"}, result["errors"]


def test_six_bots_play_a_sit_and_go_to_the_end(server, tmp_path):
    result = run_command(server, tmp_path, "--tournament", "sng", "--bots", "6")
    assert result["exit"] == 0 and result["finished"], result["stdout"]
    check_places_and_prizes(result, 6)
    check_bankrolls(server, result)
    check_one_seat_at_a_time(result)
    assert result["moves"] == 0
    (winner,) = [b for b in result["bots"] if b["place"] == 1]
    assert winner["stack"] == 6 * STACK
