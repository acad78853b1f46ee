"""A lonely player: POST /api/tables with "bots": N seats N bots, and a person plays them."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request

import websocket

from test_crash import get, metric, start_server
from test_server_helpers import messages, wait_for


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/tables",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def lobby_entry(port, table_id):
    """The table's line in the lobby (``GET /api/tables``)."""
    return {t["id"]: t for t in json.loads(get(port, "/api/tables"))["tables"]}[table_id]


def test_a_table_with_bots_deals_a_person_in(tmp_path):
    proc, port, _ = start_server(str(tmp_path / "state"), "--turn-seconds", "10",
                                 "--bot-think", "0.05")
    try:
        status, body = post(port, {"name": "Solo", "seats": 6, "small_blind": 1,
                                   "big_blind": 2, "bots": 6})
        assert status == 400 and "at most 5 bots" in body["error"]
        status, table = post(port, {"name": "Solo", "seats": 6, "small_blind": 1,
                                    "big_blind": 2, "bots": 3})
        assert status == 201, table
        wait_for(lambda: lobby_entry(port, table["id"])["seats_taken"] == 3, 15,
                 "the 3 bots to sit", step=0.2)
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
        try:
            ws.send(json.dumps({"type": "hello", "protocol": 2, "name": "solo"}))
            taken = {i for i, s in enumerate([None] * 6)}
            ws.send(json.dumps({"type": "sit", "table": table["id"], "seat": 5, "buy_in": 100}))
            dealt, mine = False, None
            end = time.monotonic() + 40
            while time.monotonic() < end and not dealt:
                for msg in messages(ws.recv()):
                    if msg["type"] == "table" and msg.get("you") is not None:
                        mine = msg["you"]
                    if (msg["type"] == "event" and msg["event"]["type"] == "hand_started"
                            and mine in msg["event"]["seats"]):
                        dealt = True   # the big blind reached the newcomer
                    if msg["type"] == "error":
                        assert msg["code"] == "seat_taken", msg   # a bot took seat 5: another
                        seat = min(taken - {5})
                        taken.discard(seat)
                        ws.send(json.dumps({"type": "sit", "table": table["id"], "seat": seat,
                                            "buy_in": 100}))
                    if msg["type"] == "turn":
                        ws.send(json.dumps({"type": "act", "table": table["id"],
                                            "action": "check" if "check" in msg["legal"]["actions"]
                                            else "fold"}))
            assert dealt, "the person was never dealt in with the bots"
        finally:
            ws.close()
        m = get(port, "/metrics")
        assert metric(m, "poker_chips_total") == metric(m, "poker_chips_issued")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def watch_table(port, table_id):
    """A spectator's first full view of the table."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
    try:
        ws.send(json.dumps({"type": "hello", "protocol": 2, "name": "spectator"}))
        ws.send(json.dumps({"type": "watch", "table": table_id}))
        while True:
            msg = json.loads(ws.recv())
            if msg["type"] == "table":
                return msg
    finally:
        ws.close()


def test_house_bots_come_back_to_their_seats_after_kill_9(tmp_path):
    folder = str(tmp_path / "state")
    proc, port, _ = start_server(folder, "--journal", "everysec", "--bot-think", "0.05")
    try:
        status, table = post(port, {"name": "Solo", "seats": 6, "small_blind": 1,
                                    "big_blind": 2, "bots": 3})
        assert status == 201, table
        wait_for(lambda: (e := lobby_entry(port, table["id"]))["seats_taken"] == 3
                 and e["hands"] >= 2, 20, "3 bots seated and 2 hands played", step=0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(20)
    proc, port, _ = start_server(folder, "--journal", "everysec", "--bot-think", "0.05")
    try:
        back_and_playing(port, table["id"], 3, 20)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def house_children(pid: int) -> set[int]:
    """The process ids of ``pid``'s house bots children, alive (from /proc)."""
    out = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in map(int, f.read().split()):
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as c:
                        if b"client.bots.house" in c.read():
                            out.add(child)
                except OSError:
                    pass                    # gone meanwhile
    return out


def bots_connected(port, table_id, count):
    bots = [s for s in watch_table(port, table_id)["view"]["seats"] if s is not None]
    return len(bots) == count and all(s["connected"] for s in bots)


def back_and_playing(port, table_id, count, timeout):
    """``count`` house bots connected in their seats, a hand more played, chips adding up."""
    wait_for(lambda: bots_connected(port, table_id, count), timeout,
             f"the {count} house bots connected in their seats again", step=0.3)
    before = lobby_entry(port, table_id)["hands"]
    wait_for(lambda: lobby_entry(port, table_id)["hands"] > before, timeout,
             "the bots to play on", step=0.2)
    m = get(port, "/metrics")
    assert metric(m, "poker_chips_total") == metric(m, "poker_chips_issued")


def test_the_house_bots_child_is_started_again_when_it_dies(tmp_path):
    # A dead bot's turn waits for its clock: a short one, so that play goes on either way.
    proc, port, _ = start_server(str(tmp_path / "state"), "--bot-think", "0.05",
                                 "--turn-seconds", "2", "--time-bank", "0")
    try:
        status, table = post(port, {"name": "Solo", "seats": 6, "small_blind": 1,
                                    "big_blind": 2, "bots": 3})
        assert status == 201, table
        wait_for(lambda: (e := lobby_entry(port, table["id"]))["seats_taken"] == 3
                 and e["hands"] >= 2, 20, "3 bots seated and 2 hands played", step=0.2)
        killed = house_children(proc.pid)
        assert killed
        for child in killed:
            os.kill(child, signal.SIGKILL)
        wait_for(lambda: house_children(proc.pid) - killed, 30, "a new house bots child",
                 step=0.2)
        back_and_playing(port, table["id"], 3, 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
