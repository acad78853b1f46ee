"""One function per client message type, and the dispatcher that calls them.

A handler checks what only the server knows (which table, which seat this
player holds, the bankroll, the buy-in limits) and raises :class:`Refused`
with the protocol's error code; the rules themselves are the engine's, whose
:class:`~game.table.IllegalAction` is caught here, in :func:`dispatch` and
nowhere else. Either way nothing has changed. A handler that accepts a
message changes the root (every change to a table goes through
:mod:`server.play`) and the transport's bookkeeping (who the socket is, what
it watches), and returns everything that follows as an
:class:`~server.effects.Effects`; it never sends anything itself.

Every handler is ``handler(root, fan, c, msg, now) -> Effects``: the root,
the transport (:class:`server.fanout.Fanout`), the connection, the parsed
message and the time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Raise, RunTwice, SitDown,
                        SitIn, SitOut, StandUp, TopUp)
from server import config, lobby, play, quotas, tournaments, transfers, waiting
from server.conn import admit_chat
from server.effects import Effects
from server.protocol import (PROTOCOL, Act, Chat, CreateTournament, Hello, RegisterMsg,
                             StartTournament, TournamentsMsg, UnregisterMsg, Leave, Ping, ProtocolError,
                             RunTwiceMsg, Sit, SitInMsg, SitOutMsg, Tables, TopUpMsg, Unwatch,
                             UnwaitMsg, WaitMsg, Watch, error, parse)
from server.root import (STARTING_BANKROLL, Room, Root, add_player, forget_player,
                         unique_name)

log = logging.getLogger("server.handlers")


class Refused(Exception):
    """A request the server turns down; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def refusal(root: Root, conn_id: int, code: str, message: str, rid=None,
            fx: Effects | None = None) -> Effects:
    """An ``error`` answer to one socket (added to ``fx``), counted for /metrics."""
    errors = root.counters.setdefault("errors", {})
    errors[code] = errors.get(code, 0) + 1
    fx = Effects() if fx is None else fx
    fx.reply(conn_id, error(code, message, rid))
    return fx


def changes_state(msg) -> bool:
    """Whether a message would change the root (and so needs the journal)."""
    if type(msg) is Hello:
        return msg.name is not None         # a new player; a token only resumes
    return type(msg) not in (Tables, Watch, Unwatch, Ping, TournamentsMsg)


def dispatch(root: Root, fan, c, raw, now: float, paused: str | None = None,
             draw=None, who=None) -> Effects:
    """Handle one text frame (or a message parsed already) from connection ``c``;
    never raises.

    While ``paused`` (the server cannot write its durable state: the reason), a
    message that would change the root is refused with ``paused``; reads are served.
    ``draw(players)`` is the random seat draw for a tournament that starts (the
    caller's random source; default: as registered). In a cluster a ``hello`` comes
    with ``who``, the player as the cluster's Redis knows them (:class:`Who`).
    """
    try:
        msg = raw if type(raw) is Hello else parse(raw)
    except ProtocolError as e:
        return refusal(root, c.id, e.code, e.message, e.rid)
    try:
        if c.player is None and type(msg) is not Hello:
            raise Refused("hello_first", "say hello first")
        if paused is not None and changes_state(msg):
            raise Refused("paused", f"play is paused: {paused}; your seat and chips are safe, "
                          "and play resumes by itself once the server can save again")
    except Refused as e:
        return refusal(root, c.id, e.code, e.message, msg.rid)
    before = Effects()      # what the clock had decided already: it stands either way
    try:
        if type(msg) is Act:
            before = catch_up(root, msg, now)
        if type(msg) is RegisterMsg:
            return register(root, fan, c, msg, now, draw or tuple)
        if type(msg) is StartTournament:
            return start_tournament(root, fan, c, msg, now, draw or tuple)
        if type(msg) is Hello:
            fx = hello(root, fan, c, msg, now, who)
            if paused is not None:      # a page opened (or back) during a pause hears of it
                fx.reply(c.id, {"type": "paused", "reason": paused})
            return fx
        return before.extend(HANDLERS[type(msg)](root, fan, c, msg, now))
    except Refused as e:
        return refusal(root, c.id, e.code, e.message, msg.rid, before)
    except IllegalAction as e:
        return refusal(root, c.id, "illegal", str(e), msg.rid, before)
    except Exception:  # noqa: BLE001 - one bad handler must not take the connection down
        log.exception("handler for %s failed (conn %d)", type(msg).__name__, c.id)
        return refusal(root, c.id, "internal", "internal error", msg.rid, before)


