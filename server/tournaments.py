"""Tournaments in the root: their registration and prize pools (issue 16, first part).

The rules are :mod:`game.tournament`'s (pure); this module keeps each tournament
in the root as a :class:`TournamentRoom` and moves the buy-ins between the
bankrolls and the tournament's prize pool, like :mod:`server.play` does for
cash tables: each function changes the root and returns an
:class:`~server.effects.Effects` with its journal entries, and does no I/O.

Chips: a buy-in leaves the player's bankroll at registration and is held in
``pool`` (bankroll chips, not tournament chips) until it is refunded
(unregistering) or paid out; :func:`server.root.total_chips` counts the pools,
so bankrolls + cash tables + pools == ``chips_issued``.

Sit-and-gos are wired (:mod:`server.handlers`: ``create_tournament``, ``tournaments``,
``register``, ``unregister``): the registration that fills one calls :func:`start`
(each table becomes a root table with ``Room.tournament`` set: its chips are
tournament chips, not counted as bankroll chips); :func:`server.play.settle` calls
:func:`after_hand` when a hand at such a table is over (places, prizes paid from the
pool into bankrolls, moves and broken tables, next blinds); ``start_tournament`` starts a
multi-table one.

Journal entries (re-applied by :func:`apply_entry`):

- ``{"k": "tournament", "id", "name", "config", "creator", "created"}`` -- created;
- ``{"k": "register", "id", "player"}`` / ``{"k": "unregister", "id", "player"}``;
- ``{"k": "tstart", "id", "draw", "at"}`` -- started with that seat draw;
- ``{"k": "between", "id", "n", "at"}`` -- :func:`after_hand` at table ``n``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from game import tournament as rules
from game.table import (SitDown, StandUp, action_to_json, apply, can_start_hand, table_from_json,
                        table_to_json)
from server.root import Room, TableConfig, add_table
from server.effects import Effects

KINDS = ("tournament", "register", "unregister", "tstart", "between")


@dataclass
class TournamentRoom:
    """One tournament as the server knows it: the rules' value plus its pool."""

    id: str
    name: str
    t: rules.Tournament
    pool: int = 0                   # bankroll chips held: buy-ins not refunded nor paid
    creator: str | None = None      # the player who made it (None: the server)
    created: float | None = None
    rooms: dict[int, str] = field(default_factory=dict)     # table number -> root table id
    settled: dict[int, int] = field(default_factory=dict)   # table number -> last hand settled


# ---------------------------------------------------------------------------
# As JSON (journal entries and images)


def structure_to_json(s: rules.BlindStructure) -> dict:
    return {"levels": [[lv.small_blind, lv.big_blind, lv.ante] for lv in s.levels],
            "seconds": s.seconds, "hands_per_level": s.hands_per_level,
            "break_every": s.break_every, "break_seconds": s.break_seconds}


def structure_from_json(d: dict) -> rules.BlindStructure:
    return rules.BlindStructure(tuple(rules.Level(*lv) for lv in d["levels"]), d["seconds"],
                                d["hands_per_level"], d["break_every"], d["break_seconds"])


def config_to_json(t: rules.Tournament) -> dict:
    """What a tournament is made with (no players)."""
    return {"buy_in": t.buy_in, "starting_stack": t.starting_stack,
            "structure": structure_to_json(t.structure), "seats": t.seats,
            "capacity": t.capacity, "late_levels": t.late_levels}


def config_from_json(d: dict) -> rules.Tournament:
    return rules.Tournament(d["buy_in"], d["starting_stack"],
                            structure_from_json(d["structure"]), seats=d["seats"],
                            capacity=d["capacity"], late_levels=d["late_levels"])


def tournament_to_json(tr: TournamentRoom) -> dict:
    t = tr.t
    return {"id": tr.id, "name": tr.name, "config": config_to_json(t), "pool": tr.pool,
            "creator": tr.creator, "created": tr.created,
            "registered": list(t.registered), "started_at": t.started_at,
            "tables": [[n, table_to_json(table)] for n, table in t.tables],
            "results": [[r.player, r.place, r.prize] for r in t.results],
            "rooms": {str(n): rid for n, rid in tr.rooms.items()},
            "settled": {str(n): h for n, h in tr.settled.items()}}


