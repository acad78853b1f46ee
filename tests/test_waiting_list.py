"""A full table's waiting list, without sockets: what each message and each tick does to
the root, and the effects it returns (journal entries, messages, wake-ups)
(server/waiting.py; the real server's side is tests/test_waiting_server.py)."""

from __future__ import annotations

import orjson

from game.table import StandUp
from persistence.layout import check_root, root_from_json, root_to_json
from server import config, handlers, lobby, play, recovery, waiting
from server.effects import Effects
from server.fanout import Fanout
from server.root import TableConfig, add_player, add_table, new_root, total_chips
from test_table_flow import T0, conn, shuffled, two_players

OFFER = config.settings.wait_offer


class Room:
    """A heads-up table with ann and bob seated, and players with sockets to talk."""

    def __init__(self):
        self.root, self.room, self.ann, self.bob, _ = two_players()
        self.image = orjson.loads(orjson.dumps(root_to_json(self.root)))
        self.fan = Fanout()
        self.conns = {}
        self.journal = []       # every entry since the image, in order
        for name in ("ann", "bob"):
            self.bind(getattr(self, name))
        for name in ("cat", "dan", "eve"):
            player = add_player(self.root, name)
            self.journal.append({"k": "player", "id": player.id, "name": player.name,
                                 "token": player.token, "bankroll": player.bankroll})
            setattr(self, name, player)
            self.bind(player)

    def bind(self, player):
        c = conn(len(self.conns) + 1)
        self.fan.add(c)
        self.fan.bind(c, player.id)
        self.conns[player.id] = c

    def say(self, player, msg: dict, now: float = T0, **kw) -> Effects:
        fx = handlers.dispatch(self.root, self.fan, self.conns[player.id],
                               orjson.dumps({"table": self.room.id, **msg}), now, **kw)
        self.journal += fx.journal
        return fx

    def error(self, player, msg: dict, now: float = T0, **kw) -> str | None:
        fx = self.say(player, msg, now, **kw)
        errors = [m["code"] for _, m in fx.sent("reply") if m["type"] == "error"]
        if errors:
            assert fx.journal == [], fx.journal
        return errors[0] if errors else None

    def tick(self, now: float) -> Effects:
        fx = play.tick(self.root, self.room, now, shuffled())
        self.journal += fx.journal
        return fx

    def step(self, action, now: float = T0) -> Effects:
        fx = play.step(self.root, self.room, action, now)
        self.journal += fx.journal
        return fx

    def replayed(self):
        """The root rebuilt from the image before the test and every entry since."""
        root = root_from_json(orjson.loads(orjson.dumps(self.image)))
        for entry in self.journal:
            recovery.apply_entry(root, entry)
        return root

    def sound(self):
        assert check_root(self.root) == []
        assert total_chips(self.root) == self.root.chips_issued
        assert comparable(self.replayed()) == comparable(self.root)


def comparable(root) -> dict:
    """The root as JSON, but for what the journal does not carry: error counters, and when
    the next hand is due (the clock's, derived again after a recovery)."""
    data = root_to_json(root)
    data["counters"] = None
    for table in data["tables"].values():
        table["next_hand_at"] = None
    return data


def sent_to(fx: Effects, player) -> list[dict]:
    return [m for pid, m in fx.sent("send") if pid == player.id]


def test_only_a_full_table_has_a_list_which_keeps_its_order():
    t = Room()
    sit_msg = {"type": "sit", "seat": 1, "buy_in": 100}
    t.step(StandUp(1))                                  # bob leaves: a seat is free
    assert t.error(t.cat, {"type": "wait"}) == "waiting_list"
    assert t.error(t.bob, sit_msg) is None              # full again
    assert t.error(t.ann, {"type": "wait"}) == "seat_taken"     # she sits here
    fx = t.say(t.cat, {"type": "wait"})
    assert fx.journal == [{"k": "wait", "t": t.room.id, "player": t.cat.id}]
    assert sent_to(fx, t.cat) == [{"type": "waiting", "table": t.room.id, "position": 1,
                                   "length": 1}]
    assert t.error(t.cat, {"type": "wait"}) == "waiting_list"   # not twice
    assert t.say(t.dan, {"type": "wait"}).sent("send")[-1][1]["position"] == 2
    assert t.say(t.eve, {"type": "wait"}).sent("send")[-1][1]["position"] == 3
    assert t.room.waiting == [t.cat.id, t.dan.id, t.eve.id]
    assert lobby.lobby_entry(t.root, t.room)["waiting"] == 3
    # dan leaves the list: eve moves up (and is told), cat is not told anything.
    fx = t.say(t.dan, {"type": "unwait"})
    assert fx.journal == [{"k": "unwait", "t": t.room.id, "player": t.dan.id}]
    assert sent_to(fx, t.dan) == [{"type": "waiting", "table": t.room.id, "position": None,
                                   "length": 2, "reason": "left"}]
    assert sent_to(fx, t.eve)[0]["position"] == 2 and sent_to(fx, t.cat) == []
    assert t.error(t.dan, {"type": "unwait"}) == "waiting_list"
    # A state change: refused while paused, and nothing else is written.
    assert t.error(t.dan, {"type": "wait"}, paused="the disk is full") == "paused"
    assert t.error(t.dan, {"type": "wait", "table": "t99"}) == "no_table"
    assert t.room.waiting == [t.cat.id, t.eve.id] and t.room.offers == []
    t.sound()


