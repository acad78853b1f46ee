"""Real server, real sockets: full hands, no leaks, reconnects, two tabs, many clients at once."""

from __future__ import annotations

import threading
import time

import pytest

from test_server_helpers import (Client, bankroll_of, bot_loop, cards_in, chips, connect,
                                 create_table, errors, get_json, hands_played, post_json,
                                 run_bots, seat_up, sit, start_server, wait_for)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(str(tmp_path_factory.mktemp("play")), "--hand-pause", "0.1",
                     "--turn-seconds", "10", "--time-bank", "5", "--history", "60",
                     "--tick", "0.02")
    yield s
    assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


# ---------------------------------------------------------------------------
# Lobby API


def test_lobby_lists_tables_and_creates_them(server):
    tables = get_json(server.url + "/api/tables")["tables"]
    assert {"Six-max 1/2", "Heads-up 1/2"} <= {t["name"] for t in tables}
    status, entry = post_json(server.url + "/api/tables",
                              {"name": "Deep", "seats": 9, "small_blind": 5, "big_blind": 10,
                               "ante": 1, "min_buy_in": 200, "max_buy_in": 2000, "bots": 2})
    assert status == 201
    assert entry["seats"] == 9 and entry["ante"] == 1 and entry["max_buy_in"] == 2000
    assert entry["id"] in {t["id"] for t in get_json(server.url + "/api/tables")["tables"]}
    assert get_json(server.url + f"/api/tables/{entry['id']}/hands") == \
        {"table": entry["id"], "hands": []}


@pytest.mark.parametrize("body, reason", [
    ({"name": "x", "seats": 11, "small_blind": 1, "big_blind": 2}, "seats"),
    ({"name": "x", "seats": 1, "small_blind": 1, "big_blind": 2}, "seats"),
    ({"name": "x", "seats": True, "small_blind": 1, "big_blind": 2}, "seats"),
    ({"name": "x", "seats": 6.0, "small_blind": 1, "big_blind": 2}, "seats"),
    ({"name": "x", "seats": 6, "small_blind": 2, "big_blind": 1}, "big_blind"),
    ({"name": "x", "seats": 6, "small_blind": 0, "big_blind": 2}, "small_blind"),
    ({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "min_buy_in": 300,
      "max_buy_in": 100}, "max_buy_in"),
    ({"seats": 6, "small_blind": 1, "big_blind": 2}, "name"),
    ({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "rake": 5}, "rake"),
    (b'{"name": "x", "name": "y", "seats": 6, "small_blind": 1, "big_blind": 2}', "duplicate"),
    (b'{"name": "x", "seats": 6', "JSON"),
    (b'[1, 2]', "object"),
])
def test_creating_a_bad_table_is_refused_with_a_reason(server, body, reason):
    before = len(get_json(server.url + "/api/tables")["tables"])
    status, data = post_json(server.url + "/api/tables", body)
    assert status == 400 and reason in data["error"], data
    assert len(get_json(server.url + "/api/tables")["tables"]) == before


def test_unknown_table_hands_is_404(server):
    status = None
    try:
        get_json(server.url + "/api/tables/nope/hands")
    except Exception as e:  # noqa: BLE001
        status = getattr(e, "code", None)
    assert status == 404


# ---------------------------------------------------------------------------
# Full hands


@pytest.mark.parametrize("n", [2, 3, 6])
def test_full_hands_between_clients(server, n):
    table, clients = seat_up(server, n, prefix=f"full{n}-")
    start = hands_played(server, table)
    run_bots(clients, lambda: hands_played(server, table) >= start + 4, timeout=30, seed=n)
    total, issued = chips(server)
    assert total == issued
    for c in clients:
        c.drain(0.2)
        assert errors(c) == []
        ended = [m for m in c.seen if m["type"] == "event" and m["event"]["type"] == "hand_ended"]
        assert len(ended) >= 4
    # Every client holds the same table: the same stacks at the same version.
    views = [c.request({"type": "watch", "table": table}, "table") for c in clients]
    assert len({v["v"] for v in views}) == 1
    stacks = [[s and s["stack"] for s in v["view"]["seats"]] for v in views]
    assert all(s == stacks[0] for s in stacks)
    hands = get_json(server.url + f"/api/tables/{table}/hands")["hands"]
    assert hands and all(h["pot"] >= 0 and h["players"] for h in hands)
    for c in clients:
        c.close()


