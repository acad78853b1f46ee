"""Bad inputs for chaos bots, from shared/bad-inputs.md, with the answers
docs/protocol.md documents for them.

A probe either goes over the bot's own connection (``frame``: it builds the
raw frame; the answer is the ``error`` echoing its rid, or the next error
without a rid) or over a short side connection (``side``: it opens its own
socket and returns what the server did).  Answers are recorded as the error
code, ``close NNNN`` or a message type, and compared with ``expected``.
A probe that the protocol says changes nothing must change nothing: the bot
keeps playing, and the test checks that chips are conserved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gevent
import gevent.event
import orjson
import websocket

from client.bots import wire

_BINARY = websocket.ABNF.OPCODE_BINARY
_TEXT = websocket.ABNF.OPCODE_TEXT
ANSWER_WITHIN = 3.0


@dataclass(frozen=True)
class Probe:
    """One bad input: a raw frame over the bot's socket, or a side connection."""

    name: str
    expected: frozenset
    frame: object = None     # (bot, rid) -> (bytes, opcode), or None to skip now
    side: object = None      # (bot) -> answer string


def _j(**fields):
    return lambda bot, rid: (orjson.dumps({**fields, "rid": rid}), _TEXT)


def _raw(text):
    data = text.encode() if isinstance(text, str) else text
    return lambda bot, rid: (data, _TEXT)


def _at(**fields):
    """A message to the bot's own table."""
    return lambda bot, rid: (orjson.dumps({**fields, "table": bot.table, "rid": rid}), _TEXT)


def _act(**fields):
    return _at(type="act", **fields)


def _act_raw(amount: str):
    """An act whose amount is not expressible by orjson (NaN, 1e309, ...)."""
    return lambda bot, rid: (
        f'{{"type": "act", "table": "{bot.table}", "action": "bet", "amount": {amount}, "rid": {rid}}}'
        .encode(), _TEXT)


def _out_of_turn(bot, rid):
    if bot.hand is None or bot.to_act is None or bot.to_act == bot.state.seat:
        return None  # not provably out of turn right now
    return orjson.dumps({"type": "act", "table": bot.table, "action": "fold", "rid": rid}), _TEXT


def _other_table(kind):
    def build(bot, rid):
        if not bot.other_table:
            return None
        return orjson.dumps({"type": kind, "table": bot.other_table, "rid": rid}), _TEXT
    return build


def _sit_twice(bot, rid):
    return orjson.dumps({"type": "sit", "table": bot.table, "seat": 0,
                         "buy_in": bot.limits[0], "rid": rid}), _TEXT


# -- side connections ------------------------------------------------------


def _side_answer(ws, until: float, until_close: bool = False) -> str:
    """The first error code, close code or non-pong message type on ``ws``.

    With ``until_close`` errors are read past, and the close code wins.
    """
    first = "no answer"
    try:
        while True:
            ws.settimeout(max(0.05, until - time.monotonic()))
            msg = wire.read(ws)
            if type(msg) is tuple:
                return f"close {msg[1]}"
            kind = msg.get("type")
            answer = msg.get("code") if kind == "error" else kind
            if kind in ("pong", "welcome", "bankroll", "tables"):
                continue
            if not until_close:
                return answer
            if first == "no answer":
                first = answer
    except websocket.WebSocketTimeoutException:
        return first
    except (OSError, websocket.WebSocketException):
        return "close 1006"


def _side(bot, first: list, after_welcome: list | None = None, origin=None,
          until_close: bool = False) -> str:
    """Open a side connection, send ``first`` (and ``after_welcome`` once
    welcomed), and return the server's answer (see :func:`_side_answer`)."""
    until = time.monotonic() + ANSWER_WITHIN
    try:
        ws = wire.connect(bot.url, origin=origin or bot.origin, timeout=ANSWER_WITHIN)
    except websocket.WebSocketBadHandshakeException as exc:
        return f"http {getattr(exc, 'status_code', '?')}"
    except (OSError, websocket.WebSocketException):
        return "connect failed"
    try:
        try:
            for msg in first:
                wire.send(ws, msg)
            if after_welcome is not None:
                ws.settimeout(ANSWER_WITHIN)
                welcome = wire.read(ws)
                if type(welcome) is tuple or welcome.get("type") != "welcome":
                    return f"no welcome: {welcome}"
                for msg in after_welcome:
                    wire.send(ws, msg)
        except (OSError, websocket.WebSocketException):
            pass    # the server closed while we sent (a flood): its close frame may be waiting
        return _side_answer(ws, until, until_close)
    finally:
        ws.shutdown()


def _before_hello(bot):
    return _side(bot, [{"type": "tables"}])


def _forged_token(bot):
    return _side(bot, [{"type": "hello", "protocol": 2, "token": "A" * 43}])


def _oversize(bot):
    return _side(bot, [{"type": "hello", "protocol": 2, "name": "big"}, b'{"type":"chat","text":"' + b"x" * 17000 + b'"}'])


def _flood(bot):
    """1,000 messages at once: rate-limited, then closed with 1008."""
    return _side(bot, [{"type": "hello", "protocol": 2, "name": "flood"}], [b'{"type":"ping"}'] * 1000,
                 until_close=True)


def _bad_origin(bot):
    return _side(bot, [{"type": "hello", "protocol": 2, "name": "origin"}], origin="http://evil.example")


def _future_version(bot):
    """A second tab of this player resuming with a version ahead of the server's."""
    if bot.token is None or bot.v is None:
        return None
    return _side(bot, [{"type": "hello", "protocol": 2, "token": bot.token, "tables": {bot.table: bot.v + 10_000}}])