def test_a_freed_seat_is_held_for_the_first_in_line_who_sits_with_an_ordinary_sit():
    t = Room()
    for p in (t.cat, t.dan):
        t.say(p, {"type": "wait"})
    fx = t.step(StandUp(1), T0 + 1)                     # bob leaves between hands
    assert {"k": "offer", "t": t.room.id, "player": t.cat.id, "until": T0 + 1 + OFFER} \
        in fx.journal
    assert sent_to(fx, t.cat) == [{"type": "seat_offered", "table": t.room.id, "seat": 1,
                                   "until_ms": int((T0 + 1 + OFFER) * 1000),
                                   "seconds": OFFER}]
    assert fx.wake[t.room.id] == T0 + 1 + OFFER         # the clock looks again then
    # Nobody else sits while it is held: not the next in line, not a newcomer, not bob.
    for p in (t.dan, t.eve, t.bob):
        assert t.error(p, {"type": "sit", "seat": 1, "buy_in": 100}) == "seat_reserved"
    # The table is not full, but its seat is held: eve may still join the line.
    assert t.error(t.eve, {"type": "wait"}) is None
    fx = t.say(t.cat, {"type": "sit", "seat": 1, "buy_in": 120}, T0 + 2)
    assert {"k": "unwait", "t": t.room.id, "player": t.cat.id} in fx.journal
    assert {"type": "waiting", "table": t.room.id, "position": None, "length": 2,
            "reason": "seated"} in sent_to(fx, t.cat)
    assert sent_to(fx, t.dan)[0]["position"] == 1 and sent_to(fx, t.eve)[0]["position"] == 2
    assert t.room.waiting == [t.dan.id, t.eve.id] and t.room.offers == []
    assert t.room.game.seats[1].player == t.cat.id and t.cat.bankroll == 10_000 - 120
    t.sound()


def test_an_offer_not_taken_in_time_passes_to_the_next_then_sitting_is_as_before():
    t = Room()
    for p in (t.cat, t.dan):
        t.say(p, {"type": "wait"})
    t.step(StandUp(1), T0)
    assert play.due(t.room) == T0 + OFFER
    assert t.tick(T0 + OFFER - 0.01).journal == []      # not yet
    fx = t.tick(T0 + OFFER)
    assert fx.journal == [{"k": "unwait", "t": t.room.id, "player": t.cat.id},
                          {"k": "offer", "t": t.room.id, "player": t.dan.id,
                           "until": T0 + 2 * OFFER}]
    assert sent_to(fx, t.cat) == [{"type": "waiting", "table": t.room.id, "position": None,
                                   "length": 1, "reason": "expired"}]
    assert [m["type"] for m in sent_to(fx, t.dan)] == ["waiting", "seat_offered"]
    assert fx.wake[t.room.id] == T0 + 2 * OFFER
    assert t.error(t.cat, {"type": "sit", "seat": 1, "buy_in": 100}) == "seat_reserved"
    # dan gives up his place: nobody is waiting, and anyone may sit as before.
    fx = t.say(t.dan, {"type": "unwait"}, T0 + OFFER + 1)
    assert t.room.waiting == [] and t.room.offers == []
    assert fx.wake[t.room.id] is None
    assert t.error(t.eve, {"type": "sit", "seat": 1, "buy_in": 100}) is None
    t.sound()


