"""Deterministic tests of the server's small parts: parsing, the event history, the lobby's
table settings, the Origin rule, the rate limits and the socket's send path. (The table
flow and its effects: tests/test_table_flow.py.)"""

from __future__ import annotations

import doctest
import importlib

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from game.cards import DECK
from game.events import HoleCards
from server import conn as conns
from server import lobby, protocol
from server.app import origin_allowed
from server.history import History
from server.protocol import ProtocolError, parse
from server.root import TableConfig


# ---------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize("raw, code", [
    ("", "bad_json"), ("{", "bad_json"), (b"\xff", "bad_json"), ("[" * 10_000, "bad_json"),
    ('{"type": "ping", "type": "ping"}', "bad_json"), ("NaN", "bad_json"),
    ("[]", "bad_message"), ('"x"', "bad_message"), ("{}", "bad_message"),
    ('{"type": "nope"}', "unknown_type"), ('{"type": null}', "unknown_type"),
    ('{"type": "ping", "x": 1}', "bad_message"),
    ('{"type": "hello", "protocol": 2}', "bad_message"),
    ('{"type": "hello", "name": "old client"}', "protocol"),
    ('{"type": "hello", "protocol": 1, "token": "x"}', "protocol"),
    ('{"type": "hello", "protocol": "2", "name": "a"}', "protocol"),
    ('{"type": "hello", "protocol": 2, "name": "a", "token": "b"}', "bad_message"),
    ('{"type": "hello", "protocol": 2, "name": ""}', "bad_message"),
    ('{"type": "hello", "protocol": 2, "name": "' + "a" * 21 + '"}', "bad_message"),
    ('{"type": "hello", "protocol": 2, "name": "<img src=x>"}', "bad_message"),
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
    assert parse('{"type": "hello", "protocol": 2, "name": " Ann Lee "}') == protocol.Hello(name="Ann Lee")
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


@pytest.mark.parametrize("module", [
    "server.conn", "server.effects", "server.history", "server.lobby", "server.protocol",
    "server.root", "server.timers", "server.limits", "persistence.journal",
    "persistence.layout", "server.transfers", "server.app", "server.config",
    "client.bots.wire", "run_cluster"])
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
# Found by a full run: the oldest block went only when a block was sealed, so the
# events in the tail could make it hold keep + 2 blocks - 2 between seals.
@example(keep=17, block=2, events=[b""] * 19, clear_at=None, n=0)
def test_the_history_keeps_the_latest_events_in_order(keep, block, events, clear_at, n):
    history, model = History(keep, block), []
    for i, event in enumerate(events):
        if i == clear_at:
            history.clear()
            model = []
        history.append(event, history.v + 1)
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


def test_a_waiting_pong_answers_the_latest_ping_only():
    """However fast the pings come, one pong waits per socket (RFC 6455 5.5.3)."""
    from collections import deque
    c = conns.Conn(id=1, ws=None, sock=None, queue=deque())
    c.pending = [b'{"a":1}']
    for i in range(1000):
        conns.send_pong(c, b"%d" % i)
    assert c.pending == [b'{"a":1}', conns.Pong(b"999")]
    # The writer owns the socket (a stand-in: nothing is written here).
    c.backlog, c.pending, c.writer = True, [], "the writer"
    conns.send(c, b'{"b":2}')
    for i in range(1000):
        conns.send_pong(c, b"x" * (i % 100))
    assert list(c.queue) == [b'{"b":2}', conns.Pong(b"x" * 99)]
    assert c.queued_bytes == len(b'{"b":2}') + 99 and c.closing is None


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
    c = conns.open_conn(ws=None, sock=a)
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
    conns.stop_writer(c)
    a.close()
    b.close()


def test_a_dead_socket_does_not_stop_the_flush_of_the_others():
    import gevent
    import gevent.socket
    a1, b1 = gevent.socket.socketpair()
    a2, b2 = gevent.socket.socketpair()
    dead = conns.open_conn(ws=None, sock=a1)
    live = conns.open_conn(ws=None, sock=a2)
    b1.close()                                   # the peer is gone: send fails
    a1.shutdown(2)
    assert conns.send(dead, b'{"n":1}') and conns.send(live, b'{"n":2}')
    gevent.sleep(0)
    assert dead.broken and not live.broken
    assert _read_frames(b2, 1) == [b'{"n":2}']
    for c in (dead, live):
        conns.stop_writer(c)
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
    c = conns.open_conn(ws=None, sock=a)
    view = b"{" + b"x" * 8000 + b"}"                # a table view's size, not read by the peer
    sent = 0
    while c.closing is None and sent < 200:        # far fewer than send_queue (256) messages
        conns.send(c, view)
        sent += 1
        gevent.sleep(0)
    assert c.closing == conns.CLOSE_NOT_READING and sent < 40
    conns.stop_writer(c)
    a.close()
    b.close()


# ---------------------------------------------------------------------------
# Strict JSON: the fast path (orjson) answers exactly as the strict decoder


def _outcome(text: str, fast: bool):
    """What parse_json makes of ``text``: ("ok", its exact JSON) or ("error", code, reason)."""
    saved = protocol._fast
    if not fast:
        protocol._fast = lambda text: protocol._SLOW
    try:
        value = protocol.parse_json(text)
    except ProtocolError as e:
        return ("error", e.code, e.message)
    finally:
        protocol._fast = saved
    return ("ok", repr(value))    # 1, 1.0 and True told apart; strings whole


_KEYS = st.sampled_from(["type", "table", "a", "a", "x:y", "é", "\\u00e9", ""])
_NUMBERS = st.sampled_from(["0", "-0", "7", "9999999999999999", "-999999999999999",
                            "10000000000000000", "-1000000000000000", "18446744073709551616",
                            "100000000000000000000000", "1.5", "1e400", "-1E400", "1e-400",
                            "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "2e3"])
_STRINGS = st.sampled_from(['"t1"', '"a:b"', '"\\ud800"', '"\\ud83d\\ude00"', '"\u00e9"',
                            '"\x01"', '"\\"', '"tab\\t"', '""'])


def _json_text():
    """Documents that are mostly JSON, written by hand: keys twice, colons in strings,
    numbers at and past the strict decoder's bounds, invalid escapes, odd whitespace."""
    scalars = st.one_of(_NUMBERS, _STRINGS, st.sampled_from(["true", "false", "null"]))

    def containers(children):
        pair = st.tuples(_KEYS, children).map(lambda kv: f'"{kv[0]}": {kv[1]}')
        return (st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
                | st.lists(pair, max_size=4).map(lambda ps: "{" + ",".join(ps) + "}"))
    doc = st.recursive(scalars, containers, max_leaves=12)
    return st.tuples(doc, st.sampled_from(["", " ", "\n", "x", ",", "\ufeff"]),
                     st.booleans()).map(
        lambda d: (d[1] + d[0] if d[2] else d[0] + d[1]))


@settings(max_examples=600)
@given(st.one_of(_json_text(), st.text(max_size=30)))
@example('{"type": "act", "table": "t1", "action": "raise", "amount": 60, "rid": 7}')
@example('{"type": "ping", "type": "ping"}')
@example('{"a": "x:y"}')
@example("[100000000000000000000000]")
def test_parse_json_answers_as_the_strict_decoder(text):
    assert _outcome(text, fast=True) == _outcome(text, fast=False)
