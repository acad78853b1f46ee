"""The lobby: listing tables, creating them, and summaries of recent hands.

Summaries are rebuilt by replaying a finished hand's recorded actions through
the engine, and carry only what every player at the table saw: who played,
the board, the pots, the winners and the cards shown at showdown -- never
the deck or a mucked hand.
"""

from __future__ import annotations

import dataclasses

from game.table import action_from_json, apply, new_table, table_from_json
from game.variants import label
from server import config, play, quotas
from server.effects import Effects
from server.protocol import ProtocolError, whole_number
from server.root import Room, Root, TableConfig, add_table, finished_hands

MAX_STAKE = 1_000_000


def lobby_entry(root: Root, room: Room) -> dict:
    """One table as the lobby shows it."""
    cfg = room.config
    names = [root.players[s.player].name for s in room.game.seats
             if s is not None and not s.leaving and s.player in root.players]
    pots = room.recent_pots
    return {"id": room.id, "name": room.name, "seats": cfg.seats, "game": cfg.game,
            "stakes": label(cfg.game, cfg.small_blind, cfg.big_blind),
            "small_blind": cfg.small_blind, "big_blind": cfg.big_blind, "ante": cfg.ante,
            "min_buy_in": cfg.min_buy_in, "max_buy_in": cfg.max_buy_in,
            "seats_taken": len(names), "players": names, "hands": room.hands_played,
            "avg_pot": round(sum(pots) / len(pots), 1) if pots else 0,
            "tournament": room.tournament, "waiting": len(room.waiting)}


def lobby(root: Root) -> list[dict]:
    return [lobby_entry(root, room) for room in root.tables.values()]


# A cluster's view of the other shards (docs/scaling.md), kept up to date by
# server.cluster from Redis: not state (never in the root), a cache of theirs.
elsewhere: list[dict] = []      # the other shards' tables, each with "shard", "available"
shards: tuple[int, ...] = ()    # every shard the cluster has
live: frozenset[int] = frozenset()   # the other shards whose heartbeat is fresh
elsewhere_tournaments: list[dict] = []   # the other shards' tournaments not finished


def everywhere(root: Root) -> list[dict]:
    """The lobby of the whole room: this process's tables and, in a cluster, every other
    shard's (``available`` false while its shard is down)."""
    return here(root) + elsewhere if root.shard else lobby(root)


def here(root: Root) -> list[dict]:
    """A shard's own tables as every shard's lobby shows them (with ``shard``)."""
    rows = lobby(root)
    for row in rows:
        row["shard"], row["available"] = root.shard, True
    return rows


def shard_of(table_id: str) -> int | None:
    """The shard a cluster's table or tournament id names (``t3-17``, ``T3-2``: 3), or None.

    >>> shard_of("t3-17"), shard_of("T3-2"), shard_of("t12"), shard_of("tx-1")
    (3, 3, None, None)
    """
    head, _, tail = table_id.partition("-")
    if head[:1] not in ("t", "T") or not head[1:].isdigit() or not tail.isdigit():
        return None
    return int(head[1:])


def no_table(root: Root, table_id: str, what: str = "table") -> str:
    """Why ``table_id`` (a table's, or a tournament's) is not here, as the ``no_table``
    (``no_tournament``) error says it."""
    shard = shard_of(table_id) if root.shard else None
    if shard is None or shard == root.shard:
        return f"no {what} {table_id!r}"
    if shard not in shards:
        return (f"no {what} {table_id!r}: this cluster has no shard {shard} (its shards: "
                f"{', '.join(map(str, shards)) or 'unknown yet'})")
    return f"{what} {table_id!r} is on shard {shard}: connect to /ws?shard={shard}"


def _whole(data: dict, key: str, least: int, most: int, default=None) -> int:
    if key not in data:
        if default is None:
            raise ValueError(f"{key} is required")
        return default
    try:
        return whole_number(data, key, least, most)
    except ProtocolError as e:
        raise ValueError(e.message) from None


CREATE_FIELDS = {"name", "seats", "small_blind", "big_blind", "ante", "min_buy_in",
                 "max_buy_in", "bots", "ante_kind", "straddle", "run_it_twice", "game"}


