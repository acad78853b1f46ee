"""A full cash table's waiting list, and the free seat it offers in turn.

``Room.waiting`` is the players in line (ids, first first); ``Room.offers`` is the
free seats held for players on it, ``{"player", "until"}`` each (until an absolute
time, epoch seconds), in line order. The rule:

- a player joins a table's list (``wait``) only when they could not sit there now:
  every seat is taken, or the free seats are held for the list; never at a table
  where they sit, never twice (a player may be on several tables' lists);
- each free seat is offered to a player on the list, first in line first, for
  ``--wait-offer`` seconds (a ``seat_offered`` message): two seats freed together go
  to the first two at once. While the offers stand, nobody else sits in the seats
  they hold (``seat_reserved``); an offered player sits with an ordinary ``sit``, and
  leaves the list;
- an offer not taken in time drops its player from the list, and the next is
  offered the seat; so does a player in line whose bankroll fell below the table's
  minimum buy-in since joining (they bought in elsewhere) when their turn comes (time
  is an input: :func:`update` is called from ``play.tick`` and ``play.settle``, and
  ``play.due`` wakes the table when an offer runs out);
- a player who sits at the table, leaves the list (``unwait``) or is forgotten leaves
  it; a table that closes takes its list with it.

Every change is one journal entry, applied by :func:`apply_entry` (live and by
recovery alike): ``{"k": "wait", "t", "player"}`` appends, ``{"k": "unwait", "t",
"player"}`` removes (and ends the player's offer), ``{"k": "offer", "t", "player",
"until"}`` makes an offer, and with ``until`` null withdraws the player's offer (with
``player`` null, as journals written before several offers say it: every offer). Each listed player whose
place in line changed is sent a ``waiting`` message (``position`` null once off the
list, with the ``reason``).
"""

from __future__ import annotations

from server import config
from server.effects import Effects
from server.root import Room, Root

KINDS = ("wait", "unwait", "offer")


# ---------------------------------------------------------------------------
# The one place the lists change


def apply_entry(root: Root, entry: dict) -> None:
    """Apply one ``wait``/``unwait``/``offer`` journal entry."""
    room = root.tables[entry["t"]]
    kind, player = entry["k"], entry["player"]
    if kind == "wait":
        if player in room.waiting:
            raise ValueError(f"{player} is on the waiting list of {room.id} already")
        room.waiting.append(player)
    elif kind == "unwait":
        room.waiting.remove(player)         # ValueError if not listed
        room.offers = [o for o in room.offers if o["player"] != player]
    elif kind == "offer":
        if player is None:
            room.offers = []
        elif entry.get("until") is None:
            room.offers = [o for o in room.offers if o["player"] != player]
        elif player not in room.waiting or offer_of(room, player) is not None:
            raise ValueError(f"a seat at {room.id} offered to {player}, who is not on its "
                             f"list or holds an offer already")
        else:
            room.offers.append({"player": player, "until": entry["until"]})
    else:
        raise ValueError(f"not a waiting list entry: {kind!r}")


def _change(root: Root, room: Room, entry: dict, fx: Effects, reason: str | None = None) -> None:
    """Apply and journal ``entry``; tell each listed player whose place changed."""
    before = list(room.waiting)
    apply_entry(root, entry)
    fx.journal.append(entry)
    after = room.waiting
    for pid in before:
        if pid not in after:
            fx.send(pid, position_message(room, pid, reason))
    for i, pid in enumerate(after):
        if i >= len(before) or before[i] != pid:
            fx.send(pid, position_message(room, pid))


# ---------------------------------------------------------------------------
# Messages


def position_message(room: Room, player_id: str, reason: str | None = None) -> dict:
    """``waiting``: the player's place on the table's list (1 is next), or null once off it,
    with why (``left``, ``seated``, ``expired``, ``bankroll``, ``forgotten``, ``closed``)."""
    if player_id in room.waiting:
        return {"type": "waiting", "table": room.id,
                "position": room.waiting.index(player_id) + 1, "length": len(room.waiting)}
    return {"type": "waiting", "table": room.id, "position": None, "length": len(room.waiting),
            "reason": reason}


def offer_message(room: Room, player_id: str) -> dict:
    """``seat_offered``: a free seat is held for the player until ``until_ms`` (``seat``
    suggests one: the n-th free seat for the n-th offer; any free seat will do)."""
    offer = offer_of(room, player_id)
    free = free_seats(room)
    n = room.offers.index(offer)
    return {"type": "seat_offered", "table": room.id,
            "seat": free[n] if n < len(free) else free[0] if free else None,
            "until_ms": int(offer["until"] * 1000),
            "seconds": config.settings.wait_offer}