# ---------------------------------------------------------------------------
# Lookups


def _room(root: Root, table_id: str) -> Room:
    room = root.tables.get(table_id)
    if room is None:
        raise Refused("no_table", lobby.no_table(root, table_id))
    return room


def _cash(room: Room) -> Room:
    if room.tournament is not None:
        raise Refused("tournament", "not at a tournament table: no sitting down, topping up, "
                      "leaving or sitting out (your hands are posted and folded while away)")
    return room


def _my_seat(root: Root, c, room: Room) -> int:
    seat = play.seat_of(root, room, c.player)
    if seat is None:
        raise Refused("not_seated", f"you have no seat at table {room.id}")
    return seat


# ---------------------------------------------------------------------------
# Sessions


def new_player(root: Root, name: str, fx: Effects):
    """A new player (a fresh token and bankroll), journaled; a name another player has
    gets a number (``unique_name``)."""
    player = add_player(root, unique_name(root, name))
    fx.journal.append({"k": "player", "id": player.id, "name": player.name,
                       "token": player.token, "bankroll": player.bankroll})
    return player


@dataclass(frozen=True)
class Who:
    """A player as a cluster's Redis knows them (``server.cluster.identify``): the
    shard's root may not have met them yet. ``bankroll`` is their wallet."""

    id: str
    name: str
    token: str
    bankroll: int


def hello(root: Root, fan, c, msg: Hello, now: float, who: Who | None = None) -> Effects:
    if c.player is not None:
        raise Refused("bad_message", "this connection already said hello")
    fx = Effects()
    bankroll = None
    if who is not None:     # a cluster: the shard keeps the players it has met
        player = root.players.get(who.id)
        if player is None:
            player = add_player(root, who.name, token=who.token, bankroll=0, player_id=who.id)
            fx.journal.append({"k": "player", "id": player.id, "name": player.name,
                               "token": player.token, "bankroll": 0})
        bankroll = who.bankroll
    elif msg.name is not None:
        if not quotas.new_player_allowed(None, c.address, now):
            raise Refused("rate_limited", "too many new players from your address: "
                          "try again in a minute, or say hello with your token")
        player = new_player(root, msg.name, fx)
    else:
        player = root.players.get(root.tokens.get(msg.token, ""))
        if player is None:
            raise Refused("bad_token", "unknown token: say hello with a name to start afresh")
    came_back = fan.bind(c, player.id)
    fx.reply(c.id, {"type": "welcome", "protocol": PROTOCOL, "player": player.id,
                    "name": player.name, "token": player.token,
                    "bankroll": player.bankroll if bankroll is None else bankroll,
                    "seats": dict(player.seats)}, msg.rid)
    if came_back:
        play.presence(root, player, True, fx)
    for message in waiting.messages_for(root, player.id):   # the lists they are on
        fx.reply(c.id, message)
    for table_id, v in msg.tables:
        room = root.tables.get(table_id)
        if room is None:
            refusal(root, c.id, "no_table", f"no table {table_id!r}", msg.rid, fx)
        else:
            _watch(root, fan, c, room, v, None, fx)
    return fx


def goodbye(root: Root, fan, c, now: float) -> Effects:
    """A connection ended: forget it (the player's seats stay, and so do their clocks)."""
    fx = Effects()
    if fan.remove(c, now):
        player = root.players.get(c.player)
        if player is not None:
            play.presence(root, player, False, fx)
    return fx


