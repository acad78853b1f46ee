"""Hand histories on a real server: the list, a player's own PHH, and the replay tool on its folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

from game import phh
from pokerkit_reader import strict_stacks
from test_crash import REPO, start_bots, start_server
from test_server_helpers import wait_for


def fetch(port, path, token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def played_hands(port, at_least: int) -> list[dict]:
    """Table t1's kept hands, once the bots have finished ``at_least`` of them."""
    def enough():
        hands = json.loads(fetch(port, "/api/tables/t1/hands")[1])["hands"]
        return hands if len(hands) >= at_least else None
    return wait_for(enough, 20, f"the bots to finish {at_least} hands", step=0.3)


def both_readers_agree(text: str) -> bool:
    """Our reader and pokerkit's strict one (every player action from the file) replay an
    exported hand to its ``finishing_stacks``; False, unchecked, for a hand the export itself
    marks ``_inexact`` (no exact PHH exists for it)."""
    hand = tomllib.loads(text)
    replayed = phh.replay_result(hand)
    assert "error" not in replayed, replayed
    assert replayed["finishing_stacks"] == hand["finishing_stacks"], replayed
    if "_inexact" in hand:
        return False
    assert strict_stacks(text) == hand["finishing_stacks"], text
    return True


def replay_tool(*args):
    return subprocess.run([sys.executable, "-m", "persistence.replay", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_hand_histories_phh_and_the_replay_tool(tmp_path):
    folder = str(tmp_path / "state")
    proc, port, _ = start_server(folder, "--journal", "always", "--snapshot-every", "1000")
    bots = [{"name": f"h{i}", "table": "t1", "seat": i, "token": None} for i in range(3)]
    stop, threads = start_bots(port, bots)
    try:
        hands = played_hands(port, 4)
        number = hands[0]["number"]
        me = bots[0]

        status, text = fetch(port, f"/api/tables/t1/hands/{number}.phh")
        assert status == 401
        status, text = fetch(port, f"/api/tables/t1/hands/{number}.phh", "forged")
        assert status == 401
        status, text = fetch(port, "/api/tables/t1/hands/999999.phh", me["token"])
        assert status == 404
        status, text = fetch(port, f"/api/tables/t1/hands/{number}.phh", me["token"])
        assert status == 200, text
        hand = tomllib.loads(text)
        mine = [a for a in hand["actions"] if a.startswith("d dh")]
        assert sum("????" not in a for a in mine) >= 1    # my own cards
        shown = {a.split()[0] for a in hand["actions"] if " sm " in a and a.split()[-1] != "sm"}
        for line in mine:                                 # nobody else's, unless shown
            player = line.split()[2]
            if "????" not in line and player not in shown:
                assert hand["players"][int(player[1:]) - 1] == me["name"]
        both_readers_agree(text)
        # Someone who was not dealt in may not fetch it.
        status, _ = fetch(port, "/api/tables/t1/hands/1.phh", _newcomer_token(port))
        assert status == 403
    finally:
        stop.set()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for t in threads:
            t.join(5)

    # The folder after a kill -9: image at start + journal.
    out = replay_tool(folder, "--journal")
    assert out.returncode == 0, out.stderr
    assert "journal journal-" in out.stdout and " j1 " in out.stdout
    assert "hands in progress" in out.stdout and "(add up)" in out.stdout
    out = replay_tool(folder, "--journal", "--verify")
    assert out.returncode == 0 and "t1: ok" in out.stdout, out.stdout + out.stderr
    target = str(tmp_path / "phh")
    out = replay_tool(folder, "--journal", "--phh", target)
    assert out.returncode == 0, out.stderr
    files = sorted(os.listdir(target))
    assert len(files) >= 4
    exact = 0
    for name in files:
        with open(os.path.join(target, name), encoding="utf-8") as f:
            text = f.read()
        assert "????" not in " ".join(tomllib.loads(text)["actions"])   # developers see every card
        exact += both_readers_agree(text)
    # Only a dead small blind at a table with antes for everyone and a stack below the
    # ante has no exact PHH (the export says so): rare, and none at a table without antes.
    assert len(files) - exact <= len(files) // 10


def _newcomer_token(port):
    import websocket
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5)
    try:
        ws.send(json.dumps({"type": "hello", "protocol": 2, "name": "late"}))
        return json.loads(ws.recv())["token"]
    finally:
        ws.close()


def test_kept_hands_and_their_phh_survive_a_kill_9(tmp_path):
    """Images carry finished hands in their lazy member: after a kill -9 and a restart
    the list and the downloads are the same (parsed only when asked for)."""
    folder = str(tmp_path / "state")
    proc, port, _ = start_server(folder)
    bots = [{"name": f"k{i}", "table": "t1", "seat": i, "token": None} for i in range(3)]
    stop, threads = start_bots(port, bots)
    try:
        hands = played_hands(port, 3)
        stop.set()
        for t in threads:
            t.join(5)
        time.sleep(1.5)    # images every 0.13 s: the newest holds every hand listed now
        before = json.loads(fetch(port, "/api/tables/t1/hands")[1])["hands"]
        # The newest hand k0 was dealt into (busted, it may have waited out some).
        number = next(h["number"] for h in before
                      if any(p["name"] == "k0" for p in h["players"]))
        status, phh_before = fetch(port, f"/api/tables/t1/hands/{number}.phh", bots[0]["token"])
        assert status == 200, phh_before
    finally:
        stop.set()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    newest = sorted(n for n in os.listdir(folder) if n.startswith("snapshot-"))[-1]
    with open(os.path.join(folder, newest), "rb") as f:
        image = json.loads(f.read())
    assert image["version"] == 2 and "finished" not in image["body"]["tables"]["t1"]
    assert [h["number"] for h in image["lazy"]["t1/finished"]][-1] >= number

    proc, port, _ = start_server(folder)
    try:
        after = json.loads(fetch(port, "/api/tables/t1/hands")[1])["hands"]
        numbers = {h["number"] for h in after}
        assert {h["number"] for h in before} <= numbers
        assert [h for h in after if h["number"] == number] == \
            [h for h in before if h["number"] == number]
        status, phh_after = fetch(port, f"/api/tables/t1/hands/{number}.phh", bots[0]["token"])
        assert status == 200 and phh_after == phh_before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
