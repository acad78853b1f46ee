"""The table flow without sockets: what each change does to the root, and the effects it
returns (journal entries, versioned events with who may see them, messages, wake-ups);
then the one commit that carries effects out, and the transport's part."""

from __future__ import annotations

import random
from types import SimpleNamespace

import orjson
import pytest

from game.cards import DECK
from game.events import Clock, HoleCards, Mucked, Presence, Seated, TimeBank, TimedOut
from game.table import replace as replace_value
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Raise, SitDown, SitIn,
                        SitOut, StandUp, StartHand, TopUp, can_start_hand, legal_actions)
from persistence.layout import check_root, root_from_json, root_to_json
from server import config, handlers, lobby, play, recovery
from server import timers as timing
from server.effects import Effects, commit
from server.fanout import Fanout
from server.root import TableConfig, add_player, add_table, new_root, total_chips
from test_server_helpers import messages

HEADS_UP = TableConfig(seats=2, small_blind=1, big_blind=2, ante=0, min_buy_in=40,
                       max_buy_in=200)
T0 = 1_795_000_000.0


def shuffled(seed=42):
    rng = random.Random(seed)

    def deck():
        cards = list(DECK)
        rng.shuffle(cards)
        return tuple(cards)
    return deck


def two_players():
    root = new_root()
    room = add_table(root, "hu", HEADS_UP)
    ann, bob = add_player(root, "ann"), add_player(root, "bob")
    play.step(root, room, SitDown(0, ann.id, 100, ann.name), T0)
    fx = play.step(root, room, SitDown(1, bob.id, 150, bob.name), T0)
    return root, room, ann, bob, fx


def deal(root, room, deck=None, now=T0):
    return play.step(root, room, StartHand(deck or shuffled()()), now)


def round_trip(root):
    data = orjson.loads(orjson.dumps(root_to_json(root)))
    again = root_from_json(data)
    assert root_to_json(again) == data
    return again


# ---------------------------------------------------------------------------
# One step, its effects


def test_sitting_down_moves_chips_and_says_so_in_its_effects():
    root, room, ann, bob, fx = two_players()
    assert (ann.bankroll, bob.bankroll) == (9900, 9850)
    assert ann.seats == {room.id: 0} and bob.seats == {room.id: 1}
    assert total_chips(root) == root.chips_issued == 20_000
    # bob's step: journaled, one versioned event, his bankroll, and the next hand's time.
    assert fx.journal == [{"k": "act", "t": room.id, "at": T0,
                           "a": {"type": "sit_down", "seat": 1, "player": bob.id,
                                 "stack": 150, "name": "bob"}}]
    assert fx.events() == [(room.id, 3, Seated(1, bob.id, "bob", 150)),
                           (room.id, 4, TimeBank(1, int(config.settings.time_bank * 1000)))]
    assert fx.sent("send") == [(bob.id, {"type": "bankroll", "bankroll": 9850})]
    assert room.next_hand_at == T0 + config.settings.hand_pause
    assert fx.wake == {room.id: room.next_hand_at}


def test_a_deal_tags_hole_cards_for_their_player_and_starts_a_clock():
    root, room, ann, bob, _ = two_players()
    fx = deal(root, room)
    holes = [item for item in fx.out if item[0] == "event" and type(item[3]) is HoleCards]
    assert sorted((e.seat, only) for _, _, _, e, only in holes) == [(0, ann.id), (1, bob.id)]
    assert all(e.player == only for _, _, _, e, only in holes)
    public = [item for item in fx.out if item[0] == "event" and type(item[3]) is not HoleCards]
    assert all(only is None for *_, only in public)
    versions = [v for _, v, _ in fx.events()]
    assert versions == list(range(versions[0], versions[0] + len(versions)))   # one each
    clock = next(e for _, _, e in fx.events() if type(e) is Clock)
    seat = room.game.hand.to_act
    assert clock.seat == seat and clock.deadline_ms == int(
        (T0 + config.settings.turn_seconds) * 1000)
    turn = fx.sent("send")[-1]
    assert turn[0] == room.game.seats[seat].player and turn[1]["type"] == "turn"
    assert turn[1]["legal"] == legal_actions(room.game).to_json()
    assert fx.wake == {room.id: room.clock.deadline}


