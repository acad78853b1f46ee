"""Parsing client frames into messages, strictly; encoding server messages.

Every frame from the network goes through :func:`parse` and comes out as one
of the message values below, or raises :class:`ProtocolError` with the code
and reason the client gets back. Nothing else in the server ever sees the raw
JSON, and nothing here knows poker rules: whether a raise is big enough is the
engine's business; whether ``amount`` is a whole number of chips is ours.

>>> parse('{"type": "act", "table": "t1", "action": "raise", "amount": 60, "rid": 7}')
Act(table='t1', action='raise', amount=60, rid=7)
>>> parse('{"type": "act", "table": "t1", "action": "raise", "amount": true}')
Traceback (most recent call last):
...
server.protocol.ProtocolError: bad_message: amount must be a whole number, not true
>>> parse('{"type": "ping", "type": "ping"}')
Traceback (most recent call last):
...
server.protocol.ProtocolError: bad_json: duplicate key 'type'
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

import orjson

PROTOCOL = 2           # the protocol version: hello says it, welcome repeats it (docs/protocol.md)
MAX_BYTES = 16 * 1024
MAX_DEPTH = 4          # {"type": "hello", "tables": {"t1": 3}} is depth 2
MAX_INT = 10 ** 12     # no chip count or version comes near this
MAX_RID = 64
MAX_CHAT = 200
MAX_NAME = 20
MAX_TABLES_IN_HELLO = 100

ACTIONS = ("fold", "check", "call", "bet", "raise", "all_in")

Rid = str | int | None


class ProtocolError(ValueError):
    """A frame that is not a valid message; ``code`` is the error code the client gets."""

    def __init__(self, code: str, message: str, rid: Rid = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.rid = rid


# ---------------------------------------------------------------------------
# Messages (one value per client message type)


@dataclass(frozen=True, slots=True)
class Hello:
    name: str | None = None
    token: str | None = None
    tables: tuple[tuple[str, int], ...] = ()   # (table id, last v seen)
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Tables:
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Watch:
    table: str
    v: int | None = None
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Unwatch:
    table: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Sit:
    table: str
    seat: int
    buy_in: int
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Act:
    table: str
    action: str            # one of ACTIONS
    amount: int | None = None  # bet and raise only: the total the bet goes *to*
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class SitOutMsg:
    table: str
    when: str = "hand"       # "hand": once the hand being played is over; or "big_blind"
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class SitInMsg:
    table: str
    post: bool = False       # post the missed blinds to be dealt in at once
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class RunTwiceMsg:
    table: str
    agree: bool = True
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class TopUpMsg:
    table: str
    amount: int
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Leave:
    table: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class WaitMsg:
    table: str             # join this full table's waiting list
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class UnwaitMsg:
    table: str             # leave its waiting list
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Chat:
    table: str
    text: str              # trimmed, control characters removed, 1..200 characters
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class Ping:
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class CreateTournament:
    name: str
    seats: int
    buy_in: int
    starting_stack: int
    levels: tuple[tuple[int, int, int], ...]
    seconds: float
    multi_table: bool = False      # tables of ``seats``, started with start_tournament
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class StartTournament:
    tournament: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class TournamentsMsg:
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class RegisterMsg:
    tournament: str
    rid: Rid = None


@dataclass(frozen=True, slots=True)
class UnregisterMsg:
    tournament: str
    rid: Rid = None


Message = (Hello | Tables | Watch | Unwatch | Sit | Act | SitOutMsg | SitInMsg | RunTwiceMsg
           | TopUpMsg | Leave | Chat | Ping | CreateTournament | TournamentsMsg | RegisterMsg
           | UnregisterMsg | StartTournament | WaitMsg | UnwaitMsg)


# ---------------------------------------------------------------------------
# JSON, strictly


def _reject_constant(name: str):
    raise ProtocolError("bad_json", f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError("bad_json", f"number {text[:20]} is out of range")
    return value


def _int(text: str) -> int:
    # Checked before int() so a 5,000-digit number costs nothing.
    if len(text) > 16:
        raise ProtocolError("bad_message", f"number {text[:20]}... is out of range")
    return int(text)


def _object(pairs: list) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ProtocolError("bad_json", f"duplicate key {key!r}")
            seen.add(key)
    return data


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_reject_constant,
                            parse_float=_float, parse_int=_int, strict=True)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str, limit: int) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (checked before parsing,
    so that 10,000 levels never reach the recursive decoder)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json(raw: str | bytes, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH):
    """Decode one JSON document strictly; raise :class:`ProtocolError` (``bad_json``).

    Refuses invalid UTF-8, NaN and Infinity, numbers that overflow a double,
    duplicate keys, nesting deeper than ``max_depth``, and trailing data.

    >>> parse_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> parse_json('[' * 10000)
    Traceback (most recent call last):
    ...
    server.protocol.ProtocolError: bad_json: nested deeper than 4 levels
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        if len(raw) > max_bytes:
            raise ProtocolError("bad_message", f"message over {max_bytes} bytes")
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_json", "not valid UTF-8") from None
    else:
        text = raw
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise ProtocolError("bad_message", f"message over {max_bytes} bytes")
    if not text.strip():
        raise ProtocolError("bad_json", "empty message")
    if _too_deep(text, max_depth):
        raise ProtocolError("bad_json", f"nested deeper than {max_depth} levels")
    data = _fast(text)
    if data is not _SLOW:
        return data
    try:
        return _DECODER.decode(text)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as e:
        raise ProtocolError("bad_json", f"not JSON: {e}") from None