def forget_gone_players(root: Root, fan, now: float) -> Effects:
    """Forget the players with no seat who have had no connection for ``player_ttl``
    seconds, or ``guest_ttl`` for those who still have the starting bankroll (nothing
    won or lost: guests who only looked) (``forget_player``: the token stops working,
    the bankroll leaves the game). Without this every guest and every load-test bot
    would stay in the root, and in every snapshot, for long.

    A player not seen since the server started counts as gone from its first sweep. One
    who left a hand that still runs (their all-in hand plays on, and what it wins follows
    them) is kept until it is over.
    """
    s = config.settings
    fx = Effects()
    in_hands = {seat.player for room in root.tables.values() for seat in room.game.seats
                if seat is not None}
    # A player registered in a tournament not over is kept (their place and prize).
    in_hands.update(p for tr in root.tournaments.values() if not tr.t.finished
                    for p in tr.t.registered)
    # So is one whose chips are on their way to or from a cluster's wallet.
    in_hands.update(t["player"] for t in root.transfers.values())
    for player in [p for p in root.players.values()
                   if not p.seats and p.id not in in_hands and not fan.online(p.id)]:
        since = fan.gone_since.setdefault(player.id, now)
        ttl = s.guest_ttl if player.bankroll == STARTING_BANKROLL else s.player_ttl
        if now - since >= ttl:
            waiting.drop_player(root, player.id, now, fx)     # journaled before the forget
            forget_player(root, player)
            fan.gone_since.pop(player.id, None)
            fx.journal.append({"k": "forget", "id": player.id})
    return fx


# ---------------------------------------------------------------------------
# Lobby and watching


def tables(root: Root, fan, c, msg: Tables, now: float) -> Effects:
    fx = Effects()
    fx.reply(c.id, {"type": "tables", "tables": lobby.everywhere(root)}, msg.rid)
    return fx


def watch(root: Root, fan, c, msg: Watch, now: float) -> Effects:
    fx = Effects()
    _watch(root, fan, c, _room(root, msg.table), msg.v, msg.rid, fx)
    return fx


def _watch(root: Root, fan, c, room: Room, v: int | None, rid, fx: Effects) -> None:
    """Follow ``room``: the events after ``v`` if still kept, else a full table (the
    transport decides, in turn with the rest of ``fx``); then the socket's ``turn`` if
    it is its player's."""
    fx.watch(c.id, room.id, v, play.table_message(root, room, c.player, fan.online), rid)
    turn = play.turn_message(room)
    if turn is not None and turn["seat"] == play.seat_of(root, room, c.player):
        fx.reply(c.id, turn)


def unwatch(root: Root, fan, c, msg: Unwatch, now: float) -> Effects:
    fan.unwatch(c, _room(root, msg.table).id)
    return Effects()


# ---------------------------------------------------------------------------
# Seats and chips


def sit(root: Root, fan, c, msg: Sit, now: float) -> Effects:
    room = _cash(_room(root, msg.table))
    player = root.players[c.player]
    if room.id in player.seats:
        raise Refused("seat_taken", f"you already sit at this table (seat {player.seats[room.id]})")
    cfg = room.config
    if not 0 <= msg.seat < cfg.seats:   # the rules' answer, before a cluster asks the wallet
        raise IllegalAction(f"no seat {msg.seat} at this table")
    if room.game.seats[msg.seat] is not None:
        raise Refused("seat_taken", f"seat {msg.seat} is taken")
    if waiting.reserved(room, player.id):
        raise Refused("seat_reserved", _reserved_text(room))
    if not cfg.min_buy_in <= msg.buy_in <= cfg.max_buy_in:
        raise Refused("buy_in", f"the buy-in at this table is {cfg.min_buy_in} to "
                      f"{cfg.max_buy_in}, not {msg.buy_in}")
    if root.shard:      # a cluster: the buy-in comes from the wallet first
        return _from_wallet(root, fan, c, player, msg.buy_in, ["sit", room.id, msg.seat],
                            msg.rid)
    if msg.buy_in > player.bankroll:
        raise Refused("buy_in", f"your bankroll is {player.bankroll}, less than {msg.buy_in}")
    # The buy-in moves from the bankroll to the table in the same step.
    fx = play.step(root, room, SitDown(msg.seat, player.id, msg.buy_in, player.name), now)
    fx.watch(c.id, room.id, None, play.table_message(root, room, c.player, fan.online), msg.rid)
    return fx


