"""Tournaments in the root (server.tournaments): buy-ins move between bankrolls and the
prize pool, the chip invariant counts the pools, journal and image keep them."""

import orjson
import pytest

from game import tournament as rules
from persistence.layout import check_root, root_from_json, root_image, root_to_json
from server import recovery, tournaments
from server.root import STARTING_BANKROLL, add_player, new_root, total_chips

NOW = 1_795_000_000.0
STRUCTURE = rules.BlindStructure((rules.Level(10, 20), rules.Level(20, 40, 40)), seconds=5)


def a_root(players=4):
    """A root with a 6-seat sit-and-go (buy-in 100) and ``players`` players; the journal
    entries that made it, in order."""
    root, journal = new_root(), []
    for i in range(players):
        p = add_player(root, f"p{i}")
        journal.append({"k": "player", "id": p.id, "name": p.name, "token": p.token,
                        "bankroll": p.bankroll})
    tr, fx = tournaments.create(root, "SNG 6", rules.sit_and_go(6, 100, 1500, STRUCTURE),
                                "p1", NOW)
    journal += fx.journal
    return root, tr, journal


def test_buy_in_leaves_the_bankroll_for_the_pool_and_comes_back_on_unregister():
    root, tr, journal = a_root()
    assert tr.id == "T1" and tr.pool == 0
    for pid in ("p1", "p2", "p3"):
        journal += tournaments.register(root, tr, pid).journal
    assert tr.t.registered == ("p1", "p2", "p3") and tr.pool == 300
    assert root.players["p1"].bankroll == STARTING_BANKROLL - 100
    assert total_chips(root) == root.chips_issued and check_root(root) == []
    journal += tournaments.unregister(root, tr, "p2").journal
    assert root.players["p2"].bankroll == STARTING_BANKROLL and tr.pool == 200
    assert tr.t.registered == ("p1", "p3")
    assert total_chips(root) == root.chips_issued and check_root(root) == []
    assert [e["k"] for e in journal[-4:]] == ["register", "register", "register", "unregister"]


def test_refused_registrations_change_nothing():
    root, tr, _ = a_root()
    tournaments.register(root, tr, "p1")
    before = root_to_json(root)
    # The reasons speak to the player, not of their id.
    with pytest.raises(rules.TournamentError, match=f"^you are already registered for {tr.name}$"):
        tournaments.register(root, tr, "p1")           # twice
    with pytest.raises(rules.TournamentError, match=f"^you are not registered for {tr.name}$"):
        tournaments.unregister(root, tr, "p2")         # not registered
    root.players["p3"].bankroll = 99
    root.chips_issued -= STARTING_BANKROLL - 99
    before = root_to_json(root)
    with pytest.raises(rules.TournamentError):
        tournaments.register(root, tr, "p3")           # cannot pay the buy-in
    assert root_to_json(root) == before


def test_the_chip_check_counts_pools_and_finds_a_wrong_one():
    root, tr, _ = a_root()
    tournaments.register(root, tr, "p1")
    tr.pool += 1
    root.chips_issued += 1          # the totals agree, but the pool is not the buy-ins
    assert any("tournament T1: pool 101" in p for p in check_root(root))
    tr.pool -= 1
    assert any("chips:" in p for p in check_root(root))
    root.chips_issued -= 1
    assert check_root(root) == []


def test_the_journal_rebuilds_the_same_root():
    root, tr, journal = a_root()
    for pid in ("p1", "p2", "p3"):
        journal += tournaments.register(root, tr, pid).journal
    journal += tournaments.unregister(root, tr, "p1").journal
    again = new_root()
    for entry in orjson.loads(orjson.dumps(journal)):
        recovery.apply_entry(again, entry)
    assert root_to_json(again) == root_to_json(root)
    assert check_root(again) == []