def _stale_version(bot):
    """A second tab resuming from version 0 (older than the history, once the table has run)."""
    if bot.token is None:
        return None
    return _side(bot, [{"type": "hello", "protocol": 2, "token": bot.token, "tables": {bot.table: 0}}])


E = frozenset
PROBES: tuple[Probe, ...] = (
    # Not JSON at all
    Probe("not_json", E({"bad_json"}), _raw("hello there")),
    Probe("truncated_json", E({"bad_json"}), _raw('{"type": "ping"')),
    # RFC 6455: a text frame that is not UTF-8 fails the connection (1007).
    Probe("invalid_utf8", E({"close 1007"}), _raw(b'{"type": "ping", "x": "\xff\xfe"}')),
    Probe("binary_frame", E({"binary"}), lambda bot, rid: (b'{"type": "ping"}', _BINARY)),
    Probe("empty_message", E({"bad_json"}), _raw("")),
    Probe("deep_nesting", E({"bad_json"}), _raw("[" * 8_000 + "]" * 8_000)),   # under 16 KiB
    Probe("deep_nesting_10000", E({"bad_json", "close 1009"}), _raw("[" * 10_000 + "]" * 10_000)),
    Probe("json_array", E({"bad_message"}), _raw("[1, 2, 3]")),
    Probe("json_string", E({"bad_message"}), _raw('"act"')),
    Probe("duplicate_keys", E({"bad_json"}), _raw('{"type": "ping", "type": "tables"}')),
    # Numbers Python parses too kindly
    Probe("nan_amount", E({"bad_json"}), _act_raw("NaN")),
    Probe("infinity_amount", E({"bad_json"}), _act_raw("Infinity")),
    Probe("1e309_amount", E({"bad_json", "bad_message"}), _act_raw("1e309")),
    Probe("5000_digit_amount", E({"bad_json", "bad_message"}), _act_raw("9" * 5000)),
    Probe("true_amount", E({"bad_message"}), _act(action="bet", amount=True)),
    Probe("float_amount", E({"bad_message"}), _act(action="bet", amount=100.5)),
    Probe("string_amount", E({"bad_message"}), _act(action="bet", amount="100")),
    Probe("underscore_amount", E({"bad_message"}), _act(action="bet", amount="1_000")),
    Probe("negative_amount", E({"bad_message", "illegal"}), _act(action="raise", amount=-5)),
    Probe("zero_bet", E({"bad_message", "illegal"}), _act(action="bet", amount=0)),
    Probe("raise_above_stack", E({"bad_message", "illegal"}), _act(action="raise", amount=10**9)),
    # Shapes
    Probe("missing_type", E({"bad_message"}), _j(table="t1")),
    Probe("unknown_type", E({"unknown_type"}), _j(type="dance")),
    Probe("extra_field", E({"bad_message"}), _j(type="ping", colour="red")),
    Probe("wrong_field_type", E({"bad_message"}), _j(type="watch", table=5)),
    Probe("unknown_action", E({"bad_message"}), _act(action="dance")),
    Probe("second_hello", E({"bad_message"}), _j(type="hello", protocol=2, name="again")),
    # Game logic
    Probe("out_of_turn", E({"illegal"}), _out_of_turn),
    Probe("no_such_table", E({"no_table"}), _j(type="act", table="no-such-table", action="fold")),
    Probe("act_not_seated", E({"not_seated"}), _other_table("sit_out")),
    Probe("leave_not_seated", E({"not_seated"}), _other_table("leave")),
    Probe("sit_twice", E({"seat_taken"}), _sit_twice),
    Probe("top_up_over_bankroll", E({"buy_in", "illegal"}), _at(type="top_up", amount=10**7)),
    Probe("chat_too_long", E({"chat", "rate_limited"}), _at(type="chat", text="x" * 300)),
    Probe("chat_empty", E({"chat", "rate_limited"}), _at(type="chat", text="   ")),
    # Sessions and abuse, each over a side connection
    Probe("before_hello", E({"hello_first"}), side=_before_hello),
    Probe("forged_token", E({"bad_token"}), side=_forged_token),
    Probe("oversize_frame", E({"close 1009"}), side=_oversize),
    Probe("flood", E({"close 1008"}), side=_flood),
    Probe("bad_origin", E({"close 1008", "http 403"}), side=_bad_origin),
    Probe("future_version", E({"table"}), side=_future_version),
    Probe("stale_version", E({"table", "events"}), side=_stale_version),
)


BY_NAME = {p.name: p for p in PROBES}


def run_probe(bot, probe: Probe) -> None:
    """Send one bad input and record the server's answer in ``bot.stats``."""
    if probe.side is not None:
        answer = probe.side(bot)
        if answer is not None:
            bot.stats.probe(probe.name, probe.expected, answer)
        return
    rid = next(bot.rids)
    built = probe.frame(bot, rid)
    if built is None:
        return
    data, opcode = built
    result = gevent.event.AsyncResult()
    bot.probe = (rid, result)
    try:
        bot.ws.send(data, opcode)
        answer = result.get(timeout=ANSWER_WITHIN)
    except gevent.Timeout:
        answer = "no answer"
    except (OSError, websocket.WebSocketException):
        answer = result.get(timeout=ANSWER_WITHIN) if result.ready() else "send failed"
    finally:
        bot.probe = None
    bot.stats.probe(probe.name, probe.expected, answer)