def table_config(data) -> tuple[str, TableConfig]:
    """Validate a ``POST /api/tables`` body; raises ``ValueError`` with the reason.

    ``bots`` (0-9, fewer than the seats) asks for that many bots at the table
    (seated by :func:`server.app.start_house_bots`). The house rules: ``ante_kind``
    (``"each"``, or ``"big_blind"``: one big-blind ante for the table), ``straddle``
    (what under the gun posts, at least twice the big blind; 0: none) and
    ``run_it_twice`` (all-in players who all agree see two boards). ``game``: ``"NT"``
    No-Limit Hold'em (the default), ``"PO"`` Pot-Limit Omaha (``"PO5"``: five cards),
    ``"FT"`` Fixed-Limit Hold'em (see :mod:`game.variants`).

    >>> table_config({"name": "Deep 1/2", "seats": 6, "small_blind": 1, "big_blind": 2})
    ('Deep 1/2', TableConfig(seats=6, small_blind=1, big_blind=2, ante=0, min_buy_in=40, max_buy_in=200, ante_kind='each', straddle=0, run_it_twice=False, game='NT'))
    >>> table_config({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "game": "PO"})[1].game
    'PO'
    >>> table_config({"name": "x", "seats": 6, "small_blind": 1, "big_blind": 2, "straddle": 3})
    Traceback (most recent call last):
    ...
    ValueError: a straddle must be 0 or at least twice the big blind (4), not 3
    >>> table_config({"name": "x", "seats": 11, "small_blind": 1, "big_blind": 2})
    Traceback (most recent call last):
    ...
    ValueError: seats must be between 2 and 10
    """
    if type(data) is not dict:
        raise ValueError("the body must be a JSON object")
    extra = sorted(set(data) - CREATE_FIELDS)
    if extra:
        raise ValueError(f"unknown field(s): {', '.join(extra)}")
    name = data.get("name")
    if type(name) is not str or not name.strip() or len(name.strip()) > 40 \
            or not name.strip().isprintable():
        raise ValueError("name must be 1-40 printable characters")
    seats = _whole(data, "seats", 2, 10)
    small = _whole(data, "small_blind", 1, MAX_STAKE)
    big = _whole(data, "big_blind", small, MAX_STAKE)
    ante = _whole(data, "ante", 0, big, default=0)
    min_buy_in = _whole(data, "min_buy_in", 1, 1000 * big, default=20 * big)
    max_buy_in = _whole(data, "max_buy_in", min_buy_in, 1000 * big,
                        default=max(100 * big, min_buy_in))
    if "bots" in data and _whole(data, "bots", 0, 9) >= seats:
        raise ValueError(f"at most {seats - 1} bots at a {seats}-seat table: leave a seat for you")
    ante_kind = data.get("ante_kind", "each")
    if ante_kind not in ("each", "big_blind"):
        raise ValueError("ante_kind is each or big_blind")
    straddle = _whole(data, "straddle", 0, 1000 * big, default=0)
    run_it_twice = data.get("run_it_twice", False)
    if type(run_it_twice) is not bool:
        raise ValueError("run_it_twice must be true or false")
    game = data.get("game", "NT")
    cfg = TableConfig(seats, small, big, ante, min_buy_in, max_buy_in, ante_kind, straddle,
                      run_it_twice, game)
    new_table(seats, small, big, ante, ante_kind=ante_kind, straddle=straddle,
              run_it_twice=run_it_twice, min_buy_in=min_buy_in, max_buy_in=max_buy_in,
              game=game)
    return name.strip(), cfg


def create_table(root: Root, data, fx: Effects, now: float, creator: str | None = None,
                 owner: str | None = None) -> Room:
    """A new table from a validated body, journaled in ``fx``; ``ValueError`` for a bad
    body, too many tables, or a creator over its quota (``creator`` is the address,
    ``owner`` the player when the request said who it was: see ``server.quotas``)."""
    name, cfg = table_config(data)
    if len(root.tables) >= config.settings.max_tables:
        raise ValueError(f"there are already {len(root.tables)} tables")
    refusal = quotas.table_refusal(root, creator, owner)
    if refusal is not None:
        raise quotas.OverQuota(refusal)
    room = add_table(root, name, cfg)
    room.creator, room.owner, room.created = creator, owner, now
    fx.journal.append({"k": "table", "id": room.id, "name": room.name,
                       "config": dataclasses.asdict(cfg), "creator": creator, "owner": owner,
                       "created": now})
    fx.wake[room.id] = play.due(room)       # an unused table expires
    return room


def hand_summary(room: Room, record: dict) -> dict:
    """A finished hand as every player at the table saw it (replayed from its actions)."""
    table = table_from_json(record["start"])
    names = record["names"]
    players, awards, shown, board = [], [], [], []
    for data in record["actions"]:
        table, events = apply(table, action_from_json(data))
        for e in events:
            kind = e.type
            if kind == "hand_started":
                players = [{"seat": i, "name": names.get(table.seats[i].player, "?"),
                            "stack": e.stacks[str(i)]} for i in e.seats]
            elif kind == "award":
                awards.append(e)
            elif kind == "show":
                shown.append({"seat": e.seat, "cards": list(e.cards), "hand": e.hand})
            elif kind == "street":
                board = list(e.board)
    by_seat = {p["seat"]: p["name"] for p in players}
    winners: dict[int, int] = {}
    for a in awards:
        for w in a.winners:
            winners[w.seat] = winners.get(w.seat, 0) + w.amount
    return {"number": record["number"], "players": players, "board": board,
            "pot": sum(a.amount for a in awards),
            "winners": [{"seat": s, "name": by_seat.get(s, "?"), "amount": amt}
                        for s, amt in winners.items()],
            "shown": shown, "ended": record.get("ended")}


def recent_hands(room: Room) -> list[dict]:
    """The table's recent finished hands, newest first."""
    return [hand_summary(room, r) for r in reversed(finished_hands(room))]


def finished_hand_phh(record: dict, table_id: str, player_id: str | None = None,
                      everything: bool = False) -> str | None:
    """A kept finished hand as PHH text, players named.

    For ``player_id`` only what they were entitled to see (their own cards and
    those shown at showdown); ``None`` when they were not dealt into the hand.
    ``everything=True`` (the replay tool, for developers) hides nothing.
    """
    from game import phh
    start = table_from_json(record["start"])
    actions = [action_from_json(a) for a in record["actions"]]
    viewer = None
    if not everything:
        _, events = apply(start, actions[0])
        dealt = next(e.seats for e in events if e.type == "hand_started")
        seat = next((i for i in dealt if start.seats[i].player == player_id), None)
        if seat is None:
            return None
        viewer = seat
    fields = phh.hand_to_phh(start, actions, viewer=viewer, table=table_id,
                             hand=record["number"])
    names = record.get("names") or {}
    fields["players"] = [names.get(p, p) for p in fields.get("players") or []]
    return phh.dumps_phh(fields)
