"""How the root is laid out as JSON: a snapshot image's body, its ``lazy`` member, the checks.

Three functions form the contract between the server's root
(:mod:`server.root`) and the snapshot files (:mod:`persistence.snapshot`):

- :func:`root_to_json` -- the root as JSON-ready data (session tokens, decks
  and hole cards included: a snapshot is a secret);
- :func:`root_from_json` -- the exact inverse (``root_to_json(root_from_json(d)) == d``);
- :func:`check_root` -- the invariants a sound root keeps (cards and chips).

:func:`root_image` and :func:`lazy_image` are :func:`root_to_json` made cheap for
the image writer (the same JSON once serialised). Format 2 dropped each table's
``history_max`` (the event history is the transport's now, not the root's);
format 3 added ``tournaments`` and ``next_tournament`` (registration and prize
pools, :mod:`server.tournaments`; each table's ``tournament``); format 4 added a
cluster shard's ``shard``, pending ``transfers`` and ``next_transfer``
(:mod:`server.transfers`); format 5 moved each table's ``hand_start`` (the table as
its current hand began) from the body to the ``lazy`` member (a start does not parse
it: the table keeps it as an ``orjson.Fragment`` until a hand ends and writes it into
the hand's record as it is) and added each table's ``waiting`` list and ``offer``
(:mod:`server.waiting`); format 6 holds a table's ``offers`` (a list: several free
seats may be held at once) where 5 had one ``offer``. Images of formats 1 to 5 still
load (no tournaments before 3, one process before 4, no waiting lists before 5, one
offer in 5).

>>> from server.root import TableConfig, add_player, add_table, new_root
>>> root = new_root()
>>> t = add_table(root, "Heads-up 1/2", TableConfig(2, 1, 2, 0, 40, 200))
>>> p = add_player(root, "ann", token="x" * 43)
>>> check_root(root)
[]
>>> root_to_json(root_from_json(root_to_json(root))) == root_to_json(root)
True
"""

from __future__ import annotations

import zlib
from collections import deque

import orjson

from game.table import action_from_json, apply, street_of, table_from_json, table_to_json
from persistence.snapshot import fragment
from server.root import (CHAT_LINES, FINISHED_HANDS, RECENT_POTS, Clock, Player, Room, Root,
                         TableConfig, finished_hands, pack_hand)
from server.tournaments import tournament_from_json, tournament_to_json

FORMAT = 6                  # bump when root_to_json's layout changes incompatibly
READS = (1, 2, 3, 4, 5, 6)  # formats root_from_json loads


# ---------------------------------------------------------------------------
# Finished hands and chat, parsed when first used


class LazyDeque(deque):
    """``Room.finished`` and ``Room.chat`` after a recovery: raw JSON until first used.

    (``Room.finished`` holds each hand compressed: see :func:`pack_hand`.)

    A snapshot keeps each table's finished hands and chat lines apart from the
    body (the image's ``lazy`` member, see docs/snapshots.md) so that a start
    does not parse them: only ``GET /api/tables/<id>/hands``, PHH downloads and
    full table views read them, and a later image copies the raw bytes as they
    are. Any use as a deque parses them first (once); then it is a plain deque.
    """

    def __init__(self, raw: bytes, maxlen: int, packed: bool = False):
        super().__init__((), maxlen)
        self.raw: bytes | None = raw
        self.packed = packed        # items are kept as pack_hand makes them (finished hands)

    def load(self) -> "LazyDeque":
        raw, self.raw = self.raw, None
        if raw is not None:
            items = orjson.loads(raw)
            deque.extend(self, map(pack_hand, items) if self.packed else items)
        return self

    def copy(self) -> deque:
        return deque(self.load(), self.maxlen)

    __copy__ = copy

    def __reduce__(self):
        return deque, (list(self.load()), self.maxlen)


def _loading(name: str):
    method = getattr(deque, name)

    def loaded_first(self, *args):
        if self.raw is not None:
            self.load()
        return method(self, *args)
    loaded_first.__name__ = name
    return loaded_first


