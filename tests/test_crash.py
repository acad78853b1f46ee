"""kill -9 the real server at random moments while bots play; it must come back whole.

Each round starts ``run_server.py --snapshot-dir`` on 127.0.0.1, lets a few
WebSocket bots (hello, sit, answer ``turn`` with a legal action) play for a
second or two, then SIGKILLs it and checks the folder and the next start:
it starts, every table is there, the chips add up to what the bankrolls were
given, no hand is corrupted (``check_root``), the sequence number grew, and
what was lost is at most the play since the newest image (it is exactly the
image the next start recovers, and the hand counters never go back past it).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import websocket  # websocket-client

from game.table import street_of
from persistence import image, restore
from persistence.layout import check_root, root_from_json
from server.root import STARTING_BANKROLL
from test_server_helpers import messages

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "10"))
BUDGET = 50.0   # seconds for the whole kill -9 test; rounds stop early past it
SEATS = {"t1": 4, "t2": 2}   # default tables: six-max t1, heads-up t2 (t3 stays empty)


# ---------------------------------------------------------------------------
# The server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: str, *extra: str, wait: bool = True):
    """Start run_server.py; return (process, port, output lines list)."""
    port = free_port()
    cmd = [sys.executable, "-u", os.path.join(REPO, "run_server.py"), "--host", "127.0.0.1",
           # 0.13 s, not a multiple of the 0.05 s clock tick: otherwise every image can fall
           # in the same loop turn as a tick, just before the next hand starts (hands now
           # finish within a tick), and no kill would ever find a hand in progress.
           "--port", str(port), "--snapshot-dir", folder, "--snapshot-every", "0.13",
           "--hand-pause", "0.05", "--turn-seconds", "5", "--log-level", "INFO", *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "listening on" in line:
                ready.set()
        ready.set()
    threading.Thread(target=pump, daemon=True).start()
    if wait and not (ready.wait(20) and proc.poll() is None):
        proc.kill()
        proc.wait(10)
        pytest.fail("server did not start:\n" + "\n".join(lines))
    return proc, port, lines


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def metric(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"no {name} in /metrics"
    return float(m.group(1))


# ---------------------------------------------------------------------------
# The bots: hello (by token when they have one), sit, answer turns


def received(ws, stop: threading.Event):
    """The messages ``ws`` receives (its timeout set short), until ``stop`` or a close."""
    while not stop.is_set():
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        if not raw:
            return
        yield from messages(raw)


def bot(port: int, me: dict, stop: threading.Event) -> None:
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
    except (OSError, websocket.WebSocketException):
        return
    ws.settimeout(0.3)
    rng = random.Random(me["name"])

    def send(msg):
        ws.send(json.dumps(msg))

    def hello():
        send({"type": "hello", "protocol": 2, "token": me["token"]} if me.get("token")
             else {"type": "hello", "protocol": 2, "name": me["name"]})

    def sit():
        send({"type": "sit", "table": me["table"], "seat": me["seat"], "buy_in": 100})

    try:
        hello()
        for msg in received(ws, stop):
            kind = msg["type"]
            if kind == "welcome":
                me["token"] = msg["token"]
                me["player"] = msg["player"]
                if me["table"] in msg["seats"]:
                    me["seat"] = msg["seats"][me["table"]]
                    send({"type": "watch", "table": me["table"]})
                else:
                    sit()
            elif kind == "error":
                if msg["code"] == "bad_token":   # joined after the last image: start afresh
                    me["token"] = None
                    hello()
                elif msg["code"] == "seat_taken" and "already" not in msg["message"]:
                    me["seat"] = (me["seat"] + 1) % 9
                    sit()
            elif kind == "table":   # a full view: top up a busted stack (after a restart too)
                seats = msg["view"]["seats"]
                mine = seats[me["seat"]] if msg.get("you") == me["seat"] else None
                if mine is not None and mine["stack"] == 0 and not mine["in_hand"]:
                    send({"type": "top_up", "table": me["table"], "amount": 100})
                if mine is not None and mine["sitting_out"]:
                    send({"type": "sit_in", "table": me["table"]})
            elif kind == "turn":
                # A few ms of thought: hands then last long enough that the kills and
                # images often find one in progress (instantly played hands rarely are).
                time.sleep(rng.uniform(0.002, 0.01))
                legal = msg["legal"]
                actions = legal["actions"]
                weights = {"fold": 1, "check": 6, "call": 6, "bet": 2, "raise": 1, "all_in": 0.2,
                           "show": 1, "muck": 1}
                pick = rng.choices(actions, [weights.get(a, 1) for a in actions])[0]
                act = {"type": "act", "table": msg["table"], "action": pick}
                if pick in ("bet", "raise"):
                    act["amount"] = legal["min_to"]
                send(act)
            elif kind == "event" and msg["event"]["type"] == "hand_ended":
                stacks = msg["event"]["stacks"]
                if stacks.get(str(me["seat"])) == 0:
                    send({"type": "top_up", "table": me["table"], "amount": 100})
            elif kind == "event" and msg["event"] == {"type": "sat_out", "seat": me["seat"]}:
                send({"type": "sit_in", "table": me["table"]})   # busted: back in after top-up
    except (OSError, websocket.WebSocketException, ValueError):
        return   # the server went away
    finally:
        ws.close()


def start_bots(port: int, bots: list[dict]):
    stop = threading.Event()
    threads = [threading.Thread(target=bot, args=(port, me, stop), daemon=True) for me in bots]
    for t in threads:
        t.start()
    return stop, threads


# ---------------------------------------------------------------------------
# The folder


def newest_good(folder: str):
    loaded, rejected = restore.load_newest(folder, check_root)
    return loaded, rejected


def check_image(loaded) -> dict:
    data = loaded.data
    assert check_root(data, replay=True) == [], check_root(data, replay=True)   # cards, chips, hands
    # No chip was made or lost: every chip came from a new player's bankroll.
    assert data["chips_issued"] == STARTING_BANKROLL * len(data["players"])
    root_from_json(data)                                  # and it rebuilds
    return {tid: t["hands_played"] for tid, t in data["tables"].items()}


def test_kill_9_at_random_moments_loses_at_most_the_play_since_the_last_image(tmp_path):
    folder = str(tmp_path / "snapshots")
    rng = random.Random(int(os.environ.get("CRASH_SEED", "1")))
    bots = [{"name": f"bot-{tid}-{i}", "table": tid, "seat": i, "token": None}
            for tid, n in SEATS.items() for i in range(n)]
    started = time.monotonic()
    last_seq, last_hands, hands_seen, rounds, mid_hand = 0, None, 0, 0, 0
    while rounds < ROUNDS and (rounds < 4 or time.monotonic() - started < BUDGET):
        proc, port, lines = start_server(folder)
        try:
            text = "\n".join(lines)
            if last_seq:
                # It recovered exactly the newest image on disk at the kill.
                assert f"recovered {image.image_name(last_seq)}" in text, text
            tables = {t["id"]: t for t in json.loads(get(port, "/api/tables"))["tables"]}
            assert set(tables) == {"t1", "t2", "t3"}          # every table is there
            if last_hands is not None:
                for tid, hands in last_hands.items():
                    assert tables[tid]["hands"] >= hands       # nothing before the image lost
            m = get(port, "/metrics")
            assert metric(m, "poker_chips_total") == metric(m, "poker_chips_issued")
            stop, threads = start_bots(port, bots)
            time.sleep(rng.uniform(0.6, 1.8))                  # play, then a random moment
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        stop.set()
        for t in threads:
            t.join(5)
        rounds += 1
        loaded, rejected = newest_good(folder)
        assert rejected == [], rejected     # kill -9 never leaves a damaged image behind
        assert loaded is not None
        assert loaded.seq > last_seq        # the sequence number grew
        hands = check_image(loaded)
        if last_hands is not None:
            for tid, n in last_hands.items():
                assert hands[tid] >= n      # hand counters never go back
        last_seq, last_hands = loaded.seq, hands
        mid_hand += any(t["game"]["hand"] and street_of(t["game"]["hand"]) != "complete"
                        for t in loaded.data["tables"].values())
        print(f"round {rounds}: image {loaded.seq}, hands {hands}, players {len(loaded.data['players'])}")
        hands_seen = sum(hands.values())
    assert rounds >= 4
    assert hands_seen > 0, "the bots never finished a hand"
    assert mid_hand > 0, "no kill left a hand in progress to resume"
    # Finally: a last start comes back with the last image, and the chips add up.
    proc, port, lines = start_server(folder)
    try:
        assert f"recovered {image.image_name(last_seq)}" in "\n".join(lines)
        m = get(port, "/metrics")
        assert metric(m, "poker_chips_total") == metric(m, "poker_chips_issued")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_graceful_stop_writes_a_final_image(tmp_path, sig):
    folder = str(tmp_path / "snapshots")
    proc, port, lines = start_server(folder, "--snapshot-every", "30")
    bots = [{"name": f"b{i}", "table": "t2", "seat": i, "token": None} for i in range(2)]
    stop, threads = start_bots(port, bots)
    time.sleep(1.0)
    proc.send_signal(sig)
    assert proc.wait(15) == 0
    stop.set()
    text = "\n".join(lines)
    m = re.search(r"final image (\d+) written", text)
    assert m, text
    loaded, rejected = newest_good(folder)
    assert loaded.seq == int(m.group(1)) and not rejected
    check_image(loaded)
    assert loaded.data["players"], "the final image holds the players who joined"
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]


def test_refuses_to_start_when_no_image_is_valid(tmp_path):
    folder = str(tmp_path / "snapshots")
    proc, port, lines = start_server(folder)
    time.sleep(0.8)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    for _seq, path in image.list_images(folder):
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    proc, port, lines = start_server(folder, wait=False)
    assert proc.wait(20) == 2
    time.sleep(0.2)
    text = "\n".join(lines)
    assert "refusing to start" in text and "none is valid" in text, text
    proc, port, lines = start_server(folder, "--snapshot-allow-empty")
    try:
        tables = json.loads(get(port, "/api/tables"))["tables"]
        assert len(tables) == 3     # a fresh server with the default tables
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