def test_an_illegal_action_changes_nothing_and_returns_nothing():
    root, room, ann, bob, _ = two_players()
    deal(root, room)
    before = orjson.dumps(root_to_json(root))
    to_act = room.game.hand.to_act
    with pytest.raises(IllegalAction):
        play.player_acts(root, room, 1 - to_act, Call(1 - to_act), T0)
    with pytest.raises(IllegalAction):
        play.player_acts(root, room, to_act, Raise(to_act, 3), T0)
    assert orjson.dumps(root_to_json(root)) == before


def test_many_hands_keep_every_invariant_and_round_trip():
    root, room, ann, bob, _ = two_players()
    rng, deck = random.Random(7), shuffled(3)
    for step in range(400):
        if not room.game.hand_running:
            if room.game.seats[0] is None or room.game.seats[1] is None:
                break
            for i, s in enumerate(room.game.seats):   # busted players rebuy
                if s.sitting_out:
                    play.step(root, room, TopUp(i, 100), T0)
                    play.step(root, room, SitIn(i), T0)
                    assert root.players[s.player].bankroll >= 0
            if can_start_hand(room.game):
                deal(root, room, deck())
            continue
        legal = legal_actions(room.game)
        verb = rng.choice(legal.actions)
        if verb in ("bet", "raise"):
            action = (Bet if verb == "bet" else Raise)(legal.seat, legal.min_to)
        else:
            action = {"fold": Fold, "check": Check, "call": Call, "all_in": AllIn}[verb](legal.seat)
        play.player_acts(root, room, legal.seat, action, T0)
        assert check_root(root, replay=True) == []
        if step % 25 == 0:
            root = round_trip(root)
            room = root.tables[room.id]
    assert room.hands_played > 10
    assert len(room.finished) == min(room.hands_played, 20)
    assert check_root(round_trip(root), replay=True) == []


def test_the_showdown_is_settled_at_once_and_a_losing_hand_stays_hidden():
    root, room, ann, bob, _ = two_players()
    # Seat 0 has the button heads-up; cards go seat 1, seat 0, seat 1, seat 0, then the board.
    deck = ["As", "2c", "Ad", "7h", "Kc", "Qd", "9s", "5h", "3d"]
    deck += [c for c in DECK if c not in deck]
    deal(root, room, tuple(deck))
    events = []
    events += play.player_acts(root, room, 0, Call(0), T0).events()
    while room.game.hand_running:
        legal = legal_actions(room.game)
        events += play.player_acts(root, room, legal.seat, Check(legal.seat), T0).events()
    assert Mucked(0) in [e for _, _, e in events]
    spectator = orjson.dumps(play.table_message(root, room, None)).decode()
    assert "2c" not in spectator and "7h" not in spectator and "As" in spectator
    summary = lobby.recent_hands(room)[0]
    assert [s["seat"] for s in summary["shown"]] == [1]
    assert summary["winners"] == [{"seat": 1, "name": "bob", "amount": 4}]
    assert "2c" not in orjson.dumps(summary).decode()


# ---------------------------------------------------------------------------
# Time


def test_the_clock_spends_the_bank_then_times_out_and_two_expiries_sit_out():
    root, room, ann, bob, _ = two_players()
    deck = shuffled()
    deal(root, room, deck())
    clock = room.clock
    seat = room.game.hand.to_act
    clock.bank[seat] = 30.0
    ran_out = clock.deadline
    fx = play.tick(root, room, ran_out + 0.01, deck)   # the turn ran out: the bank starts
    assert clock.bank_started == ran_out and clock.deadline == ran_out + 30.0
    assert [e for _, _, e in fx.events()] == [Clock(seat, int(clock.deadline * 1000), 0)]
    assert fx.sent("send")[0][1]["type"] == "turn" and fx.journal == []
    fx = play.tick(root, room, clock.deadline + 0.01, deck)   # the bank ran out: timed out
    assert TimedOut(seat) in [e for _, _, e in fx.events()]
    assert fx.journal[0]["a"] == {"type": "timeout", "seat": seat}
    assert clock.expiries[seat] == 1 and clock.bank[seat] == 0
    # Play on until that seat's clock runs out a second time in a row.
    for _ in range(40):
        if room.game.hand_running and room.game.hand.to_act == seat:
            play.tick(root, room, room.clock.deadline + 0.01, deck)
            break
        if not room.game.hand_running:
            deal(root, room, deck())
        else:
            legal = legal_actions(room.game)
            play.player_acts(root, room, legal.seat,
                             Check(legal.seat) if "check" in legal.actions else Call(legal.seat),
                             T0)
    assert room.game.seats[seat].sitting_out
    assert check_root(root) == []