def test_the_journal_and_an_image_keep_the_list_and_the_held_seat():
    t = Room()
    for p in (t.cat, t.dan, t.eve):
        t.say(p, {"type": "wait"})
    t.step(StandUp(1), T0)
    t.say(t.dan, {"type": "unwait"})
    assert t.room.waiting == [t.cat.id, t.eve.id]
    assert t.room.offers == [{"player": t.cat.id, "until": T0 + OFFER}]
    again = t.replayed()
    assert again.tables[t.room.id].waiting == [t.cat.id, t.eve.id]
    assert again.tables[t.room.id].offers == t.room.offers
    data = orjson.loads(orjson.dumps(root_to_json(t.root)))
    back = root_from_json(data)
    assert root_to_json(back) == data and back.tables[t.room.id].waiting == t.room.waiting
    # An image written before waiting lists (format 4) loads with none; one of format 5
    # held one offer, as a dict.
    old = orjson.loads(orjson.dumps(root_to_json(t.root)))
    old["format"] = 4
    for table in old["tables"].values():
        del table["waiting"], table["offers"]
    loaded = root_from_json(old)
    assert loaded.tables[t.room.id].waiting == [] and loaded.tables[t.room.id].offers == []
    five = orjson.loads(orjson.dumps(root_to_json(t.root)))
    five["format"] = 5
    five["tables"][t.room.id]["offer"] = five["tables"][t.room.id].pop("offers")[0]
    assert check_root(five) == []
    assert root_from_json(five).tables[t.room.id].offers == t.room.offers
    # The check names a list that names nobody.
    data["tables"][t.room.id]["waiting"].append("p404")
    assert any("waiting list" in p for p in check_root(data))
    # After a restart the held seat is held afresh from then.
    play.restart_clocks(back, T0 + 1000)
    assert back.tables[t.room.id].offers[0]["until"] == T0 + 1000 + OFFER
    t.sound()


def test_a_player_on_the_list_hears_of_it_again_on_hello():
    t = Room()
    t.say(t.cat, {"type": "wait"})
    t.say(t.dan, {"type": "wait"})
    t.step(StandUp(1), T0)
    c = conn(99)
    t.fan.add(c)
    fx = handlers.dispatch(t.root, t.fan, c, orjson.dumps(
        {"type": "hello", "protocol": 2, "token": t.cat.token}), T0 + 1)
    assert [m["type"] for _, m in fx.sent("reply")] == ["welcome", "waiting", "seat_offered"]
    assert fx.sent("reply")[1][1]["position"] == 1


def test_a_forgotten_player_and_a_closed_table_leave_the_lists():
    t = Room()
    for p in (t.cat, t.dan):
        t.say(p, {"type": "wait"})
    t.step(StandUp(1), T0)
    assert t.room.offers[0]["player"] == t.cat.id
    # cat closes her socket and is gone long enough to be forgotten: dan gets the seat.
    t.fan.remove(t.conns[t.cat.id], T0)
    handlers.forget_gone_players(t.root, t.fan, T0)
    fx = handlers.forget_gone_players(t.root, t.fan, T0 + config.settings.guest_ttl)
    t.journal += fx.journal
    kinds = [e["k"] for e in fx.journal]
    assert kinds.index("unwait") < kinds.index("forget")
    assert t.cat.id not in t.root.players and t.room.waiting == [t.dan.id]
    assert t.room.offers[0]["player"] == t.dan.id
    t.sound()
    # An operator closes the table: dan is told his list went with it.
    fx = play.close_table(t.root, t.room, T0 + 5)
    t.journal += fx.journal
    assert {"type": "waiting", "table": t.room.id, "position": None, "length": 0,
            "reason": "closed"} in sent_to(fx, t.dan)
    assert t.room.id not in t.root.tables
    t.sound()


def test_a_tournament_table_has_no_waiting_list():
    root = new_root()
    room = add_table(root, "T", TableConfig(2, 1, 2, 0, 40, 200))
    room.tournament = "T1"
    ann = add_player(root, "ann")
    fan, c = Fanout(), conn(1)
    fan.add(c)
    fan.bind(c, ann.id)
    fx = handlers.dispatch(root, fan, c, orjson.dumps({"type": "wait", "table": room.id}), T0)
    assert fx.sent("reply")[0][1]["code"] == "tournament"


