"""Bots play Pot-Limit Omaha and Fixed-Limit Hold'em against a real server.

``python -m client.bots --game PO|FT`` creates its table with that game and plays it
over the protocol (four hole cards, the pot limit's and the fixed limit's ``min_to`` /
``max_to`` as the server sends them in ``turn``); ``POST /api/tables`` with ``"game"``
and ``"bots"`` seats house bots that do the same. Every wait is on a condition, bounded.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from test_server_helpers import (PYTHON, REPO, get_json, metrics, post_json, start_server,
                                 stop_bots, wait_for)

FLAGS = ("--no-default-tables", "--turn-seconds", "10", "--hand-pause", "0.05")
HANDS = 8
STAKES = {"PO": "PLO 1/2", "FT": "FL 2/4"}


def lobby(server) -> dict[str, dict]:
    return {t["id"]: t for t in get_json(server.url + "/api/tables")["tables"]}


def chips_add_up(server) -> None:
    m = metrics(server)
    assert m["poker_chips_total"] == m["poker_chips_issued"], m


@pytest.mark.parametrize("game", ["PO", "FT"])
def test_the_bots_cli_plays_its_game_against_a_real_server(tmp_path, game):
    server = start_server(str(tmp_path), *FLAGS)
    report = tmp_path / "bots.json"
    # --duration only bounds the run: the test ends it (SIGTERM) once the hands are dealt.
    bots = subprocess.Popen(
        [PYTHON, "-m", "client.bots", "--url", server.ws_url, "--game", game,
         "--bots", "4", "--tables", "1", "--duration", "60", "--think", "0.01",
         "--quiet", "--seed", "7", "--json", str(report)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(lobby(server)) == 1, 20, "the bots' table")
        (table,) = lobby(server).values()
        assert table["game"] == game and table["stakes"] == STAKES[game], table
        wait_for(lambda: lobby(server)[table["id"]]["hands"] >= HANDS, 45,
                 f"{HANDS} hands dealt at the {game} table")
        chips_add_up(server)
    finally:
        err = stop_bots(bots, timeout=30)    # the bots leave their seats and report
    try:
        err = err.decode(errors="replace")
        assert bots.returncode == 0 and "Traceback" not in err, err[-2000:]
        got = json.loads(report.read_text())
        assert got["game"] == game and got["tables"] == [table["id"]]
        assert got["errors"] == {}, got["error_samples"]
        # A strategy that raised would have killed its bot: all four stayed connected,
        # nobody's clock ran out and every strategy of the mix answered turns.
        assert got["connected"] == got["seated"] == 4, got
        assert got["timeouts"] == 0 and got["gaps"] == 0, got
        assert set(got["decisions"]) == {"random", "calling-station", "tight-aggressive"}
        assert got["hands"] >= HANDS - 1      # the hand under way at the start may be missed
        chips_add_up(server)                  # the bots left: their chips back in bankrolls
    finally:
        assert server.stop() == 0, server.log()
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("game", ["PO", "FT"])
def test_house_bots_play_a_table_created_with_its_game(tmp_path, game):
    server = start_server(str(tmp_path), *FLAGS, "--bot-think", "0.05")
    try:
        status, table = post_json(server.url + "/api/tables",
                                  {"name": "Solo", "seats": 6, "small_blind": 1,
                                   "big_blind": 2, "game": game, "bots": 3})
        assert status == 201, table
        assert table["game"] == game and table["stakes"] == STAKES[game], table
        wait_for(lambda: (e := lobby(server)[table["id"]])["seats_taken"] == 3
                 and e["hands"] >= HANDS, 60, f"3 house bots seated and {HANDS} hands dealt",
                 step=0.2)
        chips_add_up(server)
    finally:
        assert server.stop() == 0, server.log()
    assert "Traceback" not in server.log()
