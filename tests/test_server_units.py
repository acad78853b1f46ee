"""Deterministic tests of the server's pure parts: parsing, the root and its invariants,
the table flow without sockets, the lobby, the Origin rule and the rate limits."""

from __future__ import annotations

import doctest
import importlib
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.cards import DECK
from game.events import HoleCards, Mucked
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Raise, SitDown, SitIn,
                        SitOut, StandUp, StartHand, TopUp, legal_actions)
from server import conn as conns
from server import lobby, play, protocol
from server.app import origin_allowed
from server.history import History
from server.protocol import ProtocolError, parse
from server.root import (TableConfig, add_player, add_table, check_root, new_root,
                         root_from_json, root_to_json, total_chips)

HEADS_UP = TableConfig(seats=2, small_blind=1, big_blind=2, ante=0, min_buy_in=40,
                       max_buy_in=200)


# ---------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize("raw, code", [
    ("", "bad_json"), ("{", "bad_json"), (b"\xff", "bad_json"), ("[" * 10_000, "bad_json"),
    ('{"type": "ping", "type": "ping"}', "bad_json"), ("NaN", "bad_json"),
    ("[]", "bad_message"), ('"x"', "bad_message"), ("{}", "bad_message"),
    ('{"type": "nope"}', "unknown_type"), ('{"type": null}', "unknown_type"),
    ('{"type": "ping", "x": 1}', "bad_message"),
    ('{"type": "hello"}', "bad_message"),
    ('{"type": "hello", "name": "a", "token": "b"}', "bad_message"),
    ('{"type": "hello", "name": ""}', "bad_message"),
    ('{"type": "hello", "name": "' + "a" * 21 + '"}', "bad_message"),
    ('{"type": "hello", "name": "<img src=x>"}', "bad_message"),
    ('{"type": "sit", "table": "t1", "seat": true, "buy_in": 100}', "bad_message"),
    ('{"type": "sit", "table": "t1", "seat": 0, "buy_in": 1e2}', "bad_message"),
    ('{"type": "sit", "table": "../x", "seat": 0, "buy_in": 100}', "bad_message"),
    ('{"type": "act", "table": "t1", "action": "muck"}', "bad_message"),
    ('{"type": "act", "table": "t1", "action": "raise"}', "bad_message"),
    ('{"type": "act", "table": "t1", "action": "raise", "amount": 1e309}', "bad_json"),
    ('{"type": "chat", "table": "t1", "text": ""}', "chat"),
    ('{"type": "chat", "table": "t1", "text": "\\u0000\\u0007"}', "chat"),
    ('{"type": "chat", "table": "t1", "text": "' + "x" * 201 + '"}', "chat"),
    ('{"type": "watch", "table": "t1", "v": 1.0}', "bad_message"),
])
def test_bad_frames_get_their_code(raw, code):
    with pytest.raises(ProtocolError) as e:
        parse(raw)
    assert e.value.code == code and e.value.message


def test_good_frames_become_messages():
    assert parse('{"type": "hello", "name": " Ann Lee "}') == protocol.Hello(name="Ann Lee")
    assert parse('{"type": "watch", "table": "t1", "v": 0, "rid": "a"}') == \
        protocol.Watch("t1", 0, "a")
    assert parse('{"type": "act", "table": "t1", "action": "all_in"}') == \
        protocol.Act("t1", "all_in", None)
    assert parse('{"type": "chat", "table": "t1", "text": " <b>hi</b>\\u202e "}').text == \
        "<b>hi</b>"


def test_the_rid_of_a_bad_message_is_echoed():
    with pytest.raises(ProtocolError) as e:
        parse('{"type": "act", "table": "t1", "action": "bet", "amount": true, "rid": 9}')
    assert e.value.rid == 9


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_frame_is_a_message_or_a_protocol_error(raw):
    try:
        parse(raw)
    except ProtocolError:
        pass


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(protocol.PARSERS)), st.dictionaries(
    st.sampled_from(["table", "seat", "buy_in", "action", "amount", "v", "text", "name",
                     "token", "tables", "rid"]), _json, max_size=4))
