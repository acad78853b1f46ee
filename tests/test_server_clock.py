"""The action clock with short settings: time bank, check-or-fold on expiry, two expiries
sit a player out, sat-out players removed with their chips, busted players sit out."""

from __future__ import annotations

import threading
import time

import pytest

from test_server_helpers import bot_loop, connect, create_table, errors, sit, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(str(tmp_path_factory.mktemp("clock")), "--turn-seconds", "1.0",
                     "--time-bank", "0.5", "--hand-pause", "0.1", "--sit-out-remove", "1.5",
                     "--tick", "0.02")
    yield s
    assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


def test_expiry_uses_the_bank_then_checks_or_folds_and_two_in_a_row_sit_out(server):
    table = create_table(server, seats=3)
    idle, bob, cat = (connect(server, n) for n in ("idle", "clk-bob", "clk-cat"))
    for c in (idle, bob, cat):
        c.request({"type": "watch", "table": table}, "table")
    for i, c in enumerate((idle, bob, cat)):
        sit(c, table, i, 100)
    stop = threading.Event()
    bots = [threading.Thread(target=bot_loop, args=(c, stop, 20 + i), daemon=True)
            for i, c in enumerate((bob, cat))]
    for t in bots:
        t.start()
    try:
        # idle never acts. Follow its seat until it is sat out.
        events = []
        while True:
            msg = idle.expect(lambda m: m["type"] in ("event", "turn"), timeout=10,
                              what="idle's clock to run out twice")
            events.append(msg)
            if msg["type"] == "event" and msg["event"] == {"type": "sat_out", "seat": 0}:
                break
        mine = [m for m in events if m["type"] == "turn"
                or m["event"].get("seat") == 0 and m["event"]["type"] in
                ("clock", "timeout", "action", "sat_out")]
        kinds = [m["type"] if m["type"] == "turn" else m["event"]["type"] for m in mine]
        # First turn: the turn's clock with a bank, then the bank clock, then the timeout.
        first = kinds.index("timeout")
        clocks = [m["event"] for m in mine[:first] if m["type"] == "event"
                  and m["event"]["type"] == "clock"]
        assert clocks[0]["time_bank_ms"] == 500 and clocks[-1]["time_bank_ms"] == 0
        assert len(clocks) == 2
        # Every timeout is followed by a check when checking was allowed, else a fold.
        turn = None
        timeouts = 0
        for m in mine:
            if m["type"] == "turn":
                turn = m
            elif m["event"]["type"] == "timeout":
                timeouts += 1
                follows = mine[mine.index(m) + 1]["event"]
                assert follows["type"] == "action"
                expected = "check" if "check" in turn["legal"]["actions"] else "fold"
                assert follows["action"] == expected
        assert timeouts == 2
        # The second expiry had no bank left: one clock, straight to the timeout.
        second_turn = [i for i, m in enumerate(mine) if m["type"] == "turn"][-1]
        assert [m["event"]["time_bank_ms"] for m in mine[second_turn:]
                if m["type"] == "event" and m["event"]["type"] == "clock"] in ([0], [])
        # Sitting out a while: stood up, and the stack goes back to the bankroll.
        left = idle.expect_event("left", timeout=10, seat=0)
        bankroll = idle.expect_type("bankroll", timeout=5)
        assert bankroll["bankroll"] == 10_000 - 100 + left["stack"]
        assert idle.request({"type": "leave", "table": table})["code"] == "not_seated"
    finally:
        stop.set()
        for t in bots:
            t.join(timeout=5)
    for c in (bob, cat):
        assert errors(c) == []
    for c in (idle, bob, cat):
        c.close()


def test_sitting_out_during_a_hand_takes_effect_when_it_ends(server):
    table = create_table(server, seats=2)
    ann, bob = connect(server, "so-ann"), connect(server, "so-bob")
    for c in (ann, bob):
        c.request({"type": "watch", "table": table}, "table")
    sit(ann, table, 0, 100)
    sit(bob, table, 1, 100)
    turn = ann.expect_type("turn", timeout=5)          # the button acts first heads-up
    assert turn["seat"] == 0
    ann.send({"type": "sit_out", "table": table})
    assert ann.expect_event("sit_out_next", seat=0)["when"] == "hand"
    # Her live hand is not folded for her: she still plays it, and sits out when it ends.
    ann.send({"type": "act", "table": table, "action": "fold"})
    assert ann.expect_event("action", seat=0)["action"] == "fold"    # hers, not a timeout
    ann.expect_event("hand_ended")
    assert ann.expect_event("sat_out", seat=0)
    ann.send({"type": "sit_in", "table": table})
    assert ann.expect_event("sat_in", seat=0)
    for c in (ann, bob):
        assert errors(c) == []
        c.close()


def test_sitting_out_at_the_next_big_blind_can_be_called_off(server):
    table = create_table(server, seats=2)
    ann, bob = connect(server, "now-ann"), connect(server, "now-bob")
    for c in (ann, bob):
        c.request({"type": "watch", "table": table}, "table")
    sit(ann, table, 0, 100)
    sit(bob, table, 1, 100)
    turn = ann.expect_type("turn", timeout=5)
    assert turn["seat"] == 0
    ann.send({"type": "sit_out", "table": table, "when": "big_blind"})
    assert ann.expect_event("sit_out_next", seat=0)["when"] == "big_blind"
    ann.send({"type": "sit_in", "table": table})        # called off
    assert ann.expect_event("sat_in", seat=0)
    for c in (ann, bob):
        assert errors(c) == []
        c.close()


def test_a_busted_player_sits_out_and_may_top_up(server):
    table = create_table(server, seats=2)
    ann, bob = connect(server, "bust-ann"), connect(server, "bust-bob")
    for c in (ann, bob):
        c.request({"type": "watch", "table": table}, "table")
    sit(ann, table, 0, 100)
    sit(bob, table, 1, 100)
    loser = None
    for _ in range(20):   # all in until one of them loses everything (a split: again)
        ended = None
        deadline = time.monotonic() + 10
        while ended is None:
            assert time.monotonic() < deadline, "no hand ended within 10s"
            for c in (ann, bob):
                for m in c.drain(0.05):
                    if m["type"] == "turn":
                        c.send({"type": "act", "table": table, "action": "all_in"})
                    elif c is ann and m["type"] == "event" and m["event"]["type"] == "hand_ended":
                        ended = m["event"]
        stacks = ended["stacks"]
        if "0" in stacks and stacks["0"] == 0:
            loser = ann
        elif "1" in stacks and stacks["1"] == 0:
            loser = bob
        if loser:
            break
    assert loser is not None
    seat = loser.seats[table]
    loser.drain(0.05)
    assert {"type": "sat_out", "seat": seat} in [m["event"] for m in loser.seen
                                                  if m["type"] == "event"]
    # Topping up above the table's maximum is refused; within it is fine.
    assert loser.request({"type": "top_up", "table": table, "amount": 201})["code"] == "buy_in"
    loser.send({"type": "top_up", "table": table, "amount": 150})
    assert loser.expect_event("top_up", seat=seat)["stack"] == 150
    assert loser.expect_type("bankroll")["bankroll"] == 10_000 - 100 - 150
    loser.send({"type": "sit_in", "table": table})
    assert loser.expect_event("sat_in", seat=seat)
    for c in (ann, bob):
        c.close()