for _name in ("__iter__", "__reversed__", "__len__", "__getitem__", "__setitem__",
              "__delitem__", "__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
              "__ge__", "__repr__", "__add__", "__mul__", "__iadd__", "__imul__", "append",
              "appendleft", "extend", "extendleft", "pop", "popleft", "clear", "count", "index",
              "insert", "remove", "reverse", "rotate"):
    setattr(LazyDeque, _name, _loading(_name))
del _name


# ---------------------------------------------------------------------------
# JSON round trip


def _clock_to_json(c: Clock) -> dict:
    return {"seat": c.seat, "hand": c.hand, "deadline": c.deadline,
            "bank_started": c.bank_started, "bank": list(c.bank), "expiries": list(c.expiries),
            "dealt": list(c.dealt)}


def _clock_from_json(d: dict) -> Clock:
    return Clock(seat=d["seat"], hand=d["hand"], deadline=d["deadline"],
                 bank_started=d["bank_started"], bank=d["bank"], expiries=d["expiries"],
                 dealt=d.get("dealt") or [0] * len(d["bank"]))


def _config_to_json(c: TableConfig) -> dict:
    return {"seats": c.seats, "small_blind": c.small_blind, "big_blind": c.big_blind,
            "ante": c.ante, "min_buy_in": c.min_buy_in, "max_buy_in": c.max_buy_in,
            "ante_kind": c.ante_kind, "straddle": c.straddle, "run_it_twice": c.run_it_twice,
            "game": c.game}


def _plain(value):
    """JSON data of a value that may be an ``orjson.Fragment`` (raw JSON kept as it is)."""
    return orjson.loads(orjson.dumps(value)) if type(value) is orjson.Fragment else value


def room_to_json(room: Room) -> dict:
    """One table as JSON-ready data."""
    return {
        "id": room.id, "name": room.name, "config": _config_to_json(room.config),
        "game": table_to_json(room.game), "v": room.v,
        "hand_start": _plain(room.hand_start), "hand_actions": list(room.hand_actions),
        "hand_names": dict(room.hand_names),
        "finished": finished_hands(room), "clock": _clock_to_json(room.clock),
        "next_hand_at": room.next_hand_at, "sat_out_since": list(room.sat_out_since),
        "hands_played": room.hands_played, "recent_pots": list(room.recent_pots),
        "chat": list(room.chat),
        "house_bots": list(room.house_bots),
        "creator": room.creator, "owner": room.owner, "created": room.created,
        "closing": room.closing, "tournament": room.tournament,
        "waiting": list(room.waiting), "offers": [dict(o) for o in room.offers],
    }


def room_from_json(d: dict, lazy: dict[str, bytes] | None = None) -> Room:
    """A table from :func:`room_to_json` data; from a snapshot image, its finished hands
    and chat come as raw JSON in ``lazy`` (field -> bytes) and are parsed when first used,
    and its hand's start (format 5) is kept raw (an ``orjson.Fragment``: it is only ever
    written out again)."""
    lazy = lazy or {}
    c = d["config"]
    start = lazy.get("hand_start")
    if start is None:
        start = d["hand_start"]
    elif start == b"null":
        start = None
    else:
        start = orjson.Fragment(start)
    return Room(
        id=d["id"], name=d["name"],
        config=TableConfig(**c),        # images before the house rules: their defaults
        game=table_from_json(d["game"]), v=d["v"],
        hand_start=start, hand_actions=d["hand_actions"],
        hand_names=d["hand_names"],
        finished=(LazyDeque(lazy["finished"], FINISHED_HANDS, packed=True) if "finished" in lazy
                  else deque(map(pack_hand, d["finished"]), maxlen=FINISHED_HANDS)),
        clock=_clock_from_json(d["clock"]), next_hand_at=d["next_hand_at"],
        sat_out_since=d["sat_out_since"], hands_played=d["hands_played"],
        recent_pots=deque(d["recent_pots"], maxlen=RECENT_POTS),
        chat=(LazyDeque(lazy["chat"], CHAT_LINES) if "chat" in lazy
              else deque(d["chat"], maxlen=CHAT_LINES)),
        house_bots=list(d.get("house_bots", ())),
        creator=d.get("creator"), owner=d.get("owner"), created=d.get("created"),
        tournament=d.get("tournament"),
        closing=d.get("closing", False),
        waiting=d.get("waiting", []),                   # none before format 5
        offers=_offers(d),
    )