def test_any_object_is_a_message_or_a_protocol_error(kind, fields):
    try:
        raw = orjson.dumps({"type": kind, **fields}).decode()
    except (TypeError, orjson.JSONEncodeError):
        return
    try:
        parse(raw)
    except ProtocolError:
        pass


# ---------------------------------------------------------------------------
# Docstrings, and the event history


@pytest.mark.parametrize("module", ["server.conn", "server.history", "server.lobby",
                                    "server.protocol", "server.root", "persistence.journal"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


_EVENTS = st.one_of(st.binary(max_size=300),
                    st.builds(HoleCards, st.integers(0, 9), st.sampled_from(["p1", "p2"]),
                              st.lists(st.sampled_from(DECK), max_size=2).map(tuple)))


@settings(max_examples=200, deadline=None)
@given(keep=st.integers(0, 40), block=st.integers(1, 70),
       events=st.lists(_EVENTS, max_size=200), clear_at=st.none() | st.integers(0, 200),
       n=st.integers(0, 250))
def test_the_history_keeps_the_latest_events_in_order(keep, block, events, clear_at, n):
    history, model = History(keep, block), []
    for i, event in enumerate(events):
        if i == clear_at:
            history.clear()
            model = []
        history.append(event)
        model.append(event)
        kept = len(history)
        if len(model) <= keep:
            assert kept == len(model)
        else:               # whole blocks go, and a block is at most an eighth of keep
            assert keep <= kept < keep + max(1, keep // 8)
        assert list(history) == (model[-kept:] if kept else [])
    kept = len(history)
    assert history.last(n) == (model[-min(n, kept):] if min(n, kept) else [])


# ---------------------------------------------------------------------------
# The table flow without sockets


@pytest.fixture
def seeded(monkeypatch):
    """Shuffle with a seeded generator: the unit tests are deterministic."""
    monkeypatch.setattr(play, "_shuffler", random.Random(42))


def two_players():
    root = new_root()
    room = add_table(root, "hu", HEADS_UP)
    ann, bob = add_player(root, "ann"), add_player(root, "bob")
    play.act(root, room, SitDown(0, ann.id, 100, ann.name))
    play.act(root, room, SitDown(1, bob.id, 150, bob.name))
    return root, room, ann, bob


def round_trip(root):
    data = orjson.loads(orjson.dumps(root_to_json(root)))
    again = root_from_json(data)
    assert root_to_json(again) == data
    return again


def test_sitting_down_moves_chips_from_the_bankroll(seeded):
    root, room, ann, bob = two_players()
    assert (ann.bankroll, bob.bankroll) == (9900, 9850)
    assert ann.seats == {room.id: 0} and bob.seats == {room.id: 1}
    assert total_chips(root) == root.chips_issued == 20_000
    assert room.next_hand_at is not None          # two players ready: a hand is coming
    assert [e.type for _, e in play.history_events(room)] == ["seated", "seated"]
    assert play.history_events(room)[0][1].name == "ann"


def test_many_hands_keep_every_invariant_and_round_trip(seeded):
    root, room, ann, bob = two_players()
    rng = random.Random(7)
    for step in range(400):
        if not room.game.hand_running:
            if room.game.seats[0] is None or room.game.seats[1] is None:
                break
            for i, s in enumerate(room.game.seats):   # busted players rebuy
                if s.sitting_out:
                    player = root.players[s.player]
                    play.act(root, room, TopUp(i, 100))
                    play.act(root, room, SitIn(i))
                    assert player.bankroll >= 0
            play.start_hand(root, room)
            continue
        legal = legal_actions(room.game)
        verb = rng.choice(legal.actions)
        if verb in ("bet", "raise"):
            action = (Bet if verb == "bet" else Raise)(legal.seat, legal.min_to)
        else:
            action = {"fold": Fold, "check": Check, "call": Call, "all_in": AllIn}[verb](legal.seat)
        play.player_acts(root, room, legal.seat, action)
        assert check_root(root, replay=True) == []
        if step % 25 == 0:
            root = round_trip(root)
            room = root.tables[room.id]
    assert room.hands_played > 10
    assert len(room.finished) == min(room.hands_played, 20)
    assert check_root(round_trip(root), replay=True) == []


def test_versions_grow_by_one_per_event_and_history_is_bounded(seeded):
    root = new_root()
    room = add_table(root, "hu", HEADS_UP, history=8)
    ann = add_player(root, "ann")
    for _ in range(10):
        play.act(root, room, SitDown(0, ann.id, 100, ann.name))
        play.act(root, room, StandUp(0))
    assert room.v == 20 and len(room.history) == 8
    assert [v for v, _ in play.history_events(room)] == list(range(13, 21))
    assert ann.bankroll == 10_000 and check_root(root) == []


def test_an_illegal_action_changes_nothing(seeded):
    root, room, ann, bob = two_players()
    play.start_hand(root, room)
    before = orjson.dumps(root_to_json(root))
    to_act = room.game.hand.to_act
    with pytest.raises(IllegalAction):
        play.player_acts(root, room, 1 - to_act, Call(1 - to_act))
    with pytest.raises(IllegalAction):
        play.player_acts(root, room, to_act, Raise(to_act, 3))
    assert orjson.dumps(root_to_json(root)) == before


def test_the_clock_spends_the_bank_then_times_out_and_two_expiries_sit_out(seeded):
    root, room, ann, bob = two_players()
    play.start_hand(root, room)
    clock = room.clock
    seat = room.game.hand.to_act
    clock.bank[seat] = 30.0
    t = clock.deadline + 0.01
    play.tick(root, room, t)                   # the turn ran out: the bank starts
    assert clock.bank_started == t and clock.deadline == pytest.approx(t + 30.0)
    play.tick(root, room, clock.deadline + 0.01)   # the bank ran out: timed out
    kinds = [e.type for _, e in play.history_events(room)[-6:]]
    assert "timeout" in kinds and clock.expiries[seat] == 1 and clock.bank[seat] == 0
    # Play on until that seat's clock runs out a second time in a row.
    for _ in range(40):
        if room.game.hand_running and room.game.hand.to_act == seat:
            play.tick(root, room, room.clock.deadline + 0.01)
            break
        if not room.game.hand_running:
            play.start_hand(root, room)
        else:
            legal = legal_actions(room.game)
            play.player_acts(root, room, legal.seat,
                             Check(legal.seat) if "check" in legal.actions else Call(legal.seat))
    assert room.game.seats[seat].sitting_out
    assert check_root(root) == []


def test_the_clock_ticks_only_the_tables_whose_time_has_come(seeded):
    root, room, ann, bob = two_players()
    idle = add_table(root, "idle", HEADS_UP)          # nobody there: never due
    assert room.next_hand_at is not None and root.wakeups[0] == (room.next_hand_at, room.id)
    assert play.run_due(root, room.next_hand_at - 0.01) == 0 and not room.game.hand_running
    assert play.run_due(root, room.next_hand_at) == 1 and room.game.hand_running
    assert play.due(idle) is None and all(tid != idle.id for _, tid in root.wakeups)
    deadline = room.clock.deadline
    assert play.due(room) == deadline and room.wake_at == deadline
    legal = legal_actions(room.game)                 # an action moves the deadline on
    play.player_acts(root, room, legal.seat, Call(legal.seat))
    seat = room.game.hand.to_act
    assert play.run_due(root, deadline) <= 1          # the stale entry ticks for nothing
    assert room.game.hand.to_act == seat and room.wake_at == room.clock.deadline
    play.run_due(root, room.clock.deadline + 0.01)    # the new turn runs out: bank or timeout
    assert room.clock.seat != seat or room.clock.bank_started is not None
    assert check_root(root) == []


def test_a_player_sitting_out_long_enough_is_stood_up_with_the_chips(seeded, monkeypatch):
    root, room, ann, bob = two_players()
    play.act(root, room, SitOut(0))
    since = room.sat_out_since[0]
    assert since is not None
    play.tick(root, room, since + 1.0)
    assert room.game.seats[0] is not None
    play.tick(root, room, since + 301.0)
    assert room.game.seats[0] is None and ann.bankroll == 10_000 and ann.seats == {}


def test_the_showdown_is_settled_at_once_and_a_losing_hand_stays_hidden():
    root, room, ann, bob = two_players()
    # Seat 0 has the button heads-up; cards go seat 1, seat 0, seat 1, seat 0, then the board.
    deck = ["As", "2c", "Ad", "7h", "Kc", "Qd", "9s", "5h", "3d"]
    deck += [c for c in DECK if c not in deck]
    play.act(root, room, StartHand(tuple(deck)))
    play.player_acts(root, room, 0, Call(0))
    while room.game.hand_running:
        legal = legal_actions(room.game)
        play.player_acts(root, room, legal.seat, Check(legal.seat))
    events = [e for _, e in play.history_events(room)]
    assert Mucked(0) in events
    spectator = orjson.dumps(play.table_message(root, room, None)).decode()
    assert "2c" not in spectator and "7h" not in spectator and "As" in spectator
    summary = lobby.recent_hands(room)[0]
    assert [s["seat"] for s in summary["shown"]] == [1]
    assert summary["winners"] == [{"seat": 1, "name": "bob", "amount": 4}]
    assert "2c" not in orjson.dumps(summary).decode()


def test_check_root_finds_broken_chips_cards_tokens_and_replays(seeded):
    root, room, ann, bob = two_players()
    play.start_hand(root, room)
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
# Lobby, Origin, rate limits


def test_table_config_defaults_and_limits():
    name, cfg = lobby.table_config({"name": " Big ", "seats": 9, "small_blind": 5,
                                    "big_blind": 10, "ante": 1})
    assert name == "Big" and cfg == TableConfig(9, 5, 10, 1, 200, 1000)
    for bad in ({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "ante": 3},
                {"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "bots": -1},
                {"name": "\x00", "seats": 6, "small_blind": 1, "big_blind": 2}, []):
        with pytest.raises(ValueError):
            lobby.table_config(bad)


@pytest.mark.parametrize("origin, host, allowed", [
    (None, "example.com", True),
    ("http://example.com", "example.com", True),
    ("https://example.com:8443", "example.com:8443", True),
    ("http://evil.com", "example.com", False),
    ("null", "example.com", False),
    ("http://example.com.evil.com", "example.com", False),
    ("file://example.com", "example.com", False),
])
def test_origin_rule(origin, host, allowed):
    environ = {"HTTP_HOST": host}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    assert origin_allowed(environ) is allowed


def test_rate_limits():
    c = conns.Conn(id=1, ws=None, sock=None, queue=None, tokens=40.0, tokens_at=0.0,
                   chat_tokens=5.0, chat_at=0.0, window_start=0.0)
    verdicts = [conns.admit(c, 0.0) for _ in range(101)]   # all at once
    assert verdicts[:40] == ["ok"] * 40
    assert set(verdicts[40:100]) == {"limited"}
    assert verdicts[100] == "flood"
    c.window_start, c.window_count = 5.0, 0
    assert conns.admit(c, 5.0) == "ok"         # refilled by then
    assert [conns.admit_chat(c, 10.0) for _ in range(6)] == [True] * 5 + [False]
    assert conns.admit_chat(c, 11.0)           # one chat line a second


def _read_frames(sock, count):
    """``count`` unmasked server frames' payloads from ``sock``."""
    buf, out = b"", []
    while len(out) < count:
        data = sock.recv(65536)
        assert data, "closed early"
        buf += data
        while len(buf) >= 2:
            n, at = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, at = int.from_bytes(buf[2:4], "big"), 4
            if len(buf) < at + n:
                break
            assert buf[0] == 0x81
            out.append(buf[at:at + n])
            buf = buf[at + n:]
    return out


def test_what_the_kernel_does_not_take_goes_out_whole_and_in_order():
    """Sending never switches greenlets: one flush writes what the socket takes; the
    rest (a partial frame first) goes through the writer, and later sends queue behind it."""
    import socket

    import gevent
    import gevent.socket
    a, b = gevent.socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    c = conns.open_conn({}, ws=None, sock=a)
    payloads = [orjson.dumps({"n": i, "pad": "x" * (i % 300)}) for i in range(300)]
    for p in payloads[:200]:
        assert conns.send(c, p)
    assert len(c.pending) == 200 and not c.backlog
    gevent.sleep(0)                       # the loop runs the flush: more than the socket takes
    assert c.backlog and not c.pending
    for p in payloads[200:]:
        assert conns.send(c, p)           # behind the rest, through the writer
    assert _read_frames(b, 300) == payloads
    gevent.sleep(0.01)
    assert not c.backlog                  # caught up: the next flush writes directly again
    assert conns.send(c, b"{}") and c.pending == [b"{}"]
    gevent.sleep(0)
    assert _read_frames(b, 1) == [b"{}"]
    c.writer.kill()
    a.close()
    b.close()


def test_a_recovered_turn_gets_a_fresh_clock_and_keeps_its_bank(seeded):
    root, room, ann, bob = two_players()
    play.start_hand(root, room)
    clock = room.clock
    seat = clock.seat
    clock.bank_started, clock.bank[seat] = clock.deadline - 5, 30.0   # in its bank when it died
    later = clock.deadline + 3600.0                                   # restarted an hour later
    assert play.restart_clocks(root, later) == 1
    assert clock.deadline == later + play.config.settings.turn_seconds
    assert clock.bank_started is None and clock.bank[seat] == 30.0
    play.run_due(root, later)
    assert room.game.hand.to_act == seat and not any(
        e.type == "timeout" for _, e in play.history_events(room))


def test_players_long_gone_without_a_seat_are_forgotten_and_chips_still_add_up(seeded):
    from server import durable, handlers
    root, room, ann, bob = two_players()
    cid = add_player(root, "cid")
    dee = add_player(root, "dee")
    dee.conns.add(99)                                 # connected: kept
    ttl = play.config.settings.player_ttl
    assert handlers.forget_gone_players(root, 1000.0) == 0    # first sweep: gone from now
    assert handlers.forget_gone_players(root, 1000.0 + ttl - 1) == 0
    assert handlers.forget_gone_players(root, 1000.0 + ttl) == 1
    assert set(root.players) == {ann.id, bob.id, dee.id}    # seated or connected: kept
    assert cid.token not in root.tokens and check_root(root) == []
    # The journal entry replays the same removal.
    again = round_trip(root)
    again_cid = add_player(again, "cid2")
    durable.apply_entry(again, {"k": "forget", "id": again_cid.id})
    assert again_cid.id not in again.players and check_root(again) == []


def test_a_dead_socket_does_not_stop_the_flush_of_the_others():
    import gevent
    import gevent.socket
    a1, b1 = gevent.socket.socketpair()
    a2, b2 = gevent.socket.socketpair()
    dead = conns.open_conn({}, ws=None, sock=a1)
    live = conns.open_conn({}, ws=None, sock=a2)
    b1.close()                                   # the peer is gone: send fails
    a1.shutdown(2)
    assert conns.send(dead, b'{"n":1}') and conns.send(live, b'{"n":2}')
    gevent.sleep(0)
    assert dead.broken and not live.broken
    assert _read_frames(b2, 1) == [b'{"n":2}']
    for c in (dead, live):
        c.writer.kill()
    for s in (a1, a2, b2):
        s.close()


def test_a_socket_that_does_not_read_is_closed_once_its_queue_holds_too_many_bytes(monkeypatch):
    import dataclasses
    import socket

    import gevent
    import gevent.socket
    from server import config
    monkeypatch.setattr(config, "settings",
                        dataclasses.replace(config.settings, send_queue_bytes=64 * 1024))
    a, b = gevent.socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    c = conns.open_conn({}, ws=None, sock=a)
    view = b"{" + b"x" * 8000 + b"}"                # a table view's size, not read by the peer
    sent = 0
    while c.closing is None and sent < 200:        # far fewer than send_queue (256) messages
        conns.send(c, view)
        sent += 1
        gevent.sleep(0)
    assert c.closing == conns.CLOSE_NOT_READING and sent < 40
    c.writer.kill()
    a.close()
    b.close()