def test_the_next_hand_is_dealt_when_its_time_comes():
    root, room, ann, bob, _ = two_players()
    at = room.next_hand_at
    fx = play.tick(root, room, at - 0.01, shuffled())
    assert not room.game.hand_running and fx.journal == [] and fx.wake == {room.id: at}
    fx = play.tick(root, room, at, shuffled())
    assert room.game.hand_running and fx.journal[0]["a"]["type"] == "start_hand"
    assert fx.wake == {room.id: room.clock.deadline}


def test_the_timers_tick_only_the_tables_whose_time_has_come():
    timers = timing.Timers()
    rang = []
    timers.alarm, timers.looks_at = (lambda: rang.append(1)), 100.0
    timing.schedule(timers, "t1", 50.0)
    timing.schedule(timers, "t2", 200.0)
    assert rang == [1]                                # t1 is due before the clock looks
    timing.schedule(timers, "t1", 60.0)               # later than its live entry: kept
    assert timing.due_now(timers, 49.0) == [] and timing.next_at(timers) == 50.0
    timing.schedule(timers, "t2", 40.0)               # sooner: replaces the entry at 200
    assert timing.due_now(timers, 55.0) == ["t2", "t1"]
    assert timing.due_now(timers, 500.0) == []        # the stale entry at 200 ticks nothing
    timing.schedule(timers, "t3", 70.0)
    timing.schedule(timers, "t3", None)               # nothing to wait for any more
    assert timing.due_now(timers, 500.0) == [] and timing.next_at(timers) is None


def test_a_player_sitting_out_long_enough_is_stood_up_with_the_chips():
    root, room, ann, bob, _ = two_players()
    play.step(root, room, SitOut(0), T0)
    since = room.sat_out_since[0]
    assert since == T0 and play.due(room) == T0 + config.settings.sit_out_remove
    play.tick(root, room, since + 1.0, shuffled())
    assert room.game.seats[0] is not None
    fx = play.tick(root, room, since + config.settings.sit_out_remove, shuffled())
    assert room.game.seats[0] is None and ann.bankroll == 10_000 and ann.seats == {}
    assert (ann.id, {"type": "bankroll", "bankroll": 10_000}) in fx.sent("send")


def test_a_recovered_turn_gets_a_fresh_clock_and_keeps_its_bank():
    root, room, ann, bob, _ = two_players()
    deal(root, room)
    clock = room.clock
    seat = clock.seat
    clock.bank_started, clock.bank[seat] = clock.deadline - 5, 30.0   # in its bank when it died
    later = clock.deadline + 3600.0                                   # restarted an hour later
    assert play.restart_clocks(root, later) == 1
    assert clock.deadline == later + config.settings.turn_seconds
    assert clock.bank_started is None and clock.bank[seat] == 30.0
    fx = play.tick(root, room, later, shuffled())
    assert room.game.hand.to_act == seat and fx.journal == []


# ---------------------------------------------------------------------------
# The invariants a snapshot is checked against