def top_up(root: Root, fan, c, msg: TopUpMsg, now: float) -> Effects:
    room = _cash(_room(root, msg.table))
    seat = _my_seat(root, c, room)
    player = root.players[c.player]
    if not root.shard and msg.amount > player.bankroll:
        raise Refused("buy_in", f"your bankroll is {player.bankroll}, less than {msg.amount}")
    stack = room.game.seats[seat].stack
    if stack + msg.amount > room.config.max_buy_in:
        raise Refused("buy_in", f"a top-up may bring your stack to at most "
                      f"{room.config.max_buy_in}; you have {stack}")
    if stack == 0 and msg.amount < room.config.min_buy_in:
        raise Refused("buy_in", f"with no chips left, a top-up is at least the table's "
                      f"minimum buy-in, {room.config.min_buy_in}")
    if root.shard:
        return _from_wallet(root, fan, c, player, msg.amount, ["top_up", room.id], msg.rid)
    return play.step(root, room, TopUp(seat, msg.amount), now)   # moves the chips


def spend(root: Root, t: dict, now: float, fx: Effects, draw=tuple) -> str | None:
    """A cluster's debit the wallet granted (``transfers.finish``): the chips, in the
    player's bankroll here now, go where they were asked for, as one process does it:
    a seat, a top-up, a tournament's registration (which may start it). None if done,
    else why not (the chips then go back to the wallet)."""
    kind, target = t["then"][0], t["then"][1]
    player = root.players[t["player"]]
    try:
        if kind == "register":
            tr = root.tournaments.get(target)
            if tr is None:
                return f"no tournament {target!r}"
            fx.extend(tournaments.register(root, tr, player.id))
            if tournaments.rules.ready(tr.t):
                _start(root, tr, draw, now, fx)
            for pid in tr.t.registered:
                fx.send(pid, tournaments.state_message(tr, pid, now))
            return None
        room = root.tables.get(target)
        if room is None:
            return f"table {target!r} is gone"
        if kind == "sit":
            if room.id in player.seats:
                return f"you already sit at this table (seat {player.seats[room.id]})"
            if waiting.reserved(room, player.id):
                return _reserved_text(room)
            fx.extend(play.step(root, room, SitDown(t["then"][2], player.id, -t["amount"],
                                                    player.name), now))
        else:
            seat = player.seats.get(room.id)
            if seat is None:
                return f"you have no seat at table {room.id}"
            fx.extend(play.step(root, room, TopUp(seat, -t["amount"]), now))
    except (IllegalAction, tournaments.rules.TournamentError) as e:
        return str(e)
    except Refused as e:
        return e.message
    return None


def _from_wallet(root: Root, fan, c, player, amount: int, then: list, rid) -> Effects:
    """A cluster's buy-in or top-up: a pending debit of the wallet, journaled and sent
    once durable (``Effects.transfers``); the seat or the chips follow when the wallet
    grants it (``transfers.finish``), and so does the answer to this socket
    (``fan.waiting``)."""
    fx = Effects()
    tid, entry = transfers.begin(root, player.id, -amount, then)
    fx.journal.append(entry)
    fx.transfers.append(tid)
    fan.waiting[tid] = (c.id, rid)
    return fx


def _reserved_text(room: Room) -> str:
    return (f"the free seats at table {room.id} are offered to players on its waiting list "
            f"just now: join the list (wait), or try again once an offer ends")