def _offers(table: dict) -> list[dict]:
    """A table's held seats as JSON: ``offers``, or format 5's one ``offer`` (or null)."""
    if "offers" in table:
        return table["offers"]
    return [table["offer"]] if table.get("offer") else []


def root_to_json(root: Root) -> dict:
    """The root as JSON-ready data: tables, players, tokens, counters -- not connections.

    The result holds hole cards, decks and session tokens: treat it as a secret.
    """
    return {
        "format": FORMAT,
        "tables": {tid: room_to_json(room) for tid, room in root.tables.items()},
        "players": {pid: {"id": p.id, "name": p.name, "token": p.token,
                          "bankroll": p.bankroll, "seats": dict(p.seats)}
                    for pid, p in root.players.items()},
        "tokens": dict(root.tokens),
        "chips_issued": root.chips_issued,
        "next_player": root.next_player,
        "next_table": root.next_table,
        "tournaments": {tid: tournament_to_json(tr) for tid, tr in root.tournaments.items()},
        "next_tournament": root.next_tournament,
        "shard": root.shard, "transfers": {k: dict(t) for k, t in root.transfers.items()},
        "next_transfer": root.next_transfer,
        "counters": {k: dict(v) if isinstance(v, dict) else v
                     for k, v in root.counters.items()},
    }


LAZY_FIELDS = ("finished", "chat", "hand_start")   # a table's fields an image keeps apart
LAZY_BEFORE_5 = ("finished", "chat")                # (lazy_image); before format 5


def room_image(room: Room, fragments=None) -> dict:
    """:func:`room_to_json` for a snapshot body, made cheap: everything but the
    :data:`LAZY_FIELDS` (the image carries those apart, see :func:`lazy_image`).

    The same JSON once serialised, but orjson writes the clock dataclass
    itself (in C), the game table (its fields at their defaults left out) is
    serialised only when it changed (:func:`persistence.snapshot.fragment`). No
    defensive copies: the image is serialised before anything can change.
    """
    return {
        "id": room.id, "name": room.name, "config": fragment(fragments, room.config),
        "game": fragment(fragments, room.game, table_to_json), "v": room.v,
        "hand_actions": room.hand_actions, "hand_names": room.hand_names,
        "clock": room.clock, "next_hand_at": room.next_hand_at,
        "sat_out_since": room.sat_out_since, "hands_played": room.hands_played,
        "recent_pots": list(room.recent_pots), "house_bots": room.house_bots,
        "creator": room.creator, "owner": room.owner, "created": room.created,
        "closing": room.closing, "tournament": room.tournament,
        "waiting": room.waiting, "offers": room.offers,
    }


def root_image(root: Root, fragments=None):
    """A snapshot's body: ``orjson.loads(orjson.dumps(root_image(root)))`` is exactly
    :func:`root_to_json` ``(root)`` without each table's :data:`LAZY_FIELDS`, at a
    fraction of the cost."""
    return {
        "format": FORMAT,
        "tables": {tid: room_image(room, fragments) for tid, room in root.tables.items()},
        "players": {pid: {"id": p.id, "name": p.name, "token": p.token,
                          "bankroll": p.bankroll, "seats": p.seats}
                    for pid, p in root.players.items()},
        "tokens": root.tokens, "chips_issued": root.chips_issued,
        "next_player": root.next_player, "next_table": root.next_table,
        "tournaments": {tid: tournament_to_json(tr) for tid, tr in root.tournaments.items()},
        "next_tournament": root.next_tournament,
        "shard": root.shard, "transfers": root.transfers, "next_transfer": root.next_transfer,
        "counters": root.counters,
    }


