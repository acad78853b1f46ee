"""A cluster shard's side of the wallet (server.transfers), without Redis: the wallet's
answers are given by the test. Chips add up after every step, a finished debit seats the
player in the same step, what cannot be spent goes back, and the journal rebuilds the
same root."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence.layout import check_root, root_from_json, root_to_json
from server import handlers, recovery, transfers
from server.effects import Effects
from server.fanout import Fanout
from server.protocol import Hello
from server.root import TableConfig, add_table, new_root, total_chips

HEADS_UP = TableConfig(seats=2, small_blind=1, big_blind=2, ante=0, min_buy_in=40,
                       max_buy_in=200)
T0 = 1_795_000_000.0


class Conn:
    def __init__(self, cid):
        self.id, self.player, self.address, self.watching = cid, None, "10.0.0.1", set()
        self.chat_tokens, self.chat_at = 5.0, 0.0


def shard():
    root = new_root()
    root.shard = 2
    add_table(root, "hu", HEADS_UP)
    return root, Fanout()


def meet(root, fan, cid: int, pid: str, journal: list) -> Conn:
    """A socket of player ``pid`` (as Redis would have named them) says hello."""
    c = Conn(cid)
    fan.add(c)
    who = handlers.Who(pid, f"name {pid}", f"token-{pid}-" + "x" * 30, 10_000)
    fx = handlers.dispatch(root, fan, c, Hello(token=who.token), T0, who=who)
    journal += fx.journal
    return c


def ask(root, fan, c, message: dict, journal: list) -> Effects:
    fx = handlers.dispatch(root, fan, c, orjson.dumps(message).decode(), T0)
    transfers.sweep(root, fx)          # what app.run does on a shard
    journal += fx.journal
    return fx


def answer(root, tid: str, ok: bool, journal: list, balance: int = 0):
    fx, why = transfers.finish(root, tid, {"ok": ok, "balance": balance,
                                           "reason": None if ok else "bankroll"}, T0,
                               handlers.spend)
    journal += fx.journal
    return fx, why


def books(root) -> None:
    assert check_root(root) == [] and total_chips(root) == root.chips_issued


def state(root) -> dict:
    """The root as an image holds it, less what the journal does not hold: the counters
    (refusals) and the clocks (recovery restarts them: ``play.restart_clocks``)."""
    data = {k: v for k, v in root_to_json(root).items() if k != "counters"}
    for table in data["tables"].values():
        del table["next_hand_at"], table["clock"]
    return data


def replayed(journal: list):
    again = new_root()
    again.shard = 2
    add_table(again, "hu", HEADS_UP)
    for entry in orjson.loads(orjson.dumps(journal)):
        recovery.apply_entry(again, entry)
    return again


def test_a_buy_in_waits_for_the_wallet_then_seats_in_the_same_step():
    root, fan = shard()
    journal: list = []
    c = meet(root, fan, 1, "p7", journal)
    fx = ask(root, fan, c, {"type": "sit", "table": "t2-1", "seat": 0, "buy_in": 150}, journal)
    assert fx.transfers == ["s2-1"] and fan.waiting["s2-1"] == (1, None)
    assert root.tables["t2-1"].game.seats[0] is None and root.chips_issued == 0
    books(root)
    fx, why = answer(root, "s2-1", True, journal, balance=9850)
    assert why is None and root.tables["t2-1"].game.seats[0].stack == 150
    assert root.players["p7"].bankroll == 0 and root.chips_issued == 150
    assert ("send", "p7", {"type": "bankroll", "bankroll": 9850}) in fx.out
    assert not [m for m in fx.out if m[0] == "send" and m[2].get("bankroll") == 0]
    books(root)
    assert state(replayed(journal)) == state(root)


def test_a_refused_buy_in_changes_nothing_but_says_why():
    root, fan = shard()
    journal: list = []
    c = meet(root, fan, 1, "p7", journal)
    ask(root, fan, c, {"type": "sit", "table": "t2-1", "seat": 0, "buy_in": 150}, journal)
    fx, why = answer(root, "s2-1", False, journal, balance=90)
    assert why == "your bankroll is 90, less than 150"
    assert root.tables["t2-1"].game.seats[0] is None and root.transfers == {}
    assert fx.transfers == [] and root.chips_issued == 0
    books(root)


def test_a_seat_taken_meanwhile_sends_the_chips_back():
    root, fan = shard()
    journal: list = []
    a, b = meet(root, fan, 1, "p7", journal), meet(root, fan, 2, "p8", journal)
    ask(root, fan, a, {"type": "sit", "table": "t2-1", "seat": 0, "buy_in": 150}, journal)
    ask(root, fan, b, {"type": "sit", "table": "t2-1", "seat": 0, "buy_in": 100}, journal)
    answer(root, "s2-2", True, journal)           # b's came first: b sits
    fx, why = answer(root, "s2-1", True, journal)
    assert why is not None and "seat 0" in why, why
    assert fx.transfers == ["s2-3"] and root.transfers["s2-3"]["amount"] == 150
    assert root.tables["t2-1"].game.seats[0].player == "p8"
    books(root)                                   # the 150 are counted on their way back
    answer(root, "s2-3", True, journal)
    assert root.chips_issued == 100
    books(root)
    assert state(replayed(journal)) == state(root)


def test_leaving_sends_the_stack_to_the_wallet_and_a_player_in_flight_is_kept():
    root, fan = shard()
    journal: list = []
    c = meet(root, fan, 1, "p7", journal)
    ask(root, fan, c, {"type": "sit", "table": "t2-1", "seat": 1, "buy_in": 120}, journal)
    answer(root, "s2-1", True, journal)
    fx = ask(root, fan, c, {"type": "leave", "table": "t2-1"}, journal)
    assert fx.transfers == ["s2-2"] and root.transfers["s2-2"]["amount"] == 120
    books(root)
    fan.remove(c, T0)
    gone = handlers.forget_gone_players(root, fan, T0 + 10 ** 9)
    assert "p7" in root.players and gone.journal == []     # chips on their way: kept
    answer(root, "s2-2", True, journal)
    assert root.chips_issued == 0 and root.transfers == {}
    books(root)
    assert state(replayed(journal)) == state(root)
    data = orjson.loads(orjson.dumps(root_to_json(root)))
    assert root_to_json(root_from_json(data)) == data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["sit", "top_up", "leave", "ok", "no"]),
                          st.integers(0, 1), st.integers(40, 200)), max_size=25))
def test_any_order_of_requests_and_answers_keeps_the_books(ops):
    """Players ask, the wallet answers in any order, yes or no: chips always add up on
    the shard, and its journal rebuilds it."""
    root, fan = shard()
    journal: list = []
    conns = [meet(root, fan, i + 1, f"p{i + 7}", journal) for i in range(2)]
    for op, who, amount in ops:
        c = conns[who]
        if op == "sit":
            ask(root, fan, c, {"type": "sit", "table": "t2-1", "seat": who, "buy_in": amount},
                journal)
        elif op == "top_up":
            ask(root, fan, c, {"type": "top_up", "table": "t2-1", "amount": amount}, journal)
        elif op == "leave":
            ask(root, fan, c, {"type": "leave", "table": "t2-1"}, journal)
        elif root.transfers:
            tid = sorted(root.transfers)[amount % len(root.transfers)]
            answer(root, tid, op == "ok" or root.transfers[tid]["amount"] > 0, journal)
        books(root)
    assert all(p.bankroll == 0 for p in root.players.values())
    assert state(replayed(journal)) == state(root)


def test_a_seat_that_does_not_exist_is_refused_before_the_wallet_is_asked():
    root, fan = shard()
    journal: list = []
    c = meet(root, fan, 1, "p7", journal)
    fx = ask(root, fan, c, {"type": "sit", "table": "t2-1", "seat": 9, "buy_in": 100}, journal)
    assert fx.transfers == [] and root.transfers == {}
    assert fx.out[-1][2]["code"] == "illegal" and "no seat 9" in fx.out[-1][2]["message"]