def test_check_root_finds_broken_chips_cards_tokens_and_replays():
    root, room, ann, bob, _ = two_players()
    deal(root, room)
    assert check_root(root) == []
    data = root_to_json(root)
    broken = orjson.loads(orjson.dumps(data))
    broken["players"][ann.id]["bankroll"] += 1
    assert any("chips" in p for p in check_root(broken))
    broken = orjson.loads(orjson.dumps(data))
    hand = broken["tables"][room.id]["game"]["hand"]
    hand["deck"][0] = broken["tables"][room.id]["game"]["seats"][0]["cards"][0]
    assert any("distinct" in p for p in check_root(broken))
    broken = orjson.loads(orjson.dumps(data))
    broken["tokens"]["forged"] = ann.id
    assert any("token" in p for p in check_root(broken))
    broken = orjson.loads(orjson.dumps(data))
    broken["tables"][room.id]["hand_actions"].pop()
    assert check_root(broken) == []     # replaying is left to --verify: it costs the most
    assert any("replay" in p for p in check_root(broken, replay=True))
    assert check_root({"tables": 5}) != []


# ---------------------------------------------------------------------------
# The transport's part: frames per viewer, the history, presence


def conn(cid, player=None):
    return SimpleNamespace(id=cid, player=player, watching=set())


def frames(out, c):
    """What ``c`` is sent, parsed (a batch of events as one message per event)."""
    return [m for to, item in out if to is c for m in messages(conns_payload(item))]


def conns_payload(item):
    from server import conn as conns
    return conns.unframe(item.data) if type(item) is conns.Raw else item


def test_hole_cards_reach_their_player_whole_and_everyone_else_redacted_with_the_same_v():
    root, room, ann, bob, _ = two_players()
    fan = Fanout()
    a, b, rail = conn(1), conn(2), conn(3)
    for c, p in ((a, ann.id), (b, bob.id), (rail, None)):
        fan.add(c)
        if p:
            fan.bind(c, p)
        fan.watch(c, room.id)
    out = fan.prepare(deal(root, room))
    seen = {c.id: [m for m in frames(out, c) if m["type"] == "event"
                   and m["event"]["type"] == "hole_cards"] for c in (a, b, rail)}
    assert [m["v"] for m in seen[1]] == [m["v"] for m in seen[2]] == [m["v"] for m in seen[3]]
    mine = {m["event"]["seat"]: m["event"]["cards"] for m in seen[1]}
    assert mine[0] == list(room.game.seats[0].cards) and mine[1] is None
    assert all(m["event"]["cards"] is None and m["event"]["player"] is None for m in seen[3])
    turns = [m for m in frames(out, a) + frames(out, b) if m["type"] == "turn"]
    assert len(turns) == 1                      # only the player to act


def test_a_reconnect_gets_what_it_missed_from_the_history_or_a_full_table():
    root, room, ann, bob, _ = two_players()
    fan = Fanout(keep=8)
    commit_to = SimpleNamespace(journal=SimpleNamespace(append=lambda e: None,
                                                        when_durable=lambda then: then()),
                                transport=fan, timers=SimpleNamespace(schedule=lambda *a: None))
    commit(deal(root, room), commit_to)
    seen = room.v - 3
    back = conn(5)
    fan.add(back)
    hello = handlers.dispatch(root, fan, back, orjson.dumps(
        {"type": "hello", "protocol": 2, "token": ann.token, "tables": {room.id: seen}}), T0)
    out = fan.prepare(hello)
    got = frames(out, back)
    assert got[0]["type"] == "welcome"
    events = [m for m in got if m["type"] == "event"]
    # Her coming back is itself an event (presence), after the three she missed.
    assert [m["v"] for m in events] == [seen + 1, seen + 2, seen + 3, seen + 4]
    assert events[-1]["event"] == {"type": "presence", "seat": 0, "connected": True}
    # Too far back for the 8 kept: a full table instead, at the current version.
    again = conn(6)
    fan.add(again)
    fx = handlers.dispatch(root, fan, again, orjson.dumps(
        {"type": "hello", "protocol": 2, "token": bob.token, "tables": {room.id: 1}}), T0)
    got = frames(fan.prepare(fx), again)
    assert [m["type"] for m in got][:2] == ["welcome", "table"] and got[1]["v"] == room.v
    # After a recovery the versions jump: any version a client holds gets a full table.
    recovery.fresh_versions(root)
    late = conn(7)
    fan.add(late)
    fan.prepare(handlers.dispatch(root, fan, late, orjson.dumps(
        {"type": "hello", "protocol": 2, "token": bob.token}), T0))
    fx = handlers.dispatch(root, fan, late, orjson.dumps(
        {"type": "watch", "table": room.id, "v": room.v - recovery.VERSION_JUMP}), T0)
    got = frames(fan.prepare(fx), late)
    assert got[0]["type"] == "table" and got[0]["v"] == room.v