def lazy_image(root: Root) -> bytes:
    """A snapshot's ``lazy`` member: each table's finished hands, chat and hand start,
    one a line.

    ``{`` newline, then per table ``"<table id>/finished":[<hand>,...]``,
    ``"<table id>/chat":[<line>,...]`` and ``"<table id>/hand_start":<table or null>``,
    a comma and a newline between lines, then
    a newline and ``}``: one JSON object (orjson never writes a raw newline
    inside a value), which :func:`split_lazy` cuts per line without parsing.
    ``join_lazy(lazy_parts(root))``: see those for who does what where.
    """
    return join_lazy(lazy_parts(root))


def lazy_parts(root: Root) -> list[tuple[str, str, bytes | tuple[bytes, ...]]]:
    """What :func:`lazy_image` is made of, taken in one go (on the loop): ``(table id,
    field, part)``, where the part is JSON (a chat, or what is still raw since a
    recovery), a table's kept hands as the immutable bytes they are kept in, or the
    hand's start as it is (a dict nobody changes once made, or a fragment).
    Nothing in it changes later, so :func:`join_lazy` may run anywhere, later:
    a snapshot's thread or forked child, not the loop, decompresses the hands
    and serialises the starts."""
    parts = []
    for tid, room in root.tables.items():
        for name in LAZY_FIELDS:
            f = getattr(room, name)
            if name == "hand_start":
                part = f
            elif type(f) is LazyDeque and f.raw is not None:
                part = f.raw
            elif name == "finished":
                part = tuple(f)
            else:
                part = orjson.dumps(list(f))
            parts.append((tid, name, part))
    return parts


def join_lazy(parts: list[tuple[str, str, bytes | tuple[bytes, ...]]]) -> bytes:
    """:func:`lazy_image` bytes from :func:`lazy_parts`."""
    if not parts:
        return b"{}"
    lines = [b"{"]
    for tid, name, part in parts:
        if type(part) is tuple:     # kept hands: each one's JSON, joined
            part = b"[" + b",".join(map(zlib.decompress, part)) + b"]"
        elif type(part) is not bytes:   # a hand's start (a fragment gives its bytes back)
            part = orjson.dumps(part)
        lines.append(b'%s/%s":%s,' % (orjson.dumps(tid)[:-1], name.encode(), part))
    lines[-1] = lines[-1][:-1]
    lines.append(b"}")
    return b"\n".join(lines)


def split_lazy(lazy: bytes) -> dict[str, dict[str, bytes]]:
    r"""Table id -> field -> its raw JSON, from :func:`lazy_image` bytes.

    Each part is cut out of ``lazy`` once (a start cuts 10,000 tables' worth).

    >>> split_lazy(b'{\n"t1/finished":[],\n"t1/chat":[{"text":"gg"}]\n}')
    {'t1': {'finished': b'[]', 'chat': b'[{"text":"gg"}]'}}
    """
    out: dict[str, dict[str, bytes]] = {}
    first = lazy.find(b"\n")
    end = len(lazy) - 2                   # the last line is "}"
    if first < 0 or first >= end:
        if lazy.strip() not in (b"{}", b""):
            raise ValueError("the lazy member is not one line per field")
        return out
    if lazy[end:] != b"\n}":
        raise ValueError("the lazy member does not end with its own line '}'")
    at = first + 1
    while at < end:                       # one "<table id>/<field>":<json> line each
        nl = lazy.find(b"\n", at, end)
        stop = nl if nl >= 0 else end
        nxt = stop + 1
        if nl >= 0:
            if lazy[stop - 1:stop] != b",":
                raise ValueError("the lazy member is not one line per field")
            stop -= 1
        colon = lazy.find(b'":', at, stop)
        if lazy[at:at + 1] == b'"' and colon > at and lazy.find(b"\\", at, colon) < 0:
            key, part = lazy[at + 1:colon].decode(), lazy[colon + 2:stop]
        else:   # an unusual table id: let the parser read the key
            (key, value), = orjson.loads(b"{" + lazy[at:stop] + b"}").items()
            part = orjson.dumps(value)
        tid, _, name = key.rpartition("/")
        if name not in LAZY_FIELDS:
            raise ValueError(f"unknown lazy field {key!r}")
        out.setdefault(tid, {})[name] = part
        at = nxt
    return out