def wait(root: Root, fan, c, msg: WaitMsg, now: float) -> Effects:
    """Join a full cash table's waiting list (``server.waiting``)."""
    room = _cash(_room(root, msg.table))
    player = root.players[c.player]
    if room.id in player.seats:
        raise Refused("seat_taken", f"you already sit at this table (seat {player.seats[room.id]})")
    if player.id in room.waiting:
        raise Refused("waiting_list", f"you are on the waiting list of table {room.id} already "
                      f"(number {room.waiting.index(player.id) + 1})")
    if room.closing:
        raise Refused("waiting_list", f"table {room.id} is closing: it has no waiting list")
    if not waiting.may_join(room):
        raise Refused("waiting_list", f"a seat is free at table {room.id}: sit down instead")
    if waiting.cannot_buy_in(root, room, player.id):
        raise Refused("buy_in", f"your bankroll is {player.bankroll}, less than the table's "
                      f"minimum buy-in of {room.config.min_buy_in}")
    fx = Effects()
    waiting.join(root, room, player.id, now, fx)
    fx.wake[room.id] = play.due(room)
    return fx


def unwait(root: Root, fan, c, msg: UnwaitMsg, now: float) -> Effects:
    """Leave a table's waiting list (a seat held for the player goes to the next)."""
    room = _room(root, msg.table)
    if c.player not in room.waiting:
        raise Refused("waiting_list", f"you are not on the waiting list of table {room.id}")
    fx = Effects()
    waiting.leave(root, room, c.player, now, fx)
    fx.wake[room.id] = play.due(room)
    return fx


def leave(root: Root, fan, c, msg: Leave, now: float) -> Effects:
    room = _cash(_room(root, msg.table))
    # The stack goes back to the bankroll in the same step.
    return play.step(root, room, StandUp(_my_seat(root, c, room)), now)


def sit_out(root: Root, fan, c, msg: SitOutMsg, now: float) -> Effects:
    room = _cash(_room(root, msg.table))
    return play.step(root, room, SitOut(_my_seat(root, c, room), msg.when), now)


def sit_in(root: Root, fan, c, msg: SitInMsg, now: float) -> Effects:
    room = _room(root, msg.table)
    return play.step(root, room, SitIn(_my_seat(root, c, room), msg.post), now)


def run_twice(root: Root, fan, c, msg: RunTwiceMsg, now: float) -> Effects:
    room = _room(root, msg.table)
    return play.step(root, room, RunTwice(_my_seat(root, c, room), msg.agree), now)


# ---------------------------------------------------------------------------
# Play


_VERBS = {"fold": Fold, "check": Check, "call": Call, "all_in": AllIn}


def catch_up(root: Root, msg: Act, now: float) -> Effects:
    """For a betting action: the clock's decisions already due at its table
    (``play.catch_up``), applied before the action whatever the action's fate."""
    room = root.tables.get(msg.table)
    return Effects() if room is None else play.catch_up(root, room, now)


def act(root: Root, fan, c, msg: Act, now: float) -> Effects:
    room = _room(root, msg.table)
    seat = _my_seat(root, c, room)
    if msg.action == "bet":
        action = Bet(seat, msg.amount)
    elif msg.action == "raise":
        action = Raise(seat, msg.amount)
    else:
        action = _VERBS[msg.action](seat)
    return play.player_acts(root, room, seat, action, now)


# ---------------------------------------------------------------------------
# Chat and ping


def chat(root: Root, fan, c, msg: Chat, now: float) -> Effects:
    room = _room(root, msg.table)
    if not admit_chat(c):
        raise Refused("rate_limited", "too many chat messages: slow down")
    fx = Effects()
    play.chat(root, room, root.players[c.player], msg.text, fx)
    return fx


def ping(root: Root, fan, c, msg: Ping, now: float) -> Effects:
    fx = Effects()
    fx.reply(c.id, {"type": "pong"}, msg.rid)
    return fx


# ---------------------------------------------------------------------------
# Tournaments (server.tournaments)


def _tournament(root: Root, tid: str):
    tr = root.tournaments.get(tid)
    if tr is None:
        raise Refused("no_tournament", lobby.no_table(root, tid, "tournament"))
    return tr