def test_presence_is_a_count_of_sockets():
    root, room, ann, bob, _ = two_players()
    fan = Fanout()
    first, second = conn(1), conn(2)
    for c in (first, second):
        fan.add(c)
    fx = handlers.dispatch(root, fan, first, orjson.dumps({"type": "hello", "protocol": 2, "token": ann.token}),
                           T0)
    assert [e for _, _, e in fx.events()] == [Presence(0, True)]
    fx = handlers.dispatch(root, fan, second, orjson.dumps({"type": "hello", "protocol": 2, "token": ann.token}),
                           T0)
    assert fx.events() == []                              # a second tab
    assert handlers.goodbye(root, fan, first, T0).events() == []   # one tab closed
    fx = handlers.goodbye(root, fan, second, T0 + 1)
    assert [e for _, _, e in fx.events()] == [Presence(0, False)]
    assert fan.gone_since == {ann.id: T0 + 1} and not fan.online(ann.id)


def test_players_long_gone_without_a_seat_are_forgotten_and_chips_still_add_up():
    root, room, ann, bob, _ = two_players()
    cid, dee = add_player(root, "cid"), add_player(root, "dee")
    cid.bankroll += 5                         # won something: kept for player_ttl
    root.chips_issued += 5
    fan = Fanout()
    dee_conn = conn(99)
    fan.add(dee_conn)
    fan.bind(dee_conn, dee.id)                               # connected: kept
    ttl = config.settings.player_ttl
    assert handlers.forget_gone_players(root, fan, 1000.0).journal == []   # gone from now
    assert handlers.forget_gone_players(root, fan, 1000.0 + ttl - 1).journal == []
    fx = handlers.forget_gone_players(root, fan, 1000.0 + ttl)
    assert fx.journal == [{"k": "forget", "id": cid.id}]
    assert set(root.players) == {ann.id, bob.id, dee.id}    # seated or connected: kept
    assert cid.token not in root.tokens and check_root(root) == []
    # The journal entry replays the same removal.
    again = round_trip(root)
    again_cid = add_player(again, "cid2")
    recovery.apply_entry(again, {"k": "forget", "id": again_cid.id})
    assert again_cid.id not in again.players and check_root(again) == []


def test_a_refused_message_changes_nothing_and_is_answered_with_its_reason():
    root, room, ann, bob, _ = two_players()
    deal(root, room)
    fan = Fanout()
    c = conn(1)
    fan.add(c)
    fan.bind(c, ann.id)
    def state():        # all but the error counters
        return orjson.dumps({**root_to_json(root), "counters": None})
    before = state()
    for msg, code in [
            ({"type": "act", "table": room.id, "action": "raise", "amount": 1}, "illegal"),
            ({"type": "act", "table": "t99", "action": "fold"}, "no_table"),
            ({"type": "sit", "table": room.id, "seat": 1, "buy_in": 100}, "seat_taken"),
            ({"type": "top_up", "table": room.id, "amount": 10 ** 9}, "buy_in"),
            ({"type": "hello", "protocol": 2, "name": "again"}, "bad_message"),
            ({"type": "act", "table": room.id, "action": "fold", "rid": 7, "x": 1},
             "bad_message")]:
        fx = handlers.dispatch(root, fan, c, orjson.dumps(msg), T0)
        assert fx.journal == [] and fx.events() == []
        (_, reply), = fx.sent("reply")
        assert reply["type"] == "error" and reply["code"] == code, (msg, reply)
    assert state() == before
    assert root.counters["errors"]["bad_message"] == 2