def with_lazy(data: dict) -> dict:
    """Image data as :func:`root_to_json` returns it: the raw ``lazy`` member (see
    :func:`persistence.image.decode`) parsed into each table's fields."""
    raw = data.pop("lazy", None)
    if raw is not None:
        for tid, parts in split_lazy(raw).items():
            for name, part in parts.items():
                data["tables"][tid][name] = orjson.loads(part)
    return data


def root_from_json(data: dict) -> Root:
    """Rebuild a root from :func:`root_to_json` data, or from a snapshot's body with its
    raw ``lazy`` member (finished hands and chat are then parsed when first used);
    raises on malformed data.

    The root takes over the lists and dicts of ``data`` (copying them was a tenth of
    a 10,000-table start): pass data nobody else changes, such as freshly parsed JSON
    or :func:`root_to_json`'s own copies.
    """
    if data.get("format") not in READS:
        raise ValueError(f"root format {data.get('format')!r}, this server reads "
                         f"{', '.join(map(str, READS))}")
    lazy = split_lazy(data["lazy"]) if data.get("lazy") is not None else None
    fields = len(LAZY_FIELDS if data["format"] >= 5 else LAZY_BEFORE_5)
    if lazy is not None and (lazy.keys() != data["tables"].keys() or any(
            len(parts) != fields for parts in lazy.values())):
        raise ValueError("the lazy member does not hold the same tables as the body")
    root = Root(
        tables={tid: room_from_json(d, lazy[tid] if lazy is not None else None)
                for tid, d in data["tables"].items()},
        players={pid: Player(id=p["id"], name=p["name"], token=p["token"],
                             bankroll=p["bankroll"], seats=p["seats"])
                 for pid, p in data["players"].items()},
        tokens=data["tokens"],
        chips_issued=data["chips_issued"],
        next_player=data["next_player"],
        next_table=data["next_table"],
        tournaments={tid: tournament_from_json(d)
                     for tid, d in data.get("tournaments", {}).items()},
        next_tournament=data.get("next_tournament", 1),
        shard=data.get("shard", 0),
        transfers=data.get("transfers", {}),
        next_transfer=data.get("next_transfer", 1),
        counters={k: dict(v) if isinstance(v, dict) else v
                  for k, v in data["counters"].items()},
    )
    root.names.update(p.name.casefold() for p in root.players.values())
    return root


# ---------------------------------------------------------------------------
# Invariants


def check_root(data_or_root: Root | dict, replay: bool = False) -> list[str]:
    """The invariant problems of a root (or of its JSON data); empty when it is sound.

    - every running hand's deck, hole cards and board are the 52 distinct cards;
    - bankrolls + stacks + pots + tournament prize pools + chips on their way to a
      cluster's wallet == ``chips_issued``
      (chips move between a bankroll and a stack or a pool inside one handler,
      so none are ever in transit); a prize pool holds the buy-ins of its
      registered players less the prizes paid;
    - no negative chips; every token names a player; every seat a player
      claims holds that player; every player on a waiting list exists, once, and a
      held seat is held for a listed player;
    - with ``replay``: the current hand's start plus its recorded actions
      replay to the table. That is most of the cost of a check (every table's
      hand through the rules), so recovery leaves it to
      ``python -m persistence.replay DIR --verify`` and the tests.

    Never raises: malformed data is reported as a problem.
    """
    data = root_to_json(data_or_root) if isinstance(data_or_root, Root) else data_or_root
    if replay and isinstance(data, dict) and data.get("lazy") is not None:
        # An image's data: the hands' starts are in its raw lazy member (parse a copy).
        data = with_lazy({**data, "tables": {tid: dict(t) for tid, t in data["tables"].items()}})
    problems: list[str] = []
    try:
        _check(data, problems, replay)
    except Exception as e:  # noqa: BLE001 - malformed data is a problem, not a crash
        problems.append(f"malformed root: {e!r}")
    return problems