def tournament_from_json(d: dict) -> TournamentRoom:
    t = dataclasses.replace(
        config_from_json(d["config"]), registered=tuple(d["registered"]),
        started_at=d["started_at"],
        tables=tuple((n, table_from_json(table)) for n, table in d["tables"]),
        results=tuple(rules.Placed(*r) for r in d["results"]))
    return TournamentRoom(d["id"], d["name"], t, d["pool"], d["creator"], d["created"],
                          {int(n): rid for n, rid in d.get("rooms", {}).items()},
                          {int(n): h for n, h in d.get("settled", {}).items()})


# ---------------------------------------------------------------------------
# Changes


def create(root, name: str, t: rules.Tournament, creator: str | None,
           now: float) -> tuple[TournamentRoom, Effects]:
    """A new tournament (nobody registered yet), with the next id (``T1``, ``T2``...; on
    shard 3 of a cluster ``T3-1``, ...: a tournament lives on one shard, like a table)."""
    if t.registered or t.started:
        raise rules.TournamentError("a new tournament has nobody registered yet")
    tid = f"T{root.shard}-{root.next_tournament}" if root.shard else f"T{root.next_tournament}"
    root.next_tournament += 1
    tr = TournamentRoom(tid, name, t, 0, creator, now)
    root.tournaments[tid] = tr
    fx = Effects(journal=[{"k": "tournament", "id": tid, "name": name,
                           "config": config_to_json(t), "creator": creator,
                           "created": now}])
    return tr, fx


def register(root, tr: TournamentRoom, player_id: str) -> Effects:
    """``player_id`` registers: the buy-in leaves their bankroll for the pool."""
    player = root.players[player_id]
    if player_id in tr.t.registered:     # (the rules' own sentence names the player's id)
        raise rules.TournamentError(f"you are already registered for {tr.name}")
    if player.bankroll < tr.t.buy_in:
        raise rules.TournamentError(f"the buy-in is {tr.t.buy_in}; your bankroll is "
                                    f"{player.bankroll}")
    if tr.t.started:
        raise rules.TournamentError("the tournament has started: registration is closed")
    tr.t = rules.register(tr.t, player_id)
    player.bankroll -= tr.t.buy_in
    tr.pool += tr.t.buy_in
    return Effects(journal=[{"k": "register", "id": tr.id, "player": player_id}])


def unregister(root, tr: TournamentRoom, player_id: str) -> Effects:
    """``player_id`` unregisters before the start: the buy-in goes back to their bankroll."""
    if not tr.t.started and player_id not in tr.t.registered:
        raise rules.TournamentError(f"you are not registered for {tr.name}")
    tr.t = rules.unregister(tr.t, player_id)
    root.players[player_id].bankroll += tr.t.buy_in
    tr.pool -= tr.t.buy_in
    return Effects(journal=[{"k": "unregister", "id": tr.id, "player": player_id}])


def start(root, tr: TournamentRoom, draw, now: float) -> Effects:
    """Start ``tr`` at ``now`` with the seat draw ``draw`` (a permutation of the registered
    players, made by the caller from its random source): each of its tables becomes a
    table in the root (``Room.tournament`` set), its players seated with tournament chips
    (no bankroll moves). The caller settles each new table (``play.settle``)."""
    tr.t = rules.start(tr.t, now, tuple(draw))
    level = tr.t.structure.levels[0]
    for number, table in tr.t.tables:
        room = add_table(root, f"{tr.name} #{number}", TableConfig(
            table_seats(table), level.small_blind, level.big_blind, 0, tr.t.starting_stack,
            tr.t.starting_stack, ante_kind="big_blind"))
        room.game, room.tournament = table, tr.id
        room.hand_start, room.hand_actions = table_to_json(table), []
        for i, s in enumerate(table.seats):
            if s is not None:
                root.players[s.player].seats[room.id] = i
                room.hand_names[s.player] = root.players[s.player].name
        tr.rooms[number] = room.id
    return Effects(journal=[{"k": "tstart", "id": tr.id, "draw": list(draw), "at": now}])