def create_tournament(root: Root, fan, c, msg: CreateTournament, now: float) -> Effects:
    try:
        structure = tournaments.rules.BlindStructure(
            tuple(tournaments.rules.Level(*lv) for lv in msg.levels), msg.seconds)
        t = (tournaments.rules.Tournament(msg.buy_in, msg.starting_stack, structure,
                                          seats=msg.seats) if msg.multi_table else
             tournaments.rules.sit_and_go(msg.seats, msg.buy_in, msg.starting_stack, structure))
    except ValueError as e:
        raise Refused("bad_message", str(e)) from None
    tr, fx = tournaments.create(root, msg.name, t, c.player, now)
    fx.reply(c.id, tournaments.state_message(tr, c.player, now), msg.rid)
    return fx


def list_tournaments(root: Root, fan, c, msg: TournamentsMsg, now: float) -> Effects:
    fx = Effects()
    fx.reply(c.id, {"type": "tournaments", "tournaments": [
        tournaments.state_message(tr, c.player, now) for tr in root.tournaments.values()
        if not tr.t.finished] + lobby.elsewhere_tournaments}, msg.rid)
    return fx


def register(root: Root, fan, c, msg: RegisterMsg, now: float, draw) -> Effects:
    tr = _tournament(root, msg.tournament)
    if root.shard:      # a cluster: the buy-in comes from the wallet first (then: spend)
        return _from_wallet(root, fan, c, root.players[c.player], tr.t.buy_in,
                            ["register", tr.id], msg.rid)
    try:
        fx = tournaments.register(root, tr, c.player)
    except tournaments.rules.TournamentError as e:
        raise Refused("tournament", str(e)) from None
    fx.send(c.player, {"type": "bankroll", "bankroll": root.players[c.player].bankroll})
    if tournaments.rules.ready(tr.t):
        _start(root, tr, draw, now, fx)
    for pid in tr.t.registered:
        fx.send(pid, tournaments.state_message(tr, pid, now))
    fx.reply(c.id, tournaments.state_message(tr, c.player, now), msg.rid)
    return fx


def _start(root: Root, tr, draw, now: float, fx: Effects) -> None:
    try:
        fx.extend(tournaments.start(root, tr, draw(tr.t.registered), now))
    except tournaments.rules.TournamentError as e:
        raise Refused("tournament", str(e)) from None
    for tid in tr.rooms.values():
        room = root.tables[tid]
        play.settle(root, room, now, fx, new_turn=False)
        for s in room.game.seats:
            if s is not None:
                fx.send(s.player, {"type": "tournament_table", "tournament": tr.id,
                                   "table": room.id})


def start_tournament(root: Root, fan, c, msg: StartTournament, now: float, draw) -> Effects:
    """The creator starts a multi-table tournament (a sit-and-go starts when full)."""
    tr = _tournament(root, msg.tournament)
    if tr.creator != c.player:
        raise Refused("tournament", "only the tournament's creator can start it")
    if tr.t.capacity:
        raise Refused("tournament", "a sit-and-go starts when it is full")
    fx = Effects()
    _start(root, tr, draw, now, fx)
    for pid in tr.t.registered:
        fx.send(pid, tournaments.state_message(tr, pid, now))
    fx.reply(c.id, tournaments.state_message(tr, c.player, now), msg.rid)
    return fx


def unregister(root: Root, fan, c, msg: UnregisterMsg, now: float) -> Effects:
    tr = _tournament(root, msg.tournament)
    try:
        fx = tournaments.unregister(root, tr, c.player)
    except tournaments.rules.TournamentError as e:
        raise Refused("tournament", str(e)) from None
    fx.send(c.player, {"type": "bankroll", "bankroll": root.players[c.player].bankroll})
    fx.reply(c.id, tournaments.state_message(tr, c.player, now), msg.rid)
    return fx


HANDLERS = {     # (hello, register and start_tournament: dispatch calls them with more)
    CreateTournament: create_tournament, TournamentsMsg: list_tournaments,
    UnregisterMsg: unregister,
    Tables: tables, Watch: watch, Unwatch: unwatch, Sit: sit, Act: act,
    SitOutMsg: sit_out, SitInMsg: sit_in, RunTwiceMsg: run_twice, TopUpMsg: top_up,
    Leave: leave, Chat: chat, Ping: ping, WaitMsg: wait, UnwaitMsg: unwait,
}
