"""Every bad input of /work/shared/bad-inputs.md that applies to the server: each gets its
documented error or close code, changes nothing (chips and every table, read through a
second client), and the server goes on serving everyone else."""

from __future__ import annotations

import socket
import time

import pytest
import websocket

from test_server_helpers import (connect, create_table, errors, get_json, metrics,
                                 post_json, sit, start_server, wait_for)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(str(tmp_path_factory.mktemp("bad")), "--turn-seconds", "300",
                     "--hand-pause", "0.1", "--send-queue", "32", "--socket-sndbuf", "16384")
    yield s
    assert s.stop() == 0, s.log()
    assert "Traceback" not in s.log(), s.log()


class Scene:
    """Three tables in known states, and the players sitting at them.

    - ``quiet``: one player (``solo``), no hand;
    - ``duel``: ``ann`` and ``bob`` heads-up, a hand running, ``first`` to act;
    - ``trio``: three players, a hand running in which ``folder`` has folded.
    """


@pytest.fixture(scope="module")
def scene(server):
    s = Scene()
    s.server = server
    s.quiet = create_table(server, seats=2, name="quiet")
    s.duel = create_table(server, seats=2, name="duel")
    s.trio = create_table(server, seats=3, name="trio")
    s.rich = create_table(server, seats=2, name="rich", small_blind=50, big_blind=100,
                          min_buy_in=2000, max_buy_in=20000)
    s.solo = connect(server, "solo")
    sit(s.solo, s.quiet, 0, 100)
    s.ann, s.bob = connect(server, "ann"), connect(server, "bob")
    sit(s.ann, s.duel, 0, 100)
    sit(s.bob, s.duel, 1, 100)
    s.first = s.ann.expect_type("turn", timeout=5)   # seat 0 has the button: acts first
    s.trio_players = [connect(server, f"trio{i}") for i in range(3)]
    for i, c in enumerate(s.trio_players):
        sit(c, s.trio, i, 100)
    # The first to act in the trio folds; the hand goes on between the other two.
    deadline = time.monotonic() + 5
    s.folder = None
    while s.folder is None and time.monotonic() < deadline:
        for c in s.trio_players:
            turns = [m for m in c.drain(0.05) if m["type"] == "turn"]
            if turns:
                c.send({"type": "act", "table": s.trio, "action": "fold"})
                c.expect_event("action", seat=turns[0]["seat"])
                s.folder = c
                break
    assert s.folder is not None
    s.mallory = connect(server, "mallory")
    s.observer_token = connect(server, "observer").token
    yield s


def state(s: Scene) -> dict:
    """Chips, and every table as a fresh second client sees it."""
    obs = connect(s.server, token=s.observer_token)
    try:
        tables = {}
        for t in (s.quiet, s.duel, s.trio, s.rich):
            msg = obs.request({"type": "watch", "table": t}, "table")
            msg.pop("rid")
            tables[t] = msg
        m = metrics(s.server)
        return {"tables": tables, "chips": (m["poker_chips_total"], m["poker_chips_issued"])}
    finally:
        obs.close()


def still_serving(s: Scene) -> None:
    c = connect(s.server, token=s.observer_token)
    assert c.request({"type": "ping"})["type"] == "pong"
    c.close()


def refused(s: Scene, client, frame, code: str) -> dict:
    """Send ``frame``; expect an error with ``code``; check that nothing changed.

    A seated player's request goes through a new socket of theirs (same token), so that
    the long run of requests never meets the per-socket rate limit.
    """
    if client.player is not None and client.token != s.observer_token:
        client = connect(s.server, token=client.token)
    before = state(s)
    client.send(frame)
    err = client.expect(lambda m: m["type"] == "error", timeout=5, what=f"error {code}")
    assert err["code"] == code, err
    assert err["message"]
    assert state(s) == before
    # This socket still works.
    if client.player is None:
        assert client.request({"type": "hello", "protocol": 2, "token": s.observer_token})["type"] == "welcome"
    else:
        assert client.request({"type": "ping"})["type"] == "pong"
    return err


# ---------------------------------------------------------------------------
# Frames that are not messages


def _act(table, amount_json: str, action: str = "bet") -> str:
    return ('{"type": "act", "table": "%s", "action": "%s", "amount": %s}'
            % (table, action, amount_json))