def table_seats(table) -> int:
    return len(table.seats)


def number_of(tr: TournamentRoom, room: Room) -> int:
    return next(n for n, rid in tr.rooms.items() if rid == room.id)


def hand_over(root, room: Room) -> tuple[TournamentRoom, int] | None:
    """``(tournament, table number)`` when ``room`` is a tournament table whose last hand
    is over and not yet settled by :func:`after_hand`."""
    if room.tournament is None or room.game.hand_running or room.game.hand is None:
        return None
    tr = root.tournaments[room.tournament]
    number = number_of(tr, room)
    if tr.t.finished or tr.settled.get(number) == room.game.hand_number:
        return None
    return tr, number


def idle_to_break(root, tr: TournamentRoom) -> int | None:
    """The highest-numbered table, when fewer tables would seat everyone and it cannot deal
    (one player left there): it would wait for ever for a hand to end, so the server runs
    :func:`after_hand` for it at once (which breaks it)."""
    t = tr.t
    if not t.started or t.finished or len(t.tables) <= rules.tables_needed(t):
        return None
    highest = max(n for n, _ in t.tables)
    game = root.tables[tr.rooms[highest]].game
    return None if game.hand_running or can_start_hand(game) else highest


def after_hand(root, tr: TournamentRoom, number: int, now: float, fx: Effects,
               publish) -> list[Room]:
    """A hand is over at table ``number``: the rules' :func:`~game.tournament.between_hands`
    (the busted placed and paid, balancing moves, a table broken, the next blinds). Prizes
    move from the pool into the bankrolls in the same step; the players who leave this
    table stand up (``left`` events, tournament chips), the moved sit down at their new
    table (``seated``) and are told (``tournament_moved``); everyone registered gets the
    ``tournament`` message. Journaled (``between``). ``publish(room, events, fx)``
    versions table events (:func:`server.play.publish`). Returns the other tables that
    players joined (the caller schedules their next hand)."""
    room = root.tables[tr.rooms[number]]
    fx.journal.append({"k": "between", "id": tr.id, "n": number, "at": now})
    tr.settled[number] = room.game.hand_number
    for n, rid in tr.rooms.items():          # every table as it stands now
        tr.t = rules.with_table(tr.t, n, root.tables[rid].game)
    tr.t, events = rules.between_hands(tr.t, number, now)
    # This table: the players who left it (busted, moved) stand up.
    for i, s in enumerate(room.game.seats):
        if s is not None and rules.seat_of(tr.t, s.player) != (number, i):
            game, evs = apply(room.game, StandUp(i))
            room.game = game
            publish(room, evs, fx)
            root.players[s.player].seats.pop(room.id, None)
    joined: list[Room] = []
    for e in events:
        if isinstance(e, rules.Placed):
            player = root.players[e.player]
            player.bankroll += e.prize
            tr.pool -= e.prize
            if e.prize:
                fx.send(player.id, {"type": "bankroll", "bankroll": player.bankroll})
        elif isinstance(e, rules.Moved):
            dest = root.tables[tr.rooms[e.to_table]]
            player = root.players[e.player]
            game, evs = apply(dest.game, SitDown(e.to_seat, e.player, e.stack))
            dest.game = game
            dest.hand_actions.append(action_to_json(SitDown(e.to_seat, e.player, e.stack)))
            dest.hand_names[player.id] = player.name
            dest.sat_out_since[e.to_seat] = None
            publish(dest, evs, fx)
            player.seats[dest.id] = e.to_seat
            fx.send(player.id, {"type": "tournament_moved", "tournament": tr.id,
                                "table": dest.id, "from": room.id, "number": e.to_table})
            if dest not in joined:
                joined.append(dest)
    for dest in joined:
        tr.t = rules.with_table(tr.t, number_of(tr, dest), dest.game)
    numbers = {n for n, _ in tr.t.tables}
    if tr.t.finished or number not in numbers:
        for s in room.game.seats:           # the winner, at the end
            if s is not None:
                root.players[s.player].seats.pop(room.id, None)
        del root.tables[room.id]
        del tr.rooms[number]
        tr.settled.pop(number, None)
        fx.out.append(("close", room.id, {"type": "table_closed", "table": room.id}))
        fx.wake[room.id] = None
    else:
        room.game = tr.t.table(number)
        room.hand_start, room.hand_actions = table_to_json(room.game), []
    for pid in tr.t.registered:
        fx.send(pid, state_message(tr, pid, now))
    return joined