def messages_for(root: Root, player_id: str) -> list[dict]:
    """What a player who says hello is told of their lists: a ``waiting`` message per
    table they wait for, and the standing ``seat_offered``."""
    out = []
    for room in root.tables.values():
        if room.waiting and player_id in room.waiting:
            out.append(position_message(room, player_id))
            if offer_of(room, player_id) is not None:
                out.append(offer_message(room, player_id))
    return out


# ---------------------------------------------------------------------------
# The rule


def free_seats(room: Room) -> list[int]:
    return [i for i, s in enumerate(room.game.seats) if s is None]


def may_join(room: Room) -> bool:
    """Whether a player who does not sit here could join the list: no seat is free, or
    the free seats are held for the list."""
    return not free_seats(room) or bool(room.waiting)


def offer_of(room: Room, player_id: str) -> dict | None:
    """The seat held for ``player_id`` here, if one is."""
    return next((o for o in room.offers if o["player"] == player_id), None)


def reserved(room: Room, player_id: str) -> bool:
    """Whether every free seat here is held for others than ``player_id`` (who holds no
    offer: an offered player may take any free seat)."""
    return (bool(room.offers) and offer_of(room, player_id) is None
            and len(free_seats(room)) <= len(room.offers))


def join(root: Root, room: Room, player_id: str, now: float, fx: Effects) -> None:
    """``player_id`` joins the list (the caller checked :func:`may_join`)."""
    _change(root, room, {"k": "wait", "t": room.id, "player": player_id}, fx)
    update(root, room, now, fx)


def leave(root: Root, room: Room, player_id: str, now: float, fx: Effects,
          reason: str = "left") -> None:
    """``player_id`` leaves the list; a seat offered to them goes to the next."""
    _change(root, room, {"k": "unwait", "t": room.id, "player": player_id}, fx, reason)
    update(root, room, now, fx)


def drop_player(root: Root, player_id: str, now: float, fx: Effects) -> None:
    """A player about to be forgotten leaves every list."""
    for room in root.tables.values():
        if room.waiting and player_id in room.waiting:
            leave(root, room, player_id, now, fx, "forgotten")


def closed(room: Room, fx: Effects) -> None:
    """The table went: its list with it (no entry: the table's ``close`` says it all)."""
    for pid in room.waiting:
        fx.send(pid, {"type": "waiting", "table": room.id, "position": None, "length": 0,
                      "reason": "closed"})


def update(root: Root, room: Room, now: float, fx: Effects) -> None:
    """What the list makes of the table as it is now: listed players who sit here leave
    it; offers that ran out pass on; each free seat not held yet is offered to the
    next in line."""
    if not room.waiting and not room.offers:
        return
    for pid in [p for p in room.waiting
                if (player := root.players.get(p)) is not None and room.id in player.seats]:
        _change(root, room, {"k": "unwait", "t": room.id, "player": pid}, fx, "seated")
    for offer in [o for o in room.offers if now >= o["until"]]:
        _change(root, room, {"k": "unwait", "t": room.id, "player": offer["player"]}, fx,
                "expired")
    if room.closing or room.tournament is not None:
        return
    free = free_seats(room)
    while len(room.offers) > len(free):   # (nobody else may sit: cannot happen)
        _change(root, room, {"k": "offer", "t": room.id, "player": room.offers[-1]["player"],
                             "until": None}, fx)
    for pid in list(room.waiting):
        if len(room.offers) >= len(free):
            break
        if offer_of(room, pid) is not None:
            continue
        if cannot_buy_in(root, room, pid):
            _change(root, room, {"k": "unwait", "t": room.id, "player": pid}, fx, "bankroll")
            continue
        _change(root, room, {"k": "offer", "t": room.id, "player": pid,
                             "until": now + config.settings.wait_offer}, fx)
        fx.send(pid, offer_message(room, pid))


def cannot_buy_in(root: Root, room: Room, player_id: str) -> bool:
    """The player's bankroll is below the table's minimum buy-in: they may not join the
    list, and one whose bankroll fell so since (they bought in elsewhere) is passed over
    when a seat frees. (A cluster's shard does not hold bankrolls: the wallet says at
    ``sit``.)"""
    player = root.players.get(player_id)
    return (not root.shard and player is not None
            and player.bankroll < room.config.min_buy_in)


def restart_offers(root: Root, now: float) -> None:
    """After a recovery: standing offers run afresh from ``now`` (the downtime is not the
    players'), as the turn clocks do."""
    for room in root.tables.values():
        for offer in room.offers:
            offer["until"] = max(offer["until"], now + config.settings.wait_offer)