def test_no_hole_cards_or_deck_ever_leak(server):
    """30 hands, 4 players and a spectator who keep asking for full views mid-hand: every
    card anyone receives is on the board, shown at showdown, or their own."""
    table = create_table(server, seats=4)
    spectator = connect(server, "rail")
    spectator.request({"type": "watch", "table": table}, "table")
    players = [connect(server, f"leak{i}") for i in range(4)]
    for c in players:
        c.request({"type": "watch", "table": table}, "table")
    seats = {}
    for i, c in enumerate(players):
        seats[c.player] = sit(c, table, i, 100)["you"]
    start = hands_played(server, table)
    conserved = []
    run_bots(players + [spectator], lambda: hands_played(server, table) >= start + 30,
             timeout=60, seed=7, rewatch_every=3,
             during=lambda: conserved.append(chips(server)))
    assert all(total == issued for total, issued in conserved)
    for c in players + [spectator]:
        assert not any('"deck"' in text for text in c.raw)
        check_no_leak(c, table, seats.get(c.player))
    shown_by_api = get_json(server.url + f"/api/tables/{table}/hands")["hands"]
    assert len(shown_by_api) == 20   # the last 20 hands are kept
    for c in players + [spectator]:
        c.close()


def check_no_leak(c: Client, table: str, my_seat: int | None) -> None:
    allowed: set[str] = set()
    for msg in c.seen:
        if msg.get("table") != table:
            continue
        if msg["type"] == "event":
            e = msg["event"]
            if e["type"] == "hand_started":
                allowed = set()
            elif e["type"] == "hole_cards" and e.get("cards") is not None:
                assert e["seat"] == my_seat and e["player"] == c.player, \
                    f"{c.name} got seat {e['seat']}'s hole cards"
                allowed |= set(e["cards"])
            elif e["type"] == "street":
                allowed |= set(e["board"])
            elif e["type"] == "show":
                allowed |= set(e["cards"])
        elif msg["type"] == "table":
            view = msg["view"]
            if view["hand"]:
                allowed |= set(view["hand"]["board"])
            for s in view["seats"]:
                if s and s["cards"] and s["seat"] == msg["you"]:
                    allowed |= set(s["cards"])
        leaked = cards_in(msg) - allowed
        assert not leaked, f"{c.name} (seat {my_seat}) saw {leaked} in {msg}"


# ---------------------------------------------------------------------------
# Reconnecting


def test_reconnect_mid_hand_replays_missed_events(server):
    table, (ann, bob, cat) = seat_up(server, 3, prefix="rc-")
    rail = connect(server, "rc-rail")
    rail.request({"type": "watch", "table": table}, "table")
    # A hand is under way and it is someone else's turn: ann drops.
    ann.expect_event("hand_started", timeout=5)
    while True:
        msg = ann.recv(5)
        if msg["type"] == "turn":
            ann.send({"type": "act", "table": table,
                      "action": "call" if "call" in msg["legal"]["actions"] else "check"})
        elif msg["type"] == "event" and msg["event"]["type"] == "to_act" \
                and msg["event"]["seat"] != 0:
            break
    ann.drain(0.05)
    last_v = ann.versions[table]
    ann_token = ann.token
    ann.ws.shutdown()   # no close frame: a dropped connection
    # The others keep playing (ann's turns wait on her clock) until the table moves on.
    stop = threading.Event()
    threads = [threading.Thread(target=bot_loop, args=(c, stop, 5 + i), daemon=True)
               for i, c in enumerate((bob, cat))]
    for t in threads:
        t.start()
    try:
        rail.expect(lambda m: m["type"] == "event" and m["v"] >= last_v + 3, timeout=10,
                    what="the table to move on")
        # ann comes back with her token and the last version she saw.
        back = connect(server, token=ann_token, tables={table: last_v})
        back.versions[table] = last_v   # so the bookkeeping asserts there is no gap
        assert back.player == ann.player and back.bankroll is not None
        first = back.expect(lambda m: m["type"] in ("event", "table"), timeout=5)
        assert first["type"] == "event" and first["v"] == last_v + 1
        back.drain(0.3)
        # What she rebuilt is what a fresh full view says.
        full = back.request({"type": "watch", "table": table}, "table")
        assert full["you"] == 0
        # She is still seated and can play on: act when it is her turn.
        run = threading.Thread(target=bot_loop, args=(back, stop, 9), daemon=True)
        run.start()
        start = hands_played(server, table)
        wait_for(lambda: hands_played(server, table) >= start + 2, 20, "two more hands")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    for c in (bob, cat, rail, back):
        assert errors(c) == [], errors(c)
        c.close()


