"""Strangers cannot fill the room: creation quotas per address and per player, tables
nobody sat at expire, and an operator can close a table (a real server, loopback;
``--unlimited-addresses ""`` so that loopback counts like any address)."""

from __future__ import annotations

import threading

import pytest

from test_server_helpers import (bot_loop, chips, connect, create_table, get_json, post_json,
                                 seat_up, start_server, wait_for)

TABLE = {"name": "mine", "seats": 6, "small_blind": 1, "big_blind": 2}


@pytest.fixture
def strict(tmp_path):
    server = start_server(str(tmp_path), "--unlimited-addresses", "", "--tables-per-address", "3",
                          "--tables-per-player", "2", "--players-per-minute", "4",
                          "--no-default-tables")
    yield server
    server.stop()


def test_one_address_cannot_fill_the_room_with_tables(strict):
    for _ in range(3):
        create_table(strict, name="mine")
    status, body = post_json(strict.url + "/api/tables", TABLE)
    assert status == 429 and "at most 3" in body["error"]
    assert len(get_json(strict.url + "/api/tables")["tables"]) == 3


def test_a_player_who_says_who_they_are_has_their_own_quota(strict):
    ann = connect(strict, "ann")
    auth = {"Authorization": f"Bearer {ann.token}"}
    for _ in range(2):
        assert post_json(strict.url + "/api/tables", TABLE, headers=auth)[0] == 201
    status, body = post_json(strict.url + "/api/tables", TABLE, headers=auth)
    assert status == 429 and "you already have 2 tables" in body["error"]
    assert post_json(strict.url + "/api/tables", TABLE)[0] == 201   # the address has one left


def test_new_players_from_one_address_are_rate_limited(strict):
    made = [connect(strict, f"p{i}") for i in range(4)]
    extra = connect(strict)
    reply = extra.request({"type": "hello", "protocol": 2, "name": "one too many"})
    assert reply["type"] == "error" and reply["code"] == "rate_limited"
    back = connect(strict, token=made[0].token)          # a returning player is never limited
    assert back.player == made[0].player


def test_a_table_nobody_sat_at_expires_and_its_watchers_are_told(tmp_path):
    server = start_server(str(tmp_path), "--empty-table-ttl", "0.3", "--no-default-tables")
    try:
        unused = create_table(server, name="unused")
        used = create_table(server, name="used")
        rail = connect(server, "rail")
        rail.request({"type": "watch", "table": unused}, "table")
        ann = connect(server, "ann")
        ann.request({"type": "sit", "table": used, "seat": 0, "buy_in": 100}, "table")
        closed = rail.expect_type("table_closed", timeout=5)
        assert closed["table"] == unused
        assert [t["id"] for t in get_json(server.url + "/api/tables")["tables"]] == [used]
        reply = rail.request({"type": "watch", "table": unused})
        assert reply["type"] == "error" and reply["code"] == "no_table"
    finally:
        server.stop()


def test_an_operator_closes_a_table_once_its_hand_is_over(tmp_path):
    server = start_server(str(tmp_path), "--no-default-tables", "--hand-pause", "0.05",
                          env={"POKER_ADMIN_TOKEN": "s3cret"})
    try:
        table, players = seat_up(server, 3, prefix="cl-")
        _, issued = chips(server)
        url = f"{server.url}/api/admin/tables/{table}/close"
        assert post_json(url, {})[0] == 401
        assert post_json(url, {}, headers={"Authorization": "Bearer wrong"})[0] == 401
        players[0].expect_event("hand_started", timeout=5)
        status, body = post_json(url, {}, headers={"Authorization": "Bearer s3cret"})
        assert (status, body) == (202, {"table": table, "closed": False})   # a hand is on
        stop = threading.Event()
        threads = [threading.Thread(target=bot_loop, args=(c, stop, i), daemon=True)
                   for i, c in enumerate(players)]
        for t in threads:
            t.start()
        wait_for(lambda: not get_json(server.url + "/api/tables")["tables"], 10,
                 "the table to close")
        stop.set()
        in_play, issued_now = chips(server)
        assert issued_now == issued and in_play == issued   # every chip back in a bankroll
    finally:
        server.stop()


def test_the_admin_route_does_not_exist_without_a_token(tmp_path):
    server = start_server(str(tmp_path))
    try:
        status, body = post_json(server.url + "/api/admin/tables/t1/close", {},
                                 headers={"Authorization": "Bearer "})
        assert status == 404 and "POKER_ADMIN_TOKEN" in body["error"]
    finally:
        server.stop()