# ---------------------------------------------------------------------------
# What a player is told


def state_message(tr: TournamentRoom, player_id: str | None, now: float) -> dict:
    """The tournament's state as ``player_id`` sees it: status, level and time to the next,
    players left, average stack, payouts (what 1st, 2nd... win), the places decided so
    far and the player's own place (``None`` while they are in, or not registered).

    >>> s = rules.BlindStructure((rules.Level(10, 20), rules.Level(20, 40, 40)), seconds=60)
    >>> tr = TournamentRoom("T1", "SNG", rules.sit_and_go(2, 100, 1500, s))
    >>> m = state_message(tr, "a", 0)
    >>> m["status"], m["registered"], m["payouts"], m["level"], m["you"]
    ('registering', 0, [], None, {'registered': False, 'table': None, 'place': None, 'prize': None})
    """
    t = tr.t
    status = "finished" if t.finished else "running" if t.started else "registering"
    entrants = len(t.registered)
    paid = list(rules.payouts(tr.pool + sum(r.prize for r in t.results), entrants)) \
        if entrants >= 2 else []
    level = blinds = on_break = seconds_left = None
    if t.started and not t.finished:
        c = rules.clock(t.structure, t.started_at, now)
        lv = t.structure.levels[c.level]
        level, on_break, seconds_left = c.level + 1, c.on_break, c.seconds_left
        blinds = [lv.small_blind, lv.big_blind, lv.ante]
    left = t.players_left()
    mine = next((r for r in t.results if r.player == player_id), None)
    seat = rules.seat_of(t, player_id) if player_id and mine is None else None
    return {
        "type": "tournament", "id": tr.id, "name": tr.name, "status": status,
        "creator": tr.creator,
        "buy_in": t.buy_in, "starting_stack": t.starting_stack, "seats": t.seats,
        "capacity": t.capacity, "registered": entrants, "pool": tr.pool,
        "payouts": paid, "level": level, "blinds": blinds, "on_break": on_break,
        "time_to_next_level": seconds_left, "players_left": len(left),
        "average_stack": t.chips() // len(left) if left else None,
        "places": [{"player": r.player, "place": r.place, "prize": r.prize}
                   for r in sorted(t.results, key=lambda r: r.place)],
        "you": {"registered": player_id in t.registered,
                "table": seat[0] if seat else None,
                "place": mine.place if mine else None,
                "prize": mine.prize if mine else None},
    }


def apply_entry(root, entry: dict, publish=lambda room, events, fx: None) -> None:
    """Re-apply one of this module's journal entries (:mod:`server.recovery`)."""
    kind = entry["k"]
    if kind == "tournament":
        tr, _ = create(root, entry["name"], config_from_json(entry["config"]),
                       entry["creator"], entry["created"])
        if tr.id != entry["id"]:
            raise ValueError(f"tournament created as {tr.id}, journal says {entry['id']}")
    elif kind == "register":
        register(root, root.tournaments[entry["id"]], entry["player"])
    elif kind == "unregister":
        unregister(root, root.tournaments[entry["id"]], entry["player"])
    elif kind == "tstart":
        start(root, root.tournaments[entry["id"]], entry["draw"], entry["at"])
    elif kind == "between":
        tr = root.tournaments[entry["id"]]
        after_hand(root, tr, entry["n"], entry["at"], Effects(), publish)
    else:
        raise ValueError(f"not a tournament entry: {kind!r}")
