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
            if kind in ("tournament_table", "tournament_moved"):
                c.send({"type": "watch", "table": msg["table"]})
                c.moves = getattr(c, "moves", 0) + (kind == "tournament_moved")
            elif kind == "turn":
                legal = msg["legal"]["actions"]
                action = next(a for a in ("all_in", "call", "check") if a in legal)
                c.send({"type": "act", "table": msg["table"], "action": action})
            elif kind == "tournament" and msg["id"] == tid and msg["status"] == "finished":
                finished.add(c.name)
                done[c.name] = msg
            elif kind == "error":
                # a turn or a table from before a move, or a table broken since
                assert msg["code"] in ("illegal", "no_table", "not_seated"), msg
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


def reconnect(s, clients):
    """New sockets with the old tokens; each watches the tables its welcome names."""
    out = []
    for c in clients:
        again = connect(s, token=c.token)
        again.name = c.name
        welcome = next(m for m in again.seen if m["type"] == "welcome")
        for table in welcome["seats"]:
            again.send({"type": "watch", "table": table})
        out.append(again)
    return out


def test_kill_9_during_a_sit_and_go_and_around_a_payout_pays_each_prize_once(tmp_path):
    folder = str(tmp_path / "data")
    flags = ("--snapshot-dir", folder, "--snapshot-every", "0.2", "--journal", "always",
             "--hand-pause", "0.05", "--turn-seconds", "1", "--time-bank", "0",
             "--tick", "0.02")
    s = start_server(str(tmp_path), *flags)
    try:
        clients = [connect(s, f"k9-{i}") for i in range(3)]
        start_bankroll = clients[0].bankroll
        tid = clients[0].request({"type": "create_tournament", "name": "K9", "seats": 3,
                                  "buy_in": 100, "starting_stack": 300, "levels": LEVELS,
                                  "seconds": 1}, "tournament")["id"]
        for c in clients:
            c.request({"type": "register", "tournament": tid}, "tournament")
        # Kill 1: play has started (a hand under way at the first level).
        clients[0].expect_type("tournament_table")
        s.proc.kill()
        s.proc.wait(5)
        s = start_server(str(tmp_path), *flags)
        clients = reconnect(s, clients)
        total, issued = chips(s)
        assert total == issued
        # Kill 2: right after a player is placed (a payout decided), or the end.
        deadline = time.monotonic() + 60
        placed = False
        while not placed:
            assert time.monotonic() < deadline, "nobody was placed"
            for c in clients:
                try:
                    msg = c.recv(0.05)
                except websocket.WebSocketTimeoutException:
                    continue
                if msg["type"] == "turn":
                    c.send({"type": "act", "table": msg["table"], "action": "all_in"
                            if "all_in" in msg["legal"]["actions"] else "check"})
                elif msg["type"] == "tournament" and msg["players_left"] < 3:
                    placed = True
        s.proc.kill()
        s.proc.wait(5)
        s = start_server(str(tmp_path), *flags)
        clients = reconnect(s, clients)
        listed = clients[0].request({"type": "tournaments"}, "tournaments")["tournaments"]
        if listed:      # not over yet: play it out
            assert listed[0]["players_left"] in (1, 2)
            play_until_over(clients, tid, limit=90)
        total, issued = chips(s)
        assert total == issued
        bankrolls = [connect(s, token=c.token).bankroll for c in clients]
        prizes = sorted(b - (start_bankroll - 100) for b in bankrolls)
        assert sum(prizes) == 300 and min(prizes) >= 0      # each prize paid exactly once
    finally:
        assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