def _check(data: dict, problems: list[str], replay: bool) -> None:
    # Runs over every table at each start (10,000 tables: keep it lean).
    total = 0
    players = data["players"]
    tables = data["tables"]
    for pid, p in players.items():
        bankroll = p["bankroll"]
        if type(bankroll) is not int or bankroll < 0:
            problems.append(f"player {pid}: bad bankroll {bankroll!r}")
        total += bankroll
        for tid, seat in p["seats"].items():
            table = tables.get(tid)
            seats = table["game"]["seats"] if table else ()
            s = seats[seat] if 0 <= seat < len(seats) else None
            if s is None or s["player"] != pid:
                problems.append(f"player {pid}: claims seat {seat} at {tid} but does not hold it")
    for token, pid in data["tokens"].items():
        if pid not in players or players[pid]["token"] != token:
            problems.append(f"token for {pid!r} does not match a player")
    for tid, table in tables.items():
        game = table["game"]
        hand = game["hand"]
        # (fields at their defaults are left out: see game.table.table_to_json)
        running = hand is not None and street_of(hand) != "complete"
        cards = [*hand["deck"], *hand.get("board", ())] if running else None
        for i, s in enumerate(game["seats"]):
            if s is None:
                continue
            stack, put_in, pid = s["stack"], s.get("total", 0), s["player"]
            if stack < 0 or put_in < 0:
                problems.append(f"{tid} seat {i}: negative chips")
            p = players.get(pid)
            if p is None:
                problems.append(f"{tid} seat {i}: unknown player {pid!r}")
            elif not s.get("leaving") and p["seats"].get(tid) != i:
                problems.append(f"{tid} seat {i}: {pid} does not know it sits here")
            if table.get("tournament") is not None:
                pass                       # tournament chips: not bankroll chips
            elif running:
                total += stack + put_in    # what is in the pot is still at the table
                if s.get("in_hand"):
                    cards += s.get("cards", ())
            else:
                total += stack
        if replay and table["hand_start"] is not None:
            # The recorded hand must replay to the table as it stands.
            replayed = table_from_json(table["hand_start"])
            for action in table["hand_actions"]:
                replayed, _ = apply(replayed, action_from_json(action))
            if table_to_json(replayed) != game:
                problems.append(f"{tid}: replaying the current hand's actions does not give "
                                "the table as stored")
        listed = table.get("waiting", ())
        if any(pid not in players for pid in listed) or len(set(listed)) != len(listed):
            problems.append(f"{tid}: waiting list {listed!r} names an unknown player or one "
                            "twice")
        offered = [o["player"] for o in _offers(table)]
        if any(pid not in listed for pid in offered) or len(set(offered)) != len(offered):
            problems.append(f"{tid}: seats offered to {offered!r}: one not on its list, or "
                            "one player twice")
        if running and (len(cards) != 52 or len(set(cards)) != 52):
            problems.append(f"{tid}: hand {hand['number']} has {len(set(cards))} distinct "
                            f"cards of {len(cards)}, not the 52")
    for tid, tr in data.get("tournaments", {}).items():
        pool, buy_in = tr["pool"], tr["config"]["buy_in"]
        paid = sum(r[2] for r in tr["results"])
        if pool != buy_in * len(tr["registered"]) - paid or pool < 0:
            problems.append(f"tournament {tid}: pool {pool}, but {len(tr['registered'])} "
                            f"buy-ins of {buy_in} less {paid} paid")
        total += pool
    for tid, t in data.get("transfers", {}).items():
        if t["amount"] > 0:
            total += t["amount"]        # on its way to the cluster's wallet
        if t["player"] not in players:
            problems.append(f"transfer {tid}: unknown player {t['player']!r}")
    if total != data["chips_issued"]:
        problems.append(f"chips: {total} in play but {data['chips_issued']} issued")
