"""kill -9 under bot load with the journal on: no acknowledged action is ever lost.

Images are taken only at start (``--snapshot-every`` is huge), so everything
played between two kills lives in the journal alone. A spectator records
every ``action`` event it receives -- with ``--journal always`` an event is
sent only after its journal entry is fsynced, so receiving it is the
acknowledgement. After each kill the server restarts from the folder, writes
an image of what it recovered, and every acknowledged action must be in it:
replaying each recovered hand through the rules gives its actions, and what
the spectator saw of that hand is a prefix of them.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import pytest
import websocket

from game.table import action_from_json, apply, table_from_json
from persistence.layout import with_lazy
from test_crash import check_image, newest_good, received, start_bots, start_server

TABLES = ("t1", "t2")


def spectator(port: int, seen: dict, stop: threading.Event) -> None:
    """Watch the tables; record (hand, seat, action, to) of each action event received."""
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
    except (OSError, websocket.WebSocketException):
        return
    ws.settimeout(0.3)
    hand = {}
    try:
        ws.send(json.dumps({"type": "hello", "protocol": 2, "name": "watcher"}))
        for t in TABLES:
            ws.send(json.dumps({"type": "watch", "table": t}))
        for msg in received(ws, stop):
            if msg["type"] == "table" and msg["view"]["hand"]:
                hand[msg["table"]] = None   # mid-hand: skip until the next hand starts
            if msg["type"] != "event":
                continue
            e, t = msg["event"], msg["table"]
            if e["type"] == "hand_started":
                hand[t] = e["hand"]
            elif e["type"] == "action" and hand.get(t) is not None:
                seen.setdefault((t, hand[t]), []).append(
                    (e["seat"], e["action"], e.get("to")))
    except (OSError, websocket.WebSocketException, ValueError):
        return
    finally:
        ws.close()


def recovered_actions(data: dict) -> dict:
    """(table, hand number) -> the action events of that hand, replayed from the image."""
    out = {}
    for tid, room in with_lazy(data)["tables"].items():
        hands = list(room["finished"])
        if room["hand_start"] is not None:
            hands.append({"start": room["hand_start"], "actions": room["hand_actions"]})
        for h in hands:
            table = table_from_json(h["start"])
            number, events = None, []
            for a in h["actions"]:
                table, evs = apply(table, action_from_json(a))
                for e in evs:
                    if e.type == "hand_started":
                        number, events = e.hand, []
                    elif e.type == "action":
                        events.append((e.seat, e.action, e.to))
            if number is not None:
                out[(tid, number)] = events
    return out


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_kill_9_loses_no_acknowledged_action(tmp_path, policy):
    folder = str(tmp_path / "state")
    extra = ("--journal", policy, "--snapshot-every", "1000", "--turn-seconds", "2")
    bots = [{"name": f"b{t}{i}", "table": t, "seat": i, "token": None}
            for t, n in (("t1", 4), ("t2", 2)) for i in range(n)]
    rng = random.Random(5)
    checked = 0
    deadline = time.monotonic() + 45
    for _round in range(4):
        if time.monotonic() > deadline:
            break
        proc, port, lines = start_server(folder, *extra)
        seen: dict = {}
        stop, threads = start_bots(port, bots)
        watch_stop = threading.Event()
        watcher = threading.Thread(target=spectator, args=(port, seen, watch_stop), daemon=True)
        watcher.start()
        time.sleep(rng.uniform(1.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        watch_stop.set()
        stop.set()
        watcher.join(5)
        for t in threads:
            t.join(5)
        # Restart: recovery replays the journal and writes an image of the result.
        proc, port, lines = start_server(folder, *extra)
        try:
            loaded, _ = newest_good(folder)
            assert loaded is not None
            check_image(loaded)                      # chips add up, cards sound
            recovered = recovered_actions(loaded.data)
            oldest = {}
            for t, number in recovered:
                oldest[t] = min(oldest.get(t, number), number)
            for key, acked in seen.items():
                if key[1] < oldest.get(key[0], 0):
                    continue   # older than the finished hands a table keeps: not a loss
                assert key in recovered, f"hand {key} acknowledged but lost"
                assert recovered[key][:len(acked)] == acked, (key, acked, recovered[key])
                checked += len(acked)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    assert checked > 20, "the bots hardly played: the test proved nothing"