def test_reconnect_with_a_version_too_old_or_ahead_gets_the_full_table(server):
    table, clients = seat_up(server, 2, prefix="old-")
    rail = connect(server, "old-rail")
    rail.request({"type": "watch", "table": table}, "table")
    old_v = rail.versions[table]
    token = rail.token
    rail.close()
    # More than the 60 kept events go by.
    watcher = connect(server, "old-watch")
    watcher.request({"type": "watch", "table": table}, "table")

    def far_enough():
        watcher.drain(0.01)
        return watcher.versions[table] > old_v + 80

    run_bots(clients, far_enough, timeout=30, seed=3)
    back = connect(server, token=token, tables={table: old_v})
    full = back.expect(lambda m: m["type"] in ("event", "table"), timeout=5)
    assert full["type"] == "table" and full["v"] > old_v + 60
    # A version from the future is answered with the full table too.
    ahead = back.request({"type": "watch", "table": table, "v": full["v"] + 1000}, "table")
    assert ahead["v"] <= back.versions[table]
    # A version still in the history gets just the events after it.
    back.drain(0.2)
    v = back.versions[table]
    back.versions[table] = v - 3
    back.send({"type": "watch", "table": table, "v": v - 3})
    replayed = back.drain(0.3)
    assert [m["v"] for m in replayed if m["type"] == "event"][:3] == [v - 2, v - 1, v]
    assert not [m for m in replayed if m["type"] == "table"]
    for c in clients + [watcher, back]:
        c.close()


# ---------------------------------------------------------------------------
# Two tabs


def test_two_connections_for_one_player_stay_consistent(server):
    table = create_table(server, seats=2)
    tab1 = connect(server, "tabs")
    tab2 = connect(server, token=tab1.token)
    assert tab2.player == tab1.player
    bob = connect(server, "tabs-bob")
    for c in (tab1, tab2, bob):
        c.request({"type": "watch", "table": table}, "table")
    sit(tab1, table, 0, 100)
    seated = tab2.expect_event("seated", seat=0)
    assert seated["player"] == tab1.player
    sit(bob, table, 1, 100)
    # Both tabs are told it is their turn; one acts, the other sees it.
    turn1 = tab1.expect_type("turn", timeout=5)
    turn2 = tab2.expect_type("turn", timeout=5)
    assert turn1["legal"] == turn2["legal"] and turn1["deadline_ms"] == turn2["deadline_ms"]
    action = "call" if "call" in turn2["legal"]["actions"] else "check"
    tab2.send({"type": "act", "table": table, "action": action})
    seen1 = tab1.expect_event("action", seat=turn1["seat"])
    seen2 = tab2.expect_event("action", seat=turn1["seat"])
    assert seen1 == seen2 and tab1.versions[table] == tab2.versions[table]
    # The same action from the other tab (a double click) is refused and changes nothing.
    err = tab1.request({"type": "act", "table": table, "action": action})
    assert err["type"] == "error" and err["code"] == "illegal"
    # Closing one tab keeps the seat and says nothing about presence.
    tab1.close()
    time.sleep(0.3)
    assert not [m for m in bob.drain(0.2) if m["type"] == "event"
                and m["event"]["type"] in ("presence", "left")]
    full = tab2.request({"type": "watch", "table": table}, "table")
    assert full["you"] == 0 and full["view"]["seats"][0]["connected"] is True
    # Closing the last one: the seat stays, shown as disconnected.
    tab2.close()
    gone = bob.expect_event("presence", seat=0)
    assert gone["connected"] is False
    back = connect(server, token=tab1.token)
    assert bob.expect_event("presence", seat=0)["connected"] is True
    for c in (bob, back):
        c.close()


# ---------------------------------------------------------------------------
# Many at once


def test_many_clients_acting_at_once_conserve_chips(server):
    groups = [seat_up(server, n, prefix=f"busy{k}-") for k, n in enumerate((2, 3, 4, 5))]
    clients = [c for _, cs in groups for c in cs]
    starts = {t: hands_played(server, t) for t, _ in groups}
    samples = []

    def chaos():
        samples.append(chips(server))

    run_bots(clients, lambda: all(hands_played(server, t) >= starts[t] + 5 for t in starts),
             timeout=60, seed=11, during=chaos)
    assert samples and all(total == issued for total, issued in samples)
    # Everyone leaves: every chip is back in a bankroll.
    for t, cs in groups:
        for c in cs:
            c.send({"type": "leave", "table": t})
    for c in clients:
        c.expect(lambda m: m["type"] == "bankroll" or (m["type"] == "error"
                                                       and m["code"] == "not_seated"), 5)
    total, issued = chips(server)
    assert total == issued
    for c in clients:
        assert errors(c) == [] or all(e["code"] == "not_seated" for e in errors(c))
        c.close()
    assert sum(bankroll_of(server, c.token) for c in clients) == 10_000 * len(clients)