FRAMES = [
    ("not json", "bad_json"),
    ('{"type": "ping"', "bad_json"),
    ("", "bad_json"),
    ("   ", "bad_json"),
    ("[" * 10_000, "bad_json"),
    ('{"a":' * 2000 + "1" + "}" * 2000, "bad_json"),
    ("[1, 2]", "bad_message"),
    ('"hello"', "bad_message"),
    ("42", "bad_message"),
    ("null", "bad_message"),
    ('{"table": "t1"}', "bad_message"),
    ('{"type": "shuffle"}', "unknown_type"),
    ('{"type": 7}', "unknown_type"),
    ('{"type": "ping", "type": "ping"}', "bad_json"),
    ('{"type": "ping", "extra": 1}', "bad_message"),
    ('{"type": "sit", "table": "t1", "seat": 1}', "bad_message"),
    ('{"type": "watch", "table": 5}', "bad_message"),
    ('{"type": "watch", "table": "t1", "v": -1}', "bad_message"),
    ('{"type": "ping", "rid": {"a": 1}}', "bad_message"),
    ('{"type": "ping", "rid": "' + "x" * 65 + '"}', "bad_message"),
    ('{"type": "hello", "protocol": 2, "name": "again"}', "bad_message"),
]


@pytest.mark.parametrize("frame, code", FRAMES, ids=[f[:24] or "empty" for f, _ in FRAMES])
def test_frames_that_are_not_messages(scene, frame, code):
    c = connect(scene.server, token=scene.mallory.token)
    refused(scene, c, frame, code)
    c.close()


AMOUNTS = [
    ("NaN", "bad_json"), ("Infinity", "bad_json"), ("-Infinity", "bad_json"),
    ("1e309", "bad_json"), ("9" * 5000, "bad_message"), ("true", "bad_message"),
    ("100.5", "bad_message"), ("1e2", "bad_message"), ('"100"', "bad_message"),
    ('"1_000"', "bad_message"), ("-5", "bad_message"), ("0", "bad_message"),
    ("null", "bad_message"), ("[100]", "bad_message"),
]


@pytest.mark.parametrize("amount, code", AMOUNTS, ids=[a[:12] for a, _ in AMOUNTS])
def test_amounts_python_would_parse_too_kindly(scene, amount, code):
    ann = scene.ann  # to act in the duel: a good amount would be accepted
    refused(scene, ann, _act(scene.duel, amount, "raise"), code)


def test_an_error_echoes_the_rid(scene):
    err = refused(scene, scene.ann, '{"type": "act", "table": "%s", "action": "raise", '
                  '"amount": true, "rid": 7}' % scene.duel, "bad_message")
    assert err["rid"] == 7


def test_messages_before_hello(scene):
    c = connect(scene.server)
    refused_before_hello = refused(scene, c, '{"type": "tables"}', "hello_first")
    assert "hello" in refused_before_hello["message"]
    c.close()


def test_forged_token(scene):
    c = connect(scene.server)
    refused(scene, c, '{"type": "hello", "protocol": 2, "token": "' + "A" * 43 + '"}', "bad_token")
    c.close()


def test_a_binary_frame(scene):
    c = connect(scene.server, token=scene.mallory.token)
    before = state(scene)
    c.ws.send_binary(b'{"type": "ping"}')
    assert c.expect_type("error")["code"] == "binary"
    assert state(scene) == before
    c.close()


# ---------------------------------------------------------------------------
# Game logic


def test_acting_out_of_turn(scene):
    bob = scene.bob   # ann is to act
    refused(scene, bob, {"type": "act", "table": scene.duel, "action": "call"}, "illegal")


def test_acting_at_a_table_where_you_have_no_seat(scene):
    refused(scene, scene.ann, {"type": "act", "table": scene.trio, "action": "fold"},
            "not_seated")
    refused(scene, scene.ann, {"type": "act", "table": "nope", "action": "fold"}, "no_table")


def test_acting_after_folding(scene):
    refused(scene, scene.folder, {"type": "act", "table": scene.trio, "action": "call"},
            "illegal")


def test_acting_with_no_hand_running(scene):
    err = refused(scene, scene.solo, {"type": "act", "table": scene.quiet, "action": "check"},
                  "illegal")
    assert "no hand" in err["message"]