# ---------------------------------------------------------------------------
# The commit


def test_commit_journals_first_and_sends_only_once_it_is_durable_in_order():
    log = []
    held = []
    journal = SimpleNamespace(append=lambda e: log.append(("journal", e["k"])),
                              when_durable=held.append)
    sent = []
    transport = SimpleNamespace(prepare=lambda fx: [m for _, m in fx.sent("send")] or None,
                                deliver=sent.extend)
    woken = {}
    ports = SimpleNamespace(journal=journal, transport=transport,
                            timers=SimpleNamespace(schedule=woken.__setitem__))
    first = Effects(journal=[{"k": "act"}], wake={"t1": 5.0})
    first.send("p1", "one")
    second = Effects()
    second.send("p1", "two")
    commit(first, ports)
    commit(second, ports)
    assert log == [("journal", "act")] and sent == [] and woken == {"t1": 5.0}
    for then in held:            # the fsync returns: both go, in order
        then()
    assert sent == ["one", "two"]
    commit(Effects(), ports)     # nothing to send: nothing waits
    assert len(held) == 2


def test_guests_who_only_looked_are_forgotten_sooner():
    root, room, ann, bob, _ = two_players()
    guest, loser = add_player(root, "guest"), add_player(root, "loser")
    loser.bankroll -= 1                     # won or lost something: a week, not an hour
    root.chips_issued -= 1
    fan = Fanout()
    s = config.settings
    handlers.forget_gone_players(root, fan, T0)
    fx = handlers.forget_gone_players(root, fan, T0 + s.guest_ttl)
    assert fx.journal == [{"k": "forget", "id": guest.id}]
    assert loser.id in root.players and check_root(root) == []
    assert handlers.forget_gone_players(root, fan, T0 + s.player_ttl).journal == [
        {"k": "forget", "id": loser.id}]


def test_while_paused_changes_are_refused_and_reads_are_served():
    root, room, ann, bob, _ = two_players()
    fan = Fanout()
    c = conn(1)
    fan.add(c)
    fan.bind(c, ann.id)
    why = "the disk is full"
    for msg in ({"type": "sit_out", "table": room.id}, {"type": "chat", "table": room.id,
                                                        "text": "hi"}):
        fx = handlers.dispatch(root, fan, c, orjson.dumps(msg), T0, paused=why)
        (_, reply), = fx.sent("reply")
        assert reply["code"] == "paused" and why in reply["message"] and fx.journal == []
    other = conn(2)
    fan.add(other)
    fx = handlers.dispatch(root, fan, other, orjson.dumps({"type": "hello", "protocol": 2, "name": "new"}),
                           T0, paused=why)
    assert fx.sent("reply")[0][1]["code"] == "paused" and "p3" not in root.players
    fx = handlers.dispatch(root, fan, other, orjson.dumps({"type": "hello", "protocol": 2, "token": bob.token}),
                           T0, paused=why)
    assert fx.sent("reply")[0][1]["type"] == "welcome"
    for msg in ({"type": "watch", "table": room.id}, {"type": "tables"}, {"type": "ping"}):
        fx = handlers.dispatch(root, fan, other, orjson.dumps(msg), T0, paused=why)
        assert fx.journal == [] and "error" not in orjson.dumps(fx.out).decode()


def test_a_time_bank_refills_every_few_hands_dealt_up_to_its_cap():
    s = config.settings
    root, room, ann, bob, _ = two_players()
    room.clock.bank = [s.time_bank_max - 1.0, 0.0]
    deck = shuffled(5)
    refills = []
    for hand in range(1, 2 * s.time_bank_every + 1):
        deal(root, room, deck())
        while room.game.hand_running:
            legal = legal_actions(room.game)
            fx = play.player_acts(root, room, legal.seat, Fold(legal.seat), T0)
            refills += [(hand, e) for _, _, e in fx.events() if type(e) is TimeBank]
        for i, seat in enumerate(room.game.seats):     # keep both dealt in
            if seat.stack < 10:
                play.step(root, room, TopUp(i, 50), T0)
    every = s.time_bank_every
    assert refills == [(every, TimeBank(0, int(s.time_bank_max * 1000))),
                       (every, TimeBank(1, int(s.time_bank_refill * 1000))),
                       (2 * every, TimeBank(1, int(2 * s.time_bank_refill * 1000)))]
    seats = play.table_message(root, room, None)["view"]["seats"]
    assert [seat["time_bank_ms"] for seat in seats] == [int(s.time_bank_max * 1000),
                                                         int(2 * s.time_bank_refill * 1000)]


