"""One function per client message type, and the dispatcher that calls them.

A handler checks what only the server knows (which table, which seat this
player holds, the bankroll, the buy-in limits) and raises :class:`Refused`
with the protocol's error code; the rules themselves are the engine's, whose
:class:`~game.table.IllegalAction` is caught here, in :func:`dispatch` and
nowhere else. Either way nothing has changed. Every change to a table goes
through :mod:`server.play`.
"""

from __future__ import annotations

import logging

from game.events import Chat as ChatEvent
from game.events import Presence
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Raise, SitDown, SitIn,
                        SitOut, StandUp, TopUp)
from server import conn as conns
from server import config, durable, lobby, play
from server.protocol import (Act, Chat, Hello, Leave, Ping, ProtocolError, Sit, SitInMsg,
                             SitOutMsg, Tables, TopUpMsg, Unwatch, Watch, encode, error, parse)
from server.root import Room, Root, add_player, forget_player

log = logging.getLogger("server.handlers")


class Refused(Exception):
    """A request the server turns down; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def reply(c, message: dict, rid=None) -> None:
    if rid is not None:
        message["rid"] = rid
    conns.send(c, encode(message))


def reply_error(root: Root, c, code: str, message: str, rid=None) -> None:
    """Send an error to one connection and count it for /metrics."""
    errors = root.counters.setdefault("errors", {})
    errors[code] = errors.get(code, 0) + 1
    conns.send(c, encode(error(code, message, rid)))


def dispatch(root: Root, c, raw) -> None:
    """Handle one text frame from connection ``c``. Never raises."""
    try:
        msg = parse(raw)
    except ProtocolError as e:
        reply_error(root, c, e.code, e.message, e.rid)
        return
    try:
        if c.player is None and type(msg) is not Hello:
            raise Refused("hello_first", "say hello first")
        HANDLERS[type(msg)](root, c, msg)
    except Refused as e:
        reply_error(root, c, e.code, e.message, msg.rid)
    except IllegalAction as e:
        reply_error(root, c, "illegal", str(e), msg.rid)
    except Exception:  # noqa: BLE001 - one bad handler must not take the connection down
        log.exception("handler for %s failed (conn %d)", type(msg).__name__, c.id)
        reply_error(root, c, "internal", "internal error", msg.rid)


# ---------------------------------------------------------------------------
# Lookups


def _room(root: Root, table_id: str) -> Room:
    room = root.tables.get(table_id)
    if room is None:
        raise Refused("no_table", f"no table {table_id!r}")
    return room


def _my_seat(root: Root, c, room: Room) -> int:
    seat = play.seat_of(root, room, c.player)
    if seat is None:
        raise Refused("not_seated", f"you have no seat at table {room.id}")
    return seat


# ---------------------------------------------------------------------------
# Sessions


def new_player(root: Root, name: str):
    """A new player (a fresh token and bankroll), journaled."""
    player = add_player(root, name)
    durable.record({"k": "player", "id": player.id, "name": player.name,
                    "token": player.token, "bankroll": player.bankroll})
    return player


def hello(root: Root, c, msg: Hello) -> None:
    if c.player is not None:
        raise Refused("bad_message", "this connection already said hello")
    if msg.name is not None:
        player = new_player(root, msg.name)
    else:
        player = root.players.get(root.tokens.get(msg.token, ""))
        if player is None:
            raise Refused("bad_token", "unknown token: say hello with a name to start afresh")
    c.player = player.id
    player.gone_since = None
    came_back = not player.conns
    player.conns.add(c.id)
    reply(c, {"type": "welcome", "player": player.id, "name": player.name,
              "token": player.token, "bankroll": player.bankroll,
              "seats": dict(player.seats)}, msg.rid)
    if came_back:
        presence(root, player, True)
    for table_id, v in msg.tables:
        try:
            watch(root, c, Watch(table_id, v))
        except Refused as e:
            reply_error(root, c, e.code, e.message, msg.rid)


def presence(root: Root, player, connected: bool) -> None:
    """A seated player's connections dropped to zero, or came back: tell their tables."""
    for table_id, seat in list(player.seats.items()):
        room = root.tables.get(table_id)
        if room is not None:
            play.publish(root, room, [Presence(seat, connected)])


def goodbye(root: Root, c) -> None:
    """A connection ended: forget it (the player's seats stay, and so do their clocks)."""
    root.conns.pop(c.id, None)
    for table_id in c.watching:
        room = root.tables.get(table_id)
        if room is not None:
            room.watchers.discard(c.id)
    c.watching.clear()
    player = root.players.get(c.player) if c.player else None
    if player is not None and c.id in player.conns:
        player.conns.discard(c.id)
        if not player.conns:
            player.gone_since = play.now()
            presence(root, player, False)


def forget_gone_players(root: Root, t: float | None = None) -> int:
    """Forget the players with no seat who have had no connection for ``player_ttl``
    seconds (``forget_player``: the token stops working, the bankroll leaves the
    game). Without this every guest and every load-test bot would stay in the
    root, and in every snapshot, forever. Returns how many were forgotten.

    A player not seen since the server started counts as gone from its first sweep.
    """
    t = play.now() if t is None else t
    ttl = config.settings.player_ttl
    gone = []
    for player in root.players.values():
        if player.conns or player.seats:
            continue
        if player.gone_since is None:
            player.gone_since = t
        elif t - player.gone_since >= ttl:
            gone.append(player)
    for player in gone:
        forget_player(root, player)
        durable.record({"k": "forget", "id": player.id})
    return len(gone)


