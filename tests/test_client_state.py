"""The browser client's state applier (client/static/state.js) against the real server.

Players play many hands on a real server and re-watch the table as they go; a
spectator re-watches it on a timer; one player keeps leaving mid-hand and sitting
down again. Every socket's transcript (full ``table`` messages and events, in
order, with their ``v``) goes through state.js under Node (tests/js/check_state.mjs):
at each ``table`` message, the state built from the events must show exactly what
``fromTable`` of that message shows: stacks, bets, pot total, pots, board, whose
turn, folds, visible cards, the button, the clock, and which seats wait for the big
blind (the view's ``waits_for_big_blind``, which state.js re-derives after each event).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import pytest
import websocket

from test_server_helpers import (Closed, connect, create_table, hands_played, received,
                                 run_bots, sit, start_server)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKER = os.path.join(ROOT, "tests", "js", "check_state.mjs")


def _node() -> str:
    """Node: the one on PATH, else the one Playwright (a test dependency) ships to run its
    own driver, so `make test` never lacks it."""
    import playwright
    return shutil.which("node") or os.path.join(os.path.dirname(playwright.__file__),
                                                "driver", "node")


NODE = _node()
HANDS = 20


def run_checker(transcripts: list[dict]) -> dict:
    done = subprocess.run([NODE, CHECKER], input=json.dumps({"transcripts": transcripts}),
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def server(tmp_path):
    s = start_server(str(tmp_path), "--hand-pause", "0.05", "--turn-seconds", "10")
    yield s
    s.stop()


def spectate(c, table: str, stop: threading.Event, every: float = 0.07) -> None:
    """Read everything; ask for a full view every ``every`` seconds."""
    next_watch = 0.0
    while not stop.is_set():
        if time.monotonic() >= next_watch:
            c.send({"type": "watch", "table": table})
            next_watch = time.monotonic() + every
        try:
            c.recv(0.02)
        except websocket.WebSocketTimeoutException:
            continue
        except Closed:
            return


def leave_and_return(c, table: str, seat: int, stop: threading.Event) -> None:
    """Sit down; once dealt in, leave mid-hand; sit again when the seat has emptied."""
    sitting = False
    c.send({"type": "sit", "table": table, "seat": seat, "buy_in": 60})
    for msg in received(c, stop):
        kind = msg["type"]
        if kind == "table" and msg.get("you") == seat:
            sitting = True
        elif kind == "event":
            ev = msg["event"]
            if ev["type"] == "hole_cards" and ev["seat"] == seat and sitting and ev["cards"]:
                c.send({"type": "leave", "table": table})
                c.send({"type": "watch", "table": table})
                sitting = False
            elif ev["type"] == "hand_ended" and not sitting:
                c.send({"type": "sit", "table": table, "seat": seat, "buy_in": 60})
            elif ev["type"] == "sat_out" and ev["seat"] == seat:
                c.send({"type": "leave", "table": table})
                sitting = False
        elif kind == "turn" and msg["table"] == table:
            # Dealt in before it knew it sat (no full view yet): it leaves at its turn,
            # rather than let the clock run out twice (20 s of a stalled table).
            c.send({"type": "leave", "table": table})
            c.send({"type": "watch", "table": table})
            sitting = False


def sit_out_and_post(c, table: str, seat: int, stop: threading.Event) -> None:
    """Sit down; once dealt in, sit out after the hand; once sat out, come back in the
    middle of the next hand posting what it missed (``sit_in`` with ``post``): dealt in
    at the next hand, not waiting for the big blind."""
    c.send({"type": "sit", "table": table, "seat": seat, "buy_in": 60})
    sat_out = False
    for msg in received(c, stop):
        if msg["type"] == "turn" and msg["table"] == table:
            c.send({"type": "act", "table": table, "action": "fold"})
        if msg["type"] != "event":
            continue
        ev = msg["event"]
        if ev["type"] == "hole_cards" and ev["seat"] == seat and ev["cards"]:
            c.send({"type": "sit_out", "table": table})
        elif ev["type"] == "sat_out" and ev["seat"] == seat:
            sat_out = True
        elif ev["type"] == "hand_started" and sat_out:
            sat_out = False
            c.send({"type": "sit_in", "table": table, "post": True})
        elif ev["type"] == "left" and ev["seat"] == seat:
            c.send({"type": "sit", "table": table, "seat": seat, "buy_in": 60})


def test_events_and_full_views_show_the_same_table(server):
    table = create_table(server, seats=6, name="state check", ante=1, run_it_twice=True)
    players = [connect(server, f"p{i}") for i in range(4)]
    spectator = connect(server, "watcher")
    leaver = connect(server, "leaver")
    poster = connect(server, "poster")
    for c in (*players, spectator, leaver, poster):
        c.request({"type": "watch", "table": table}, "table")
    for i, (c, buy_in) in enumerate(zip(players, (40, 75, 130, 200))):
        sit(c, table, i, buy_in)   # uneven stacks: all-ins make side pots
    for c in players[:3]:          # all-ins among these three run the board twice
        c.send({"type": "run_twice", "table": table, "agree": True})

    stop = threading.Event()
    helpers = [threading.Thread(target=spectate, args=(spectator, table, stop), daemon=True),
               threading.Thread(target=leave_and_return, args=(leaver, table, 5, stop), daemon=True),
               threading.Thread(target=sit_out_and_post, args=(poster, table, 4, stop),
                                daemon=True)]
    for t in helpers:
        t.start()
    try:
        # The players re-watch after each of their actions: full views mid-street.
        run_bots(players, until=lambda: hands_played(server, table) >= HANDS, timeout=150,
                 seed=13, rewatch_every=1)
    finally:
        stop.set()
        for t in helpers:
            t.join(timeout=5)

    transcripts = [{"viewer": c.player,
                    "messages": [m for m in c.seen
                                 if m["type"] in ("table", "event") and m.get("table") == table]}
                   for c in (*players, spectator, leaver, poster)]
    kinds = {m["event"]["type"] for t in transcripts for m in t["messages"] if m["type"] == "event"}
    assert {"blind", "action", "pots", "street", "award", "left", "seated", "run_twice",
            "sat_out", "sat_in"} <= kinds, kinds
    result = run_checker(transcripts)
    assert result["mismatches"] == [], json.dumps(result["mismatches"][:5], indent=1)
    assert result["compared"] >= 200, result
    assert result["with_bets"] >= 50, result   # mid-street: bets in front, not in the pots
    assert result["waits_for_big_blind"] >= 1, result   # the leaver, back at the table mid-game