def test_an_action_after_its_time_is_refused_whatever_the_clock_greenlets_lag():
    root, room, ann, bob, _ = two_players()
    deal(root, room)
    fan = Fanout()
    c = conn(1)
    fan.add(c)
    seat = room.game.hand.to_act
    fan.bind(c, room.game.seats[seat].player)
    clock = room.clock
    clock.bank[seat] = 10.0
    late = clock.deadline + 10.0 + 0.5          # past the turn and the bank; no tick ran
    fx = handlers.dispatch(root, fan, c, orjson.dumps(
        {"type": "act", "table": room.id, "action": "call"}), late)
    assert fx.sent("reply")[0][1]["code"] == "illegal"       # it was timed out first
    assert {"type": "timeout", "seat": seat} in [e["a"] for e in fx.journal]
    assert TimedOut(seat) in [e for _, _, e in fx.events()]
    # Inside the bank: accepted, and the bank is spent from when the turn ran out.
    while room.game.hand_running:
        play.step(root, room, Fold(room.game.hand.to_act), late)
    deal(root, room, now=late)
    seat = room.game.hand.to_act
    c = conn(2)
    fan.add(c)
    fan.bind(c, room.game.seats[seat].player)
    clock.bank[seat], ran_out = 10.0, clock.deadline
    fx = handlers.dispatch(root, fan, c, orjson.dumps(
        {"type": "act", "table": room.id, "action": "fold"}), ran_out + 4.0)
    assert "error" not in orjson.dumps(fx.out).decode()
    assert clock.bank[seat] == pytest.approx(6.0)


def test_house_rules_come_from_the_table_config_and_reach_the_rules():
    name, cfg = lobby.table_config({"name": "Deep", "seats": 6, "small_blind": 1,
                                    "big_blind": 2, "ante": 2, "ante_kind": "big_blind",
                                    "straddle": 4, "run_it_twice": True})
    room = add_table(new_root(), name, cfg)
    game = room.game
    assert (game.ante_kind, game.straddle, game.run_it_twice) == ("big_blind", 4, True)
    assert (game.min_buy_in, game.max_buy_in) == (cfg.min_buy_in, cfg.max_buy_in)
    back = root_from_json(orjson.loads(orjson.dumps(root_to_json(room_root(room)))))
    assert back.tables[room.id].config == cfg
    for bad in ({"straddle": 3}, {"ante_kind": "each_dead"}, {"run_it_twice": 1}):
        with pytest.raises(ValueError):
            lobby.table_config({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2,
                                **bad})


def room_root(room):
    root = new_root()
    root.tables[room.id] = room
    root.next_table = 2
    return root


def test_a_top_up_from_zero_needs_the_minimum_and_run_twice_is_the_tables_rule():
    root, room, ann, bob, _ = two_players()
    fan = Fanout()
    c = conn(1)
    fan.add(c)
    fan.bind(c, ann.id)
    seat = room.game.seats[0]                                   # ann busts (by hand)
    room.game = replace_value(room.game, seats=(replace_value(seat, stack=0),
                                                room.game.seats[1]))
    ann.bankroll += seat.stack                                  # chips still add up
    fx = handlers.dispatch(root, fan, c, orjson.dumps(
        {"type": "top_up", "table": room.id, "amount": HEADS_UP.min_buy_in - 1}), T0)
    assert fx.sent("reply")[0][1]["code"] == "buy_in" and "minimum" in \
        fx.sent("reply")[0][1]["message"]
    fx = handlers.dispatch(root, fan, c, orjson.dumps(
        {"type": "run_twice", "table": room.id, "agree": True}), T0)
    assert fx.sent("reply")[0][1]["code"] == "illegal"           # not at this table
    fx = handlers.dispatch(root, fan, c, orjson.dumps(
        {"type": "sit_in", "table": room.id, "post": "yes"}), T0)
    assert fx.sent("reply")[0][1]["code"] == "bad_message"