# ---------------------------------------------------------------------------
# Lobby and watching


def tables(root: Root, c, msg: Tables) -> None:
    reply(c, {"type": "tables", "tables": lobby.lobby(root)}, msg.rid)


def watch(root: Root, c, msg: Watch) -> None:
    room = _room(root, msg.table)
    room.watchers.add(c.id)
    c.watching.add(room.id)
    if msg.v is None or not play.replay_since(root, room, c, msg.v):
        reply(c, play.table_message(root, room, c.player), msg.rid)
    _turn_if_mine(root, c, room)


def _turn_if_mine(root: Root, c, room: Room) -> None:
    turn = play.turn_message(room)
    if turn is not None and turn["seat"] == play.seat_of(root, room, c.player):
        reply(c, turn)


def unwatch(root: Root, c, msg: Unwatch) -> None:
    room = _room(root, msg.table)
    room.watchers.discard(c.id)
    c.watching.discard(room.id)


# ---------------------------------------------------------------------------
# Seats and chips


def sit(root: Root, c, msg: Sit) -> None:
    room = _room(root, msg.table)
    player = root.players[c.player]
    if room.id in player.seats:
        raise Refused("seat_taken", f"you already sit at this table (seat {player.seats[room.id]})")
    cfg = room.config
    if 0 <= msg.seat < cfg.seats and room.game.seats[msg.seat] is not None:
        raise Refused("seat_taken", f"seat {msg.seat} is taken")
    if not cfg.min_buy_in <= msg.buy_in <= cfg.max_buy_in:
        raise Refused("buy_in", f"the buy-in at this table is {cfg.min_buy_in} to "
                      f"{cfg.max_buy_in}, not {msg.buy_in}")
    if msg.buy_in > player.bankroll:
        raise Refused("buy_in", f"your bankroll is {player.bankroll}, less than {msg.buy_in}")
    play.act(root, room, SitDown(msg.seat, player.id, msg.buy_in, player.name))  # moves the chips
    room.watchers.add(c.id)
    c.watching.add(room.id)
    reply(c, play.table_message(root, room, c.player), msg.rid)


def top_up(root: Root, c, msg: TopUpMsg) -> None:
    room = _room(root, msg.table)
    seat = _my_seat(root, c, room)
    player = root.players[c.player]
    if msg.amount > player.bankroll:
        raise Refused("buy_in", f"your bankroll is {player.bankroll}, less than {msg.amount}")
    stack = room.game.seats[seat].stack
    if stack + msg.amount > room.config.max_buy_in:
        raise Refused("buy_in", f"a top-up may bring your stack to at most "
                      f"{room.config.max_buy_in}; you have {stack}")
    play.act(root, room, TopUp(seat, msg.amount))  # moves the chips


def leave(root: Root, c, msg: Leave) -> None:
    room = _room(root, msg.table)
    play.act(root, room, StandUp(_my_seat(root, c, room)))  # the stack goes back to the bankroll


def sit_out(root: Root, c, msg: SitOutMsg) -> None:
    room = _room(root, msg.table)
    play.act(root, room, SitOut(_my_seat(root, c, room)))


def sit_in(root: Root, c, msg: SitInMsg) -> None:
    room = _room(root, msg.table)
    play.act(root, room, SitIn(_my_seat(root, c, room)))


# ---------------------------------------------------------------------------
# Play


_VERBS = {"fold": Fold, "check": Check, "call": Call, "all_in": AllIn}


def act(root: Root, c, msg: Act) -> None:
    room = _room(root, msg.table)
    seat = _my_seat(root, c, room)
    if msg.action == "bet":
        action = Bet(seat, msg.amount)
    elif msg.action == "raise":
        action = Raise(seat, msg.amount)
    else:
        action = _VERBS[msg.action](seat)
    play.player_acts(root, room, seat, action)


# ---------------------------------------------------------------------------
# Chat and ping


def chat(root: Root, c, msg: Chat) -> None:
    room = _room(root, msg.table)
    if not conns.admit_chat(c):
        raise Refused("rate_limited", "too many chat messages: slow down")
    player = root.players[c.player]
    room.chat.append({"name": player.name, "text": msg.text})
    durable.record({"k": "chat", "t": room.id, "player": player.id, "name": player.name,
                    "text": msg.text})
    play.publish(root, room, [ChatEvent(player.id, player.name, msg.text)])


def ping(root: Root, c, msg: Ping) -> None:
    reply(c, {"type": "pong"}, msg.rid)


HANDLERS = {
    Hello: hello, Tables: tables, Watch: watch, Unwatch: unwatch, Sit: sit, Act: act,
    SitOutMsg: sit_out, SitInMsg: sit_in, TopUpMsg: top_up, Leave: leave, Chat: chat,
    Ping: ping,
}