def test_a_first_in_line_who_can_no_longer_buy_in_is_passed_over_when_a_seat_frees():
    t = Room()
    # A second table, with a buy-in of up to the whole bankroll (before the image).
    other = add_table(t.root, "deep", TableConfig(2, 1, 2, 0, 40, 10_000))
    t.image, t.journal = orjson.loads(orjson.dumps(root_to_json(t.root))), []
    minimum = t.room.config.min_buy_in
    for p in (t.cat, t.dan):
        t.say(p, {"type": "wait"})
    # cat buys in elsewhere with nearly everything: less than the minimum is left.
    assert t.error(t.cat, {"type": "sit", "table": other.id, "seat": 0,
                           "buy_in": t.cat.bankroll - (minimum - 1)}) is None
    assert t.cat.bankroll == minimum - 1 and t.room.waiting == [t.cat.id, t.dan.id]
    fx = t.step(StandUp(1), T0 + 1)                     # a seat comes free: dan's turn
    assert fx.journal[-2:] == [{"k": "unwait", "t": t.room.id, "player": t.cat.id},
                               {"k": "offer", "t": t.room.id, "player": t.dan.id,
                                "until": T0 + 1 + OFFER}]
    assert sent_to(fx, t.cat) == [{"type": "waiting", "table": t.room.id, "position": None,
                                   "length": 1, "reason": "bankroll"}]
    assert [m["type"] for m in sent_to(fx, t.dan)] == ["waiting", "seat_offered"]
    t.sound()
    assert t.error(t.dan, {"type": "sit", "seat": 1, "buy_in": 100}, T0 + 2) is None
    assert t.error(t.cat, {"type": "wait"}, T0 + 2) == "buy_in"    # nor may she join again
    # When nobody on the list can buy in any more, the freed seat is simply free.
    t.say(t.eve, {"type": "wait"}, T0 + 3)
    assert t.error(t.eve, {"type": "sit", "table": other.id, "seat": 1,
                           "buy_in": t.eve.bankroll - (minimum - 1)}, T0 + 3) is None
    fx = t.step(StandUp(0), T0 + 4)
    assert t.room.offers == [] and t.room.waiting == []
    assert sent_to(fx, t.eve)[-1]["reason"] == "bankroll"
    assert t.error(t.bob, {"type": "sit", "seat": 0, "buy_in": 100}, T0 + 5) is None
    t.sound()


def test_two_seats_freed_together_are_held_for_the_first_two_at_once():
    t = Room()
    for p in (t.cat, t.dan, t.eve):
        t.say(p, {"type": "wait"})
    t.step(StandUp(0), T0)                              # ann leaves: cat's seat
    fx = t.step(StandUp(1), T0 + 1)                     # bob too: dan's, at once
    assert t.room.offers == [{"player": t.cat.id, "until": T0 + OFFER},
                             {"player": t.dan.id, "until": T0 + 1 + OFFER}]
    assert sent_to(fx, t.dan)[-1] == {"type": "seat_offered", "table": t.room.id, "seat": 1,
                                      "until_ms": int((T0 + 1 + OFFER) * 1000),
                                      "seconds": OFFER}
    assert fx.wake[t.room.id] == T0 + OFFER             # the first to run out
    # Both free seats are held: eve, third in line, and newcomers wait.
    assert t.error(t.eve, {"type": "sit", "seat": 0, "buy_in": 100}, T0 + 2) == "seat_reserved"
    # An offered player takes either free seat: dan takes the one suggested to cat.
    assert t.error(t.dan, {"type": "sit", "seat": 0, "buy_in": 100}, T0 + 2) is None
    assert t.room.offers == [{"player": t.cat.id, "until": T0 + OFFER}]
    assert t.room.waiting == [t.cat.id, t.eve.id]
    t.sound()
    # cat lets hers run out: the seat left passes to eve.
    fx = t.tick(T0 + OFFER)
    assert t.room.offers == [{"player": t.eve.id, "until": T0 + 2 * OFFER}]
    assert [m["seat"] for m in sent_to(fx, t.eve) if m["type"] == "seat_offered"] == [1]
    t.sound()
    # A journal written before several offers withdrew its one offer with player null.
    again = t.replayed()
    waiting.apply_entry(again, {"k": "offer", "t": t.room.id, "player": None})
    assert again.tables[t.room.id].offers == [] and again.tables[t.room.id].waiting == [t.eve.id]