def test_raise_below_the_minimum(scene):
    err = refused(scene, scene.ann, {"type": "act", "table": scene.duel, "action": "raise",
                                     "amount": 3}, "illegal")
    assert "minimum" in err["message"]


def test_check_facing_a_bet(scene):
    err = refused(scene, scene.ann, {"type": "act", "table": scene.duel, "action": "check"},
                  "illegal")
    assert "facing a bet" in err["message"]


def test_bet_when_there_is_a_bet_and_an_amount_above_the_stack(scene):
    refused(scene, scene.ann, {"type": "act", "table": scene.duel, "action": "bet",
                               "amount": 10}, "illegal")
    err = refused(scene, scene.ann, {"type": "act", "table": scene.duel, "action": "raise",
                                     "amount": 100_000}, "illegal")
    assert "only" in err["message"]


def test_bet_of_zero(scene):
    refused(scene, scene.ann, {"type": "act", "table": scene.duel, "action": "bet",
                               "amount": 0}, "bad_message")


def test_sitting_in_a_taken_seat_and_sitting_twice(scene):
    refused(scene, scene.mallory, {"type": "sit", "table": scene.quiet, "seat": 0,
                                   "buy_in": 100}, "seat_taken")
    refused(scene, scene.solo, {"type": "sit", "table": scene.quiet, "seat": 1,
                                "buy_in": 100}, "seat_taken")


def test_sitting_in_a_seat_the_table_does_not_have(scene):
    refused(scene, scene.mallory, {"type": "sit", "table": scene.quiet, "seat": 7,
                                   "buy_in": 100}, "illegal")


def test_buy_ins_outside_the_limits_or_above_the_bankroll(scene):
    for amount in (39, 201):
        err = refused(scene, scene.mallory, {"type": "sit", "table": scene.quiet, "seat": 1,
                                             "buy_in": amount}, "buy_in")
        assert "40 to 200" in err["message"]
    err = refused(scene, scene.mallory, {"type": "sit", "table": scene.rich, "seat": 0,
                                         "buy_in": 15_000}, "buy_in")
    assert "bankroll" in err["message"]


def test_top_up_and_leave_where_you_are_not_seated(scene):
    refused(scene, scene.mallory, {"type": "top_up", "table": scene.quiet, "amount": 10},
            "not_seated")
    refused(scene, scene.mallory, {"type": "leave", "table": scene.quiet}, "not_seated")
    refused(scene, scene.mallory, {"type": "sit_out", "table": scene.quiet}, "not_seated")


def test_top_up_above_the_maximum_and_mid_hand(scene):
    refused(scene, scene.solo, {"type": "top_up", "table": scene.quiet, "amount": 101},
            "buy_in")
    refused(scene, scene.bob, {"type": "top_up", "table": scene.duel, "amount": 10}, "illegal")


def test_watching_an_unknown_table(scene):
    refused(scene, scene.mallory, {"type": "watch", "table": "t999"}, "no_table")


def test_chat_too_long_or_empty(scene):
    refused(scene, scene.mallory, {"type": "chat", "table": scene.quiet, "text": "x" * 201},
            "chat")
    refused(scene, scene.mallory, {"type": "chat", "table": scene.quiet, "text": " \n\t "},
            "chat")


def test_chat_is_data_and_rate_limited(scene):
    c = connect(scene.server, "chatter")
    c.request({"type": "watch", "table": scene.quiet}, "table")
    c.send({"type": "chat", "table": scene.quiet, "text": "<script>alert(1)</script>\x07 gl"})
    said = c.expect_event("chat")
    assert said["text"] == "<script>alert(1)</script> gl" and said["name"] == "chatter"
    for _ in range(6):
        c.send({"type": "chat", "table": scene.quiet, "text": "spam"})
    assert c.expect_type("error")["code"] == "rate_limited"
    c.close()


def test_the_same_action_twice(scene):
    """A double click: the second call is refused, the first stands (runs last: it acts)."""
    ann = scene.ann
    ann.drain(0.05)
    ann.send({"type": "act", "table": scene.duel, "action": "call"})
    ann.expect_event("action", seat=0)
    refused(scene, ann, {"type": "act", "table": scene.duel, "action": "call"}, "illegal")