def test_a_multi_table_freezeout_moves_players_breaks_tables_and_pays_once(tmp_path):
    s = start_server(str(tmp_path), "--hand-pause", "0.05", "--turn-seconds", "10",
                     "--tick", "0.02")
    try:
        clients = [connect(s, f"mtt-{i}") for i in range(7)]
        start_bankroll = clients[0].bankroll
        tid = clients[0].request({"type": "create_tournament", "name": "MTT", "seats": 3,
                                  "buy_in": 100, "starting_stack": 300, "levels": LEVELS,
                                  "seconds": 1, "multi_table": True}, "tournament")["id"]
        for c in clients:
            st = c.request({"type": "register", "tournament": tid}, "tournament")
        assert st["status"] == "registering" and st["registered"] == 7
        refused = clients[1].request({"type": "start_tournament", "tournament": tid}, "error")
        assert refused["code"] == "tournament"            # only its creator
        st = clients[0].request({"type": "start_tournament", "tournament": tid}, "tournament")
        assert st["status"] == "running" and st["players_left"] == 7
        done = play_until_over(clients, tid, limit=120)
        ranks = sorted(m["you"]["place"] for m in done.values())
        # Places 1..7, players busted together with the same stack sharing the best one.
        assert ranks[0] == 1 and ranks.count(1) == 1
        assert all(r == i + 1 or r == ranks[i - 1] for i, r in enumerate(ranks)), ranks
        places = done["mtt-0"]["places"]
        assert sorted(p["place"] for p in places) == ranks
        assert {p["player"] for p in places} == {c.player for c in clients}
        assert sum(p["prize"] for p in places) == 700
        assert sum(getattr(c, "moves", 0) for c in clients) >= 1    # tables were broken
        total, issued = chips(s)
        assert total == issued
        for c in clients:
            again = connect(s, token=c.token)
            assert again.bankroll == start_bankroll - 100 + done[c.name]["you"]["prize"]
            assert again.seen[0]["seats"] == {}
            again.close()
    finally:
        assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


def test_kill_9_right_after_a_table_move_leaves_everyone_at_one_table(tmp_path):
    folder = str(tmp_path / "data")
    flags = ("--snapshot-dir", folder, "--snapshot-every", "0.2", "--journal", "always",
             "--hand-pause", "0.05", "--turn-seconds", "1", "--time-bank", "0",
             "--tick", "0.02")
    s = start_server(str(tmp_path), *flags)
    try:
        clients = [connect(s, f"mv-{i}") for i in range(7)]
        start_bankroll = clients[0].bankroll
        tid = clients[0].request({"type": "create_tournament", "name": "MV", "seats": 3,
                                  "buy_in": 100, "starting_stack": 300, "levels": LEVELS,
                                  "seconds": 1, "multi_table": True}, "tournament")["id"]
        for c in clients:
            c.request({"type": "register", "tournament": tid}, "tournament")
        clients[0].request({"type": "start_tournament", "tournament": tid}, "tournament")
        deadline = time.monotonic() + 60
        moved = False
        while not moved:
            assert time.monotonic() < deadline, "nobody was moved"
            for c in clients:
                try:
                    msg = c.recv(0.05)
                except websocket.WebSocketTimeoutException:
                    continue
                if msg["type"] == "turn":
                    c.send({"type": "act", "table": msg["table"], "action": "all_in"
                            if "all_in" in msg["legal"]["actions"] else "check"})
                elif msg["type"] == "tournament_moved":
                    moved = True
        s.proc.kill()
        s.proc.wait(5)
        s = start_server(str(tmp_path), *flags)
        clients = reconnect(s, clients)
        total, issued = chips(s)
        assert total == issued
        listed = clients[0].request({"type": "tournaments"}, "tournaments")["tournaments"]
        left = listed[0]["players_left"] if listed else 1
        seated = [len(next(m for m in c.seen if m["type"] == "welcome")["seats"])
                  for c in clients]
        assert max(seated) <= 1 and sum(seated) == left   # nobody at two tables or none
        if listed:
            play_until_over(clients, tid, limit=120)
        total, issued = chips(s)
        assert total == issued
        bankrolls = [connect(s, token=c.token).bankroll for c in clients]
        prizes = sorted(b - (start_bankroll - 100) for b in bankrolls)
        assert sum(prizes) == 700 and min(prizes) >= 0      # each prize paid exactly once
    finally:
        assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()