def test_one_action_is_one_frame_per_viewer_and_a_turn_for_the_next_to_act():
    root = new_root()
    room = add_table(root, "six", TableConfig(6, 1, 2, 0, 40, 200))
    fan = Fanout()
    players = [add_player(root, f"p{i}") for i in range(4)]
    sockets = []
    for i, p in enumerate(players):
        play.step(root, room, SitDown(i, p.id, 100, p.name), T0)
        c = conn(i + 1)
        fan.add(c)
        fan.bind(c, p.id)
        fan.watch(c, room.id)
        sockets.append(c)
    rail = conn(9)
    fan.add(rail)
    fan.watch(rail, room.id)
    out = fan.prepare(deal(root, room))
    for c in sockets + [rail]:        # a deal: one batch each (hole cards differ by viewer)
        batches = [item for to, item in out if to is c and type(item) is not bytes]
        assert len(batches) == 1
    seat = room.game.hand.to_act
    out = fan.prepare(play.player_acts(root, room, seat, Call(seat), T0))
    nxt = room.game.hand.to_act
    for c in sockets + [rail]:
        sent = [orjson.loads(conns_payload(item))["type"] for to, item in out if to is c]
        assert sent == (["events", "turn"] if c is sockets[nxt] else ["events"]), (c.id, sent)
    assert len({id(item) for to, item in out if to is not sockets[nxt]}) == 1   # encoded once


def test_two_players_are_never_both_alice_even_after_a_restart():
    """A name another player has gets a number: in the welcome, the journal, the image."""
    root, fan = new_root(), Fanout()

    def hello(cid, name):
        c = conn(cid)
        c.address = "127.0.0.1"
        fan.add(c)
        fx = handlers.dispatch(root, fan, c, orjson.dumps(
            {"type": "hello", "protocol": 2, "name": name}), T0)
        welcome = next(m for kind, _, m in fx.out if kind == "reply")
        assert welcome["type"] == "welcome", welcome
        return welcome["name"], fx.journal
    first, _ = hello(1, "Alice")
    second, journal = hello(2, "alice")
    assert (first, second) == ("Alice", "alice 2")
    assert journal[-1]["name"] == "alice 2"
    again = round_trip(root)
    root = again
    assert hello(3, "ALICE")[0] == "ALICE 3"
    assert hello(4, "Bob")[0] == "Bob"


def test_a_player_whose_choices_change_on_their_turn_is_sent_them_again():
    """The only other player with chips stands up while it is ann's turn on the flop:
    ann may no longer bet (nobody could call), and she is told so at once."""
    root = new_root()
    room = add_table(root, "three", TableConfig(seats=3, small_blind=1, big_blind=2, ante=0,
                                                min_buy_in=10, max_buy_in=200))
    players = [add_player(root, n) for n in ("ann", "bob", "cat")]
    for i, (p, chips) in enumerate(zip(players, (100, 10, 100))):
        play.step(root, room, SitDown(i, p.id, chips, p.name), T0)
    deal(root, room)
    while room.game.hand.street == "preflop":     # bob all in, the others call
        legal = legal_actions(room.game)
        action = AllIn(legal.seat) if legal.seat == 1 else (
            Call(legal.seat) if "call" in legal.actions else Check(legal.seat))
        play.step(root, room, action, T0)
    legal = legal_actions(room.game)
    assert "bet" in legal.actions and legal.seat in (0, 2)
    other = 2 if legal.seat == 0 else 0
    fx = play.step(root, room, StandUp(other), T0)
    turns = [m for _, m in fx.sent("send") if m["type"] == "turn"]
    assert [t["seat"] for t in turns] == [legal.seat]
    assert "bet" not in turns[0]["legal"]["actions"] and "check" in turns[0]["legal"]["actions"]