# ---------------------------------------------------------------------------
# Sockets: sizes, encodings, floods, slow readers, origins, many connections


def test_invalid_utf8_closes_with_1007(scene):
    c = connect(scene.server, token=scene.mallory.token)
    before = state(scene)
    c.ws.send(b'{"type": "\xff\xfe"}', opcode=websocket.ABNF.OPCODE_TEXT)
    assert c.wait_close() == 1007
    assert state(scene) == before
    still_serving(scene)


def test_a_message_over_16_kib_closes_with_1009(scene):
    c = connect(scene.server, token=scene.mallory.token)
    before = state(scene)
    c.send('{"type": "chat", "table": "%s", "text": "%s"}' % (scene.quiet, "x" * 17_000))
    assert c.wait_close() == 1009
    assert state(scene) == before
    still_serving(scene)


def test_rate_limit_answers_then_a_flood_closes_with_1008(scene):
    c = connect(scene.server, token=scene.mallory.token)
    for _ in range(60):
        c.send({"type": "ping"})
    replies = [c.recv(5) for _ in range(60)]
    assert {m["type"] for m in replies} == {"pong", "error"}
    assert {m["code"] for m in replies if m["type"] == "error"} == {"rate_limited"}
    c.close()
    flood = connect(scene.server, token=scene.mallory.token)
    before = state(scene)
    try:
        for _ in range(1000):
            flood.send('{"type": "act", "table": "%s", "action": "fold"}' % scene.duel)
    except (BrokenPipeError, ConnectionResetError, websocket.WebSocketException, OSError):
        pass   # the server may close while we are still sending
    assert flood.wait_close() == 1008
    assert state(scene) == before
    still_serving(scene)


def test_a_client_that_never_reads_is_dropped(scene):
    for i in range(10):   # a longer lobby: each reply is a few KB
        create_table(scene.server, seats=2, name=f"padding table number {i:02d} " + "x" * 12)
    drops = metrics(scene.server)["poker_send_queue_drops_total"]
    lazy = connect(scene.server, "lazy",
                   sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    sent = 0
    try:
        for _ in range(120):   # within the rate limit: never a flood
            lazy.send({"type": "tables"})
            sent += 1
            time.sleep(0.02)
    except (BrokenPipeError, ConnectionResetError, websocket.WebSocketException, OSError):
        pass
    wait_for(lambda: metrics(scene.server)["poker_send_queue_drops_total"] > drops, 10,
             "the lazy client to be dropped")
    still_serving(scene)
    # Its socket ends (4000, or no close frame when its buffers were full).
    assert lazy.wait_close(timeout=10) in (4000, None)
    lazy.close()


def test_a_wrong_origin_is_closed_with_1008(scene):
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{scene.server.port + 1}"):
        c = connect(scene.server, origin=origin)
        assert c.wait_close() == 1008
    # Without an Origin header (not a browser) the socket works.
    ok = connect(scene.server, token=scene.mallory.token, suppress_origin=True)
    assert ok.request({"type": "ping"})["type"] == "pong"
    ok.close()
    status, data = post_json(scene.server.url + "/api/tables",
                             {"name": "x", "seats": 2, "small_blind": 1, "big_blind": 2},
                             headers={"Origin": "http://evil.example"})
    assert status == 403


def test_200_connections_opened_and_dropped(scene):
    before = state(scene)
    baseline = metrics(scene.server)["poker_connections"]
    sockets = []
    for i in range(200):
        c = connect(scene.server)
        if i % 2:
            c.send({"type": "hello", "protocol": 2, "token": scene.mallory.token})
        sockets.append(c)
    for i, c in enumerate(sockets):
        if i % 3 == 0:
            c.close()            # a clean close
        else:
            c.ws.shutdown()      # just gone
    wait_for(lambda: metrics(scene.server)["poker_connections"] <= baseline, 10,
             "the connections to be forgotten")
    assert state(scene) == before
    still_serving(scene)
    assert get_json(scene.server.url + "/healthz")["ok"] is True


def test_nobody_got_an_internal_error(scene):
    for c in [scene.solo, scene.ann, scene.bob, scene.mallory] + scene.trio_players:
        c.drain(0.05)
        assert not [e for e in errors(c) if e["code"] == "internal"]
    assert "internal" not in "".join(k for k in metrics(scene.server))