_SLOW = object()


def _fast(text: str):
    """orjson's parse of ``text`` when it is certainly what the strict decoder returns,
    else :data:`_SLOW` (the strict decoder then decides, and words any error).

    orjson is five times as fast but takes what the strict decoder refuses: a key
    twice (the last wins), integers over 16 characters (over 64 bits it reads them as
    floats). Every key of a JSON object has its own ``:``, so when the document has as
    many ``:`` as its objects have keys no key is there twice (a ``:`` inside a string
    only sends it to the strict decoder); integers are checked against the strict
    decoder's bound, and a document with a float goes to the strict decoder (client
    messages have none). So does whatever orjson refuses (invalid JSON, NaN, a lone
    surrogate, invalid UTF-8).

    >>> _fast('{"type": "act", "amount": 60}')
    {'type': 'act', 'amount': 60}
    >>> [_fast(t) is _SLOW for t in ('{"a": 1, "a": 2}', '{"a": "x:y"}', '[10000000000000000]',
    ...                              '[100000000000000000000000]', '[1.5]')]
    [True, True, True, True, True]
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _SLOW
    keys = _vouch(data)
    return data if keys is not None and keys == text.count(":") else _SLOW


def _vouch(value) -> int | None:
    """How many object keys ``value`` holds, or None when it holds a float or an integer
    the strict decoder refuses (over 16 characters)."""
    kind = type(value)
    if kind is dict or kind is list:
        n = len(value) if kind is dict else 0
        for v in value.values() if kind is dict else value:
            if type(v) in _CONTAINERS_AND_NUMBERS:
                more = _vouch(v)
                if more is None:
                    return None
                n += more
        return n
    if kind is int:
        return 0 if -10**15 < value < 10**16 else None    # _int: at most 16 characters
    if kind is float:
        return None
    return 0


_CONTAINERS_AND_NUMBERS = (dict, list, int, float)


# ---------------------------------------------------------------------------
# Fields


def _describe(value) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _str(data: dict, key: str, longest: int) -> str:
    value = data[key]
    if type(value) is not str:
        raise ProtocolError("bad_message", f"{key} must be a string, not {_describe(value)}")
    if len(value) > longest:
        raise ProtocolError("bad_message", f"{key} is longer than {longest} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError("bad_message", f"{key} holds an unpaired surrogate") from None
    return value


def whole_number(data: dict, key: str, least: int = 0, most: int = MAX_INT) -> int:
    """``data[key]`` as a whole number in ``least..most``, or ``ProtocolError`` (bad_message)."""
    # bool is an int in Python: `true` must not pass as 1 chip.
    value = data[key]
    if type(value) is not int:
        raise ProtocolError("bad_message", f"{key} must be a whole number, not {_describe(value)}")
    if not least <= value <= most:
        if least == 1 and value < 1:
            raise ProtocolError("bad_message", f"{key} must be at least 1, not {value}")
        raise ProtocolError("bad_message", f"{key} must be between {least} and {most}")
    return value


_TABLE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_NAME = re.compile(r"[\w .-]{1,20}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _table(data: dict) -> str:
    value = _str(data, "table", 32)
    if not _TABLE_ID.fullmatch(value):
        raise ProtocolError("bad_message", f"table must be a table id, not {_describe(value)}")
    return value


def player_name(value) -> str:
    """A valid player name: 1-20 letters (of any script), digits, spaces and ``_-.``,
    trimmed and in Unicode's composed form (NFC: an accent typed as a separate mark
    joins its letter). The browser client checks the same rule (``playerName`` in
    client/static/names.js, compared with this one by tests/test_names.py).

    >>> player_name("  ann "), player_name("Jose\u0301"), player_name("李")
    ('ann', 'José', '李')
    >>> player_name("<b>")
    Traceback (most recent call last):
    ...
    server.protocol.ProtocolError: bad_message: a name is 1-20 letters, digits, spaces and _-.
    """
    if type(value) is not str:
        raise ProtocolError("bad_message", f"name must be a string, not {_describe(value)}")
    name = unicodedata.normalize("NFC", value.strip())
    if not _NAME.fullmatch(name) or "\n" in name:
        raise ProtocolError("bad_message", "a name is 1-20 letters, digits, spaces and _-.")
    return name


def chat_text(value) -> str:
    """Chat text made safe to store: control characters removed, trimmed, 1-200 characters.

    It is still data, never markup: clients display it as text.

    >>> chat_text(" gl\\x00 hf ")
    'gl hf'
    """
    if type(value) is not str:
        raise ProtocolError("bad_message", f"text must be a string, not {_describe(value)}")
    text = _CONTROL.sub("", value).strip()
    if not text:
        raise ProtocolError("chat", "empty chat message")
    if len(text) > MAX_CHAT:
        raise ProtocolError("chat", f"chat messages are at most {MAX_CHAT} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError("bad_message", "text holds an unpaired surrogate") from None
    return text


def _rid(data: dict) -> Rid:
    if "rid" not in data:
        return None
    value = data["rid"]
    if type(value) is int and abs(value) <= 2 ** 53:
        return value
    if type(value) is str and len(value) <= MAX_RID:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return value
    raise ProtocolError("bad_message", f"rid must be a string of at most {MAX_RID} characters "
                        "or an integer")


# ---------------------------------------------------------------------------
# Messages


def _fields(data: dict, kind: str, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    missing = [k for k in required if k not in data]
    if missing:
        raise ProtocolError("bad_message", f"{kind} needs {', '.join(missing)}")
    extra = sorted(k for k in data if k not in required and k not in optional
                   and k not in ("type", "rid"))
    if extra:
        raise ProtocolError("bad_message", f"{kind} has unknown field(s): {', '.join(extra)}")


def _hello(data: dict, rid: Rid) -> Hello:
    _fields(data, "hello", (), ("name", "token", "tables", "protocol"))
    if data.get("protocol") != PROTOCOL:
        # An old client would misread what this server sends: refuse it plainly.
        raise ProtocolError("protocol", f"this server speaks protocol {PROTOCOL} (table events "
                            "come in batches): reload the page, or update the client and "
                            f"say \"protocol\": {PROTOCOL} in hello", rid)
    if ("name" in data) == ("token" in data):
        raise ProtocolError("bad_message", "hello needs either a name or a token")
    if "name" in data:
        if "tables" in data:
            raise ProtocolError("bad_message", "tables goes with a token, not a name")
        return Hello(name=player_name(data["name"]), rid=rid)
    token = _str(data, "token", 64)
    tables: tuple[tuple[str, int], ...] = ()
    if "tables" in data:
        seen = data["tables"]
        if type(seen) is not dict or len(seen) > MAX_TABLES_IN_HELLO:
            raise ProtocolError("bad_message", "tables must be an object of table id to version "
                                f"(at most {MAX_TABLES_IN_HELLO})")
        tables = tuple((_table({"table": k}), whole_number(seen, k)) for k in seen)
    return Hello(token=token, tables=tables, rid=rid)


def _act(data: dict, rid: Rid) -> Act:
    action = data.get("action")
    if action in ("bet", "raise"):
        _fields(data, "act", ("table", "action", "amount"))
        return Act(_table(data), action, whole_number(data, "amount", 1), rid)
    _fields(data, "act", ("table", "action"))
    if action not in ACTIONS:
        raise ProtocolError("bad_message", f"action must be one of {', '.join(ACTIONS)}, "
                            f"not {_describe(action)}")
    return Act(_table(data), action, None, rid)


def _table_only(cls, kind: str):
    def parse_it(data: dict, rid: Rid):
        _fields(data, kind, ("table",))
        return cls(_table(data), rid)
    return parse_it


def _nothing(cls, kind: str):
    def parse_it(data: dict, rid: Rid):
        _fields(data, kind, ())
        return cls(rid)
    return parse_it


def _watch(data: dict, rid: Rid) -> Watch:
    _fields(data, "watch", ("table",), ("v",))
    return Watch(_table(data), whole_number(data, "v") if "v" in data else None, rid)


def _sit(data: dict, rid: Rid) -> Sit:
    _fields(data, "sit", ("table", "seat", "buy_in"))
    return Sit(_table(data), whole_number(data, "seat", 0, 99), whole_number(data, "buy_in", 1),
               rid)


def _flag(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if type(value) is not bool:
        raise ProtocolError("bad_message", f"{key} must be true or false, not {_describe(value)}")
    return value


def _sit_out(data: dict, rid: Rid) -> SitOutMsg:
    _fields(data, "sit_out", ("table",), ("when",))
    when = data.get("when", "hand")
    if when not in ("hand", "big_blind"):
        raise ProtocolError("bad_message", f"when is hand or big_blind, not {_describe(when)}")
    return SitOutMsg(_table(data), when, rid)


def _sit_in(data: dict, rid: Rid) -> SitInMsg:
    _fields(data, "sit_in", ("table",), ("post",))
    return SitInMsg(_table(data), _flag(data, "post", False), rid)


def _run_twice(data: dict, rid: Rid) -> RunTwiceMsg:
    _fields(data, "run_twice", ("table",), ("agree",))
    return RunTwiceMsg(_table(data), _flag(data, "agree", True), rid)


def _top_up(data: dict, rid: Rid) -> TopUpMsg:
    _fields(data, "top_up", ("table", "amount"))
    return TopUpMsg(_table(data), whole_number(data, "amount", 1), rid)


def _chat(data: dict, rid: Rid) -> Chat:
    _fields(data, "chat", ("table", "text"))
    if type(data["text"]) is str and len(data["text"]) > 4 * MAX_CHAT:
        raise ProtocolError("chat", f"chat messages are at most {MAX_CHAT} characters")
    return Chat(_table(data), chat_text(data["text"]), rid)


def _tournament_id(data: dict) -> str:
    tid = data.get("tournament")
    if type(tid) is not str or not 1 <= len(tid) <= 16:
        raise ProtocolError("bad_message", "tournament must be a tournament id")
    return tid


def _tournament_only(cls, kind: str):
    def parse_it(data: dict, rid: Rid):
        _fields(data, kind, ("tournament",))
        return cls(_tournament_id(data), rid)
    return parse_it


def _create_tournament(data: dict, rid: Rid) -> CreateTournament:
    _fields(data, "create_tournament",
            ("name", "seats", "buy_in", "starting_stack", "levels", "seconds"),
            ("multi_table",))
    name = data["name"]
    if type(name) is not str or not 1 <= len(name.strip()) <= 40:
        raise ProtocolError("bad_message", "name is 1 to 40 characters")
    levels = data["levels"]
    if (type(levels) is not list or not 1 <= len(levels) <= 50 or any(
            type(lv) is not list or len(lv) != 3 or any(type(x) is not int or x < 0 for x in lv)
            or not 0 < lv[0] <= lv[1] for lv in levels)):
        raise ProtocolError("bad_message", "levels are 1 to 50 [small blind, big blind, ante] "
                            "of whole numbers, 0 < small blind <= big blind")
    seconds = data["seconds"]
    if type(seconds) not in (int, float) or not 1 <= seconds <= 86400:
        raise ProtocolError("bad_message", "seconds (a level's length) is 1 to 86400")
    return CreateTournament(name.strip(), whole_number(data, "seats", 2, 10),
                            whole_number(data, "buy_in", 0, 10**9),
                            whole_number(data, "starting_stack", 1, 10**9),
                            tuple(tuple(lv) for lv in levels), float(seconds),
                            _flag(data, "multi_table", False), rid)


PARSERS = {
    "create_tournament": _create_tournament,
    "tournaments": _nothing(TournamentsMsg, "tournaments"),
    "register": _tournament_only(RegisterMsg, "register"),
    "unregister": _tournament_only(UnregisterMsg, "unregister"),
    "start_tournament": _tournament_only(StartTournament, "start_tournament"),
    "hello": _hello,
    "tables": _nothing(Tables, "tables"),
    "watch": _watch,
    "unwatch": _table_only(Unwatch, "unwatch"),
    "sit": _sit,
    "act": _act,
    "sit_out": _sit_out,
    "sit_in": _sit_in,
    "run_twice": _run_twice,
    "top_up": _top_up,
    "leave": _table_only(Leave, "leave"),
    "wait": _table_only(WaitMsg, "wait"),
    "unwait": _table_only(UnwaitMsg, "unwait"),
    "chat": _chat,
    "ping": _nothing(Ping, "ping"),
}


_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def parse(raw: str | bytes) -> Message:
    """One client frame -> one message; raises :class:`ProtocolError` for anything else.

    A ``rid`` that parses is carried by the error too, so the client can match it.
    """
    data = parse_json(raw)
    if type(data) is not dict:
        raise ProtocolError("bad_message", "a message is a JSON object, not "
                            + _JSON_KINDS.get(type(data), "a number"))
    rid = None
    try:
        rid = _rid(data)
        if "type" not in data:
            raise ProtocolError("bad_message", "a message needs a type")
        kind = data["type"]
        parser = PARSERS.get(kind) if type(kind) is str else None
        if parser is None:
            raise ProtocolError("unknown_type", f"unknown message type {_describe(kind)}")
        return parser(data, rid)
    except ProtocolError as e:
        e.rid = rid
        raise


# ---------------------------------------------------------------------------
# Encoding


def encode(message: dict) -> bytes:
    """A server message as the UTF-8 payload of one text frame (compact JSON).

    Bytes, framed by the connection's writer (:mod:`server.conn`) without a
    round trip through ``str``.
    """
    return orjson.dumps(message)


def error(code: str, message: str, rid: Rid = None) -> dict:
    """An ``error`` message (``rid`` echoed when the request had one)."""
    out = {"type": "error", "code": code, "message": message}
    if rid is not None:
        out["rid"] = rid
    return out