def test_image_keeps_tournaments_and_older_formats_load():
    root, tr, _ = a_root()
    tournaments.register(root, tr, "p2")
    data = root_to_json(root)
    assert data["format"] >= 3 and data["tournaments"]["T1"]["pool"] == 100
    assert orjson.loads(orjson.dumps(root_image(root))) == data
    back = root_from_json(orjson.loads(orjson.dumps(data)))
    assert root_to_json(back) == data
    assert back.tournaments["T1"].t == tr.t and back.next_tournament == 2
    old = {k: v for k, v in root_to_json(new_root()).items()
           if k not in ("tournaments", "next_tournament", "shard", "transfers", "next_transfer")}
    old["format"] = 2
    loaded = root_from_json(old)
    assert loaded.tournaments == {} and loaded.next_tournament == 1


def test_a_started_tournament_round_trips_with_its_tables():
    root, tr, _ = a_root(players=6)
    for pid in list(root.players):
        tournaments.register(root, tr, pid)
    tr.t = rules.start(tr.t, NOW, sorted(tr.t.registered, reverse=True))
    data = orjson.loads(orjson.dumps(root_to_json(root)))
    assert root_from_json(data).tournaments["T1"].t == tr.t


def test_a_registered_player_long_gone_is_not_forgotten():
    from server import config, handlers
    from server.fanout import Fanout
    root, tr, _ = a_root(players=3)
    tournaments.register(root, tr, "p1")
    fan, ttl = Fanout(), max(config.settings.player_ttl, config.settings.guest_ttl)
    handlers.forget_gone_players(root, fan, NOW)
    fx = handlers.forget_gone_players(root, fan, NOW + ttl)
    assert sorted(e["id"] for e in fx.journal) == ["p2", "p3"]   # not registered: forgotten
    assert "p1" in root.players and check_root(root) == []


def test_state_message_before_and_during_play():
    root, tr, _ = a_root(players=6)
    for pid in ("p1", "p2", "p3"):
        tournaments.register(root, tr, pid)
    m = tournaments.state_message(tr, "p2", NOW)
    assert (m["status"], m["registered"], m["pool"], m["payouts"]) == \
        ("registering", 3, 300, [300])
    assert m["you"] == {"registered": True, "table": None, "place": None, "prize": None}
    assert tournaments.state_message(tr, "p4", NOW)["you"]["registered"] is False
    for pid in ("p4", "p5", "p6"):
        tournaments.register(root, tr, pid)
    tr.t = rules.start(tr.t, NOW, ["p6", "p5", "p4", "p3", "p2", "p1"])
    m = tournaments.state_message(tr, "p2", NOW + 7)     # 5-second levels: level 2
    assert (m["status"], m["level"], m["blinds"], m["on_break"]) == \
        ("running", 2, [20, 40, 40], False)
    assert m["time_to_next_level"] is None                 # the last level lasts
    assert m["players_left"] == 6 and m["average_stack"] == 1500
    assert m["payouts"] == list(rules.payouts(600, 6)) and sum(m["payouts"]) == 600
    assert m["you"]["table"] == 1 and m["you"]["place"] is None
    m = tournaments.state_message(tr, "p2", NOW + 2)
    assert (m["level"], m["time_to_next_level"]) == (1, 3)


def test_state_message_tells_a_player_out_their_place():
    import dataclasses
    root, _, _ = a_root(players=2)
    tr, _ = tournaments.create(root, "HU", rules.sit_and_go(2, 100, 1500, STRUCTURE), None, NOW)
    for pid in ("p1", "p2"):
        tournaments.register(root, tr, pid)
    tr.t = dataclasses.replace(rules.start(tr.t, NOW, ["p1", "p2"]),
                               results=(rules.Placed("p2", 2, 0),))
    m = tournaments.state_message(tr, "p2", NOW)
    assert m["you"] == {"registered": True, "table": None, "place": 2, "prize": 0}
    assert m["places"] == [{"player": "p2", "place": 2, "prize": 0}]
