"""A full table's waiting list on the real server (127.0.0.1, real WebSocket clients): the
order, the seat held for the first in line, an offer that runs out passing on, and a
kill -9 and restart that keep it all (server/waiting.py; the rule without sockets is
tests/test_waiting_list.py). Every wait is on a condition, never a fixed sleep."""

from __future__ import annotations

import os
import signal

from test_server_helpers import chips, connect, create_table, get_json, sit, start_server, wait_for

# No hand starts (a seat frees at once when its player leaves), no image but the first.
FLAGS = ("--no-default-tables", "--hand-pause", "3600")


def lobby_row(server, table: str) -> dict:
    return next(t for t in get_json(server.url + "/api/tables")["tables"] if t["id"] == table)


def heard(c, kind: str, **fields) -> dict:
    """A message ``c`` received already (say, before a reply it waited for), or the next."""
    for m in c.seen:
        if m["type"] == kind and all(m.get(k) == v for k, v in fields.items()):
            return m
    return c.expect_type(kind, **fields)


def chips_add_up(server) -> None:
    total, issued = chips(server)
    assert total == issued, (total, issued)


def test_the_list_keeps_its_order_holds_the_seat_and_passes_an_expired_offer_on(tmp_path):
    server = start_server(str(tmp_path), *FLAGS, "--wait-offer", "1.5")
    clients = []
    try:
        table = create_table(server, seats=2)
        ann, bob, cat, dan, eve = clients[:] = [connect(server, n) for n in
                                                ("ann", "bob", "cat", "dan", "eve")]
        sit(ann, table, 0)
        reply = cat.request({"type": "wait", "table": table})
        assert reply["code"] == "waiting_list" and "sit down instead" in reply["message"]
        sit(bob, table, 1)
        assert ann.request({"type": "wait", "table": table})["code"] == "seat_taken"
        cat.send({"type": "wait", "table": table})
        assert cat.expect_type("waiting", table=table)["position"] == 1
        dan.send({"type": "wait", "table": table})
        assert dan.expect_type("waiting", table=table) == {
            "type": "waiting", "table": table, "position": 2, "length": 2}
        assert cat.request({"type": "wait", "table": table})["code"] == "waiting_list"
        assert lobby_row(server, table)["waiting"] == 2

        bob.send({"type": "leave", "table": table})
        bob.expect_event("left", seat=1)
        offer = cat.expect_type("seat_offered", table=table)
        assert offer["seat"] == 1 and offer["seconds"] == 1.5
        for p in (dan, eve, bob):       # held for cat: nobody else sits
            reply = p.request({"type": "sit", "table": table, "seat": 1, "buy_in": 100})
            assert reply["code"] == "seat_reserved", reply
        # cat lets it pass: she is off the list, and dan is offered the seat.
        gone = cat.expect_type("waiting", timeout=10, table=table, position=None)
        assert gone["reason"] == "expired"
        dan.expect_type("seat_offered", timeout=10, table=table)
        assert cat.request({"type": "sit", "table": table, "seat": 1,
                            "buy_in": 100})["code"] == "seat_reserved"
        sit(dan, table, 1, buy_in=150)
        assert heard(dan, "waiting", table=table, position=None)["reason"] == "seated"
        assert lobby_row(server, table)["waiting"] == 0
        assert lobby_row(server, table)["seats_taken"] == 2
        assert heard(dan, "bankroll")["bankroll"] == 10_000 - 150
        chips_add_up(server)
    finally:
        for c in clients:
            c.close()
        server.stop()


def journal_holds(folder: str, text: str) -> bool:
    return any(text in open(os.path.join(folder, n), errors="replace").read()
               for n in os.listdir(folder) if n.startswith("journal-"))


def test_kill_9_and_a_restart_keep_the_list_and_the_held_seat(tmp_path):
    snaps = str(tmp_path / "snaps")
    flags = (*FLAGS, "--snapshot-dir", snaps, "--journal", "everysec",
             "--snapshot-every", "3600", "--wait-offer", "30")
    server = start_server(str(tmp_path), *flags)
    clients = []
    try:
        table = create_table(server, seats=2)
        ann, bob, cat, dan = clients[:] = [connect(server, n) for n in ("ann", "bob", "cat", "dan")]
        sit(ann, table, 0)
        sit(bob, table, 1)
        for p in (cat, dan):
            p.send({"type": "wait", "table": table})
            p.expect_type("waiting", table=table)
        bob.send({"type": "leave", "table": table})
        bob.expect_event("left", seat=1)
        cat.expect_type("seat_offered", table=table)
        # Once the journal has it (everysec: written within a second or so), kill -9.
        wait_for(lambda: journal_holds(snaps, '"k":"offer"'), 10, "the offer in the journal")
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        for c in clients:
            c.close()

        server = start_server(str(tmp_path), *flags)
        assert lobby_row(server, table)["waiting"] == 2
        cat2 = connect(server, token=cat.token)
        dan2 = connect(server, token=dan.token)
        eve = connect(server, "eve")
        clients[:] = [cat2, dan2, eve]
        # On hello each hears of their place, and cat of the seat held for her.
        assert cat2.expect_type("waiting", table=table)["position"] == 1
        offer = cat2.expect_type("seat_offered", table=table)
        assert dan2.expect_type("waiting", table=table)["position"] == 2
        assert eve.request({"type": "sit", "table": table, "seat": 1,
                            "buy_in": 100})["code"] == "seat_reserved"
        assert offer["until_ms"] > 0
        sit(cat2, table, 1)
        assert heard(cat2, "waiting", table=table, position=None)["reason"] == "seated"
        assert dan2.expect_type("waiting", table=table)["position"] == 1
        assert lobby_row(server, table)["waiting"] == 1
        chips_add_up(server)
    finally:
        for c in clients:
            c.close()
        server.stop()
