"""A sit-and-go on a real server: created, registered, played to the end, paid once."""

from __future__ import annotations

import time

import websocket

from test_server_helpers import chips, connect, start_server

LEVELS = [[5, 10, 0], [20, 40, 40], [50, 100, 100], [200, 400, 400]]


def play_until_over(clients, tid, limit=60.0):
    """Each client watches its tournament table and goes all in (or calls/checks) on
    every turn, until each has been told the tournament is finished; bounded."""
    done, finished = {}, set()
    deadline = time.monotonic() + limit
    while len(finished) < len(clients):
        assert time.monotonic() < deadline, f"the sit-and-go did not end; finished {finished}"
        for c in clients:
            try:
                msg = c.recv(0.05)
            except websocket.WebSocketTimeoutException:
                continue
            kind = msg["type"]
            if kind == "tournament_table":
                c.send({"type": "watch", "table": msg["table"]})
            elif kind == "turn":
                legal = msg["legal"]["actions"]
                action = next(a for a in ("all_in", "call", "check") if a in legal)
                c.send({"type": "act", "table": msg["table"], "action": action})
            elif kind == "tournament" and msg["id"] == tid and msg["status"] == "finished":
                finished.add(c.name)
                done[c.name] = msg
            elif kind == "error":
                assert msg["code"] in ("illegal", "not_your_turn"), msg
    return done


def test_a_heads_up_sit_and_go_is_played_to_the_end_and_paid_once(tmp_path):
    s = start_server(str(tmp_path), "--hand-pause", "0.05", "--turn-seconds", "10",
                     "--tick", "0.02")
    try:
        ann, bob = connect(s, "sng-ann"), connect(s, "sng-bob")
        start_bankroll = ann.bankroll
        st = ann.request({"type": "create_tournament", "name": "HU", "seats": 2,
                          "buy_in": 100, "starting_stack": 300, "levels": LEVELS,
                          "seconds": 1}, "tournament")
        tid = st["id"]
        assert st["status"] == "registering" and st["registered"] == 0
        listed = bob.request({"type": "tournaments"}, "tournaments")["tournaments"]
        assert [t["id"] for t in listed] == [tid]
        st = ann.request({"type": "register", "tournament": tid}, "tournament")
        assert st["you"]["registered"] and st["pool"] == 100
        assert chips(s)[0] == chips(s)[1]
        st = ann.request({"type": "unregister", "tournament": tid}, "tournament")
        assert st["pool"] == 0 and not st["you"]["registered"]
        ann.request({"type": "register", "tournament": tid}, "tournament")
        refused = ann.request({"type": "register", "tournament": tid}, "error")
        assert refused["code"] == "tournament"
        st = bob.request({"type": "register", "tournament": tid}, "tournament")
        assert st["status"] == "running" and st["players_left"] == 2
        total, issued = chips(s)
        assert total == issued
        done = play_until_over([ann, bob], tid)
        places = {done[c.name]["you"]["place"]: c for c in (ann, bob)}
        assert set(places) == {1, 2}
        assert done[places[1].name]["you"]["prize"] == 200
        assert done[places[2].name]["you"]["prize"] == 0
        assert done["sng-ann"]["places"] == done["sng-bob"]["places"]
        total, issued = chips(s)
        assert total == issued
        # Paid exactly once: a fresh session sees the bankrolls.
        for c, prize in ((places[1], 200), (places[2], 0)):
            again = connect(s, token=c.token)
            assert again.bankroll == start_bankroll - 100 + prize
            again.close()
    finally:
        assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()
