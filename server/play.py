"""The table flow: apply an action, store it, version and fan out its events, run the clock.

Every change to a table goes through :func:`act`, in one order and with no I/O
in between (queueing a message never switches greenlets):

1. ``game.apply`` -- pure; an :class:`~game.table.IllegalAction` leaves everything as it was;
2. store the new table in the root, record the action for the hand's replay, move chips
   between bankroll and stack for the events that say so (``seated``, ``top_up``, ``left``);
3. give every event the next version ``v``, keep it in the bounded history;
4. queue each watcher's redacted copy (``game.views.event_view``), then ``turn`` to the
   player to act.

The server turns time and randomness into actions: a shuffled deck into
``StartHand``, a running-out clock into ``Timeout``. At showdown the server
applies ``Timeout`` for each seat at once (show winners, muck losers), and a
player sitting out who is to act is timed out at once too.
"""

from __future__ import annotations

import heapq
import logging
import secrets
import time

import orjson

from game.cards import DECK
from game.events import Clock as ClockEvent
from game.events import HoleCards
from game.events import from_json as events_from_json
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Muck, Raise, Show,
                        SitOut, StandUp, StartHand, Timeout, action_to_json, apply,
                        legal_actions, table_to_json)
from game.views import event_view, table_view
from server import config, durable
from server import conn as conns
from server.protocol import encode
from server.root import Player, Room, Root, pack_hand

log = logging.getLogger("server.play")

_shuffler = secrets.SystemRandom()

# Actions that end a player's turn: the next turn gets a fresh clock even if
# the same seat is to act again (heads-up, the big blind closes the preflop
# betting and opens the flop's).
TURN_ACTIONS = (StartHand, Fold, Check, Call, Bet, Raise, AllIn, Timeout, Show, Muck)
MAX_ACTIONS_BETWEEN_HANDS = 200   # then the replay base moves up (see _record)
SETTLE_STEPS = 64                 # more automatic actions than one hand can need


def now() -> float:
    """Wall-clock epoch seconds: deadlines are absolute so that they survive a restart."""
    return time.time()


# ---------------------------------------------------------------------------
# Who sees what


def seat_of(root: Root, room: Room, player_id: str | None) -> int | None:
    """The seat ``player_id`` holds at ``room`` (None for a spectator)."""
    if player_id is None:
        return None
    player = root.players.get(player_id)
    return player.seats.get(room.id) if player else None


def clock_json(room: Room) -> dict | None:
    c = room.clock
    if c.seat is None or c.deadline is None:
        return None
    bank = 0.0 if c.bank_started is not None else c.bank[c.seat]
    return {"seat": c.seat, "deadline_ms": int(c.deadline * 1000), "time_bank_ms": int(bank * 1000)}


def table_message(root: Root, room: Room, player_id: str | None, rid=None) -> dict:
    """The full ``table`` message for one viewer (redacted by ``game.views.table_view``)."""
    seat = seat_of(root, room, player_id)
    view = table_view(room.game, seat)
    for s in view["seats"]:
        if s is not None:
            p = root.players.get(s["player"])
            s["name"] = p.name if p else s["player"]
            s["connected"] = bool(p and p.conns)
    cfg = room.config
    msg = {"type": "table", "table": room.id, "v": room.v, "name": room.name, "you": seat,
           "min_buy_in": cfg.min_buy_in, "max_buy_in": cfg.max_buy_in,
           "clock": clock_json(room), "chat": list(room.chat), "view": view}
    if rid is not None:
        msg["rid"] = rid
    return msg


def event_message(room: Room, v: int, event: dict, viewer: int | None) -> dict:
    return {"type": "event", "table": room.id, "v": v, "event": event_view(event, viewer)}


def viewer_for(event: dict, seat: int | None, player_id: str | None) -> int | None:
    """The seat to redact ``event`` for. Hole cards were dealt to a *player*: a later
    occupant of the same seat replaying old events must not see them."""
    if type(event) is HoleCards and event.player != player_id:
        return None
    return seat


def send_to_player(root: Root, player: Player, message: dict) -> None:
    text = encode(message)
    for cid in list(player.conns):
        c = root.conns.get(cid)
        if c is not None:
            conns.send(c, text)


def publish(root: Root, room: Room, events: list[dict]) -> None:
    """Version, keep and fan out events (each watcher gets its own redacted copy).

    Only ``hole_cards`` differ between viewers; every other event is encoded
    and framed once for the whole table.
    """
    watchers = [c for cid in room.watchers if (c := root.conns.get(cid)) is not None]
    send = conns.send
    seats = None
    for event in events:
        room.v += 1
        if type(event) is not HoleCards:
            framed = _framed(event_message(room, room.v, event, None))
            room.history.append(framed.data)
            for c in watchers:
                send(c, framed)
            continue
        room.history.append(event)
        if seats is None:
            seats = [seat_of(root, room, c.player) for c in watchers]
        cache: dict = {}
        for c, seat in zip(watchers, seats):
            viewer = viewer_for(event, seat, c.player)
            framed = cache.get(viewer)
            if framed is None:
                framed = cache[viewer] = _framed(event_message(room, room.v, event, viewer))
            send(c, framed)


def _framed(message: dict) -> conns.Raw:
    """``message`` encoded and framed once, to be sent to several connections."""
    return conns.Raw(conns.frame(encode(message)))


def replay_since(root: Root, room: Room, c, v: int) -> bool:
    """Queue the events after ``v`` to connection ``c``; False if they are not all kept."""
    if v > room.v:
        return False
    first = first_kept(room)
    if v < room.v and (not room.history or first > v + 1):
        return False
    seat = seat_of(root, room, c.player)
    for ev_v, item in enumerate(room.history.last(room.v - v), v + 1):
        if type(item) is bytes:
            conns.send(c, conns.Raw(item))
        else:
            conns.send(c, encode(event_message(room, ev_v, item,
                                               viewer_for(item, seat, c.player))))
    return True


def first_kept(room: Room) -> int:
    """The version of ``room.history[0]``: the history always ends with ``room.v``."""
    return room.v - len(room.history) + 1


def history_events(room: Room) -> list[tuple[int, dict]]:
    """The kept events as ``(v, event)``.

    ``room.history`` (:class:`server.history.History`) holds the last events
    in order, ending with version ``room.v`` (so versions are not stored): what
    everyone sees alike as the frame sent (bytes: a replay sends it as it is),
    only ``hole_cards`` as dicts, to be redacted per viewer.
    """
    out = []
    for v, item in enumerate(room.history, first_kept(room)):
        if type(item) is bytes:
            item = events_from_json(orjson.loads(conns.unframe(item))["event"])
        out.append((v, item))
    return out


def turn_message(room: Room) -> dict | None:
    """The ``turn`` message for the player to act, or None when nobody is."""
    legal = legal_actions(room.game)
    clock = clock_json(room)
    if legal is None or clock is None or clock["seat"] != legal.seat:
        return None
    return {"type": "turn", "table": room.id, "hand": room.game.hand.number, "seat": legal.seat,
            "legal": legal.to_json(), "deadline_ms": clock["deadline_ms"],
            "time_bank_ms": clock["time_bank_ms"]}


def send_turn(root: Root, room: Room) -> None:
    msg = turn_message(room)
    if msg is None:
        return
    seat = room.game.seats[msg["seat"]]
    player = root.players.get(seat.player)
    if player is not None:
        send_to_player(root, player, msg)


# ---------------------------------------------------------------------------
# Applying actions


def act(root: Root, room: Room, action) -> None:
    """Apply one action to a table and everything that follows from it (see the module doc).

    Raises :class:`IllegalAction` before changing anything when the rules refuse it.
    """
    before = _turn_key(room)
    apply_action(root, room, action)
    settle(root, room, new_turn=isinstance(action, TURN_ACTIONS) or _turn_key(room) != before)


def apply_action(root: Root, room: Room, action, t: float | None = None) -> list[dict]:
    """Steps 1-3 of the module doc for one action; returns its events (already published).

    ``t`` is the time of the action (now, unless the journal is being replayed).
    """
    old = room.game
    game, events = apply(old, action)     # raises IllegalAction: nothing has changed
    room.game = game
    t = now() if t is None else t
    durable.record({"k": "act", "t": room.id, "a": action_to_json(action), "at": t})
    _record(root, room, old, action)
    root.counters["actions"] = root.counters.get("actions", 0) + 1
    bankrolls = _book(root, room, events, t)
    publish(root, room, events)
    for player in bankrolls:
        send_to_player(root, player, {"type": "bankroll", "bankroll": player.bankroll})
    return events


def _record(root: Root, room: Room, old, action) -> None:
    """Keep the hand replayable: ``hand_start`` + ``hand_actions`` always rebuild ``game``."""
    if isinstance(action, StartHand):
        room.hand_start = table_to_json(old)
        room.hand_actions = [action_to_json(action)]
        room.hand_names = {s.player: root.players[s.player].name
                           for s in room.game.seats if s and s.player in root.players}
        return
    if room.hand_start is None:
        room.hand_start = table_to_json(old)
        room.hand_actions = []
    if not room.game.hand_running and len(room.hand_actions) >= MAX_ACTIONS_BETWEEN_HANDS:
        # Between hands, a table that only sees players come and go would
        # grow this list forever: start the replay from here instead.
        room.hand_start = table_to_json(room.game)
        room.hand_actions = []
        return
    room.hand_actions.append(action_to_json(action))


def _book(root: Root, room: Room, events: list[dict], t: float) -> list[Player]:
    """What the server adds to the engine's events: names, bankrolls, clocks, statistics.

    Returns the players whose bankroll changed.
    """
    changed: list[Player] = []
    clock = room.clock
    awards = 0
    for e in events:
        kind = e.type
        if kind == "seated":
            # The buy-in leaves the bankroll in the same step as it lands on the table.
            player = root.players[e.player]
            player.bankroll -= e.stack
            player.seats[room.id] = e.seat
            changed.append(player)
            room.hand_names[player.id] = player.name
            clock.bank[e.seat] = config.settings.time_bank
            clock.expiries[e.seat] = 0
            room.sat_out_since[e.seat] = None
        elif kind == "left":
            # The stack leaves the table with the player, in the same step.
            player = root.players[e.player]
            player.bankroll += e.stack
            player.seats.pop(room.id, None)
            room.sat_out_since[e.seat] = None
            changed.append(player)
        elif kind == "top_up":
            player = root.players[room.game.seats[e.seat].player]
            player.bankroll -= e.amount
            changed.append(player)
        elif kind == "sat_out":
            room.sat_out_since[e.seat] = t
        elif kind == "sat_in":
            room.sat_out_since[e.seat] = None
            clock.expiries[e.seat] = 0
        elif kind == "award":
            awards += e.amount
        elif kind == "hand_ended":
            room.hands_played += 1
            root.counters["hands"] = root.counters.get("hands", 0) + 1
            room.recent_pots.append(awards)
            room.finished.append(pack_hand({
                "number": e.hand, "start": room.hand_start,
                "actions": room.hand_actions, "names": room.hand_names,
                "stacks": e.stacks, "ended": t}))
            room.next_hand_at = t + config.settings.hand_pause
    return changed


def _turn_key(room: Room):
    hand = room.game.hand
    return (hand.number, hand.to_act) if hand is not None and hand.running else None


def settle(root: Root, room: Room, new_turn: bool) -> None:
    """After a change: the automatic actions, the clock, the next hand.

    - at showdown, each seat's show-or-muck is decided at once (``Timeout``: winners show);
    - a player sitting out who is to act is timed out at once;
    - once a hand is over, players with no chips left sit out (they may ``top_up``);
    - a new turn gets a fresh clock, a ``clock`` event and a ``turn`` message;
    - the next hand is scheduled when enough players are ready.
    """
    for _ in range(SETTLE_STEPS):
        game = room.game
        hand = game.hand
        if not game.hand_running or hand.to_act is None:
            break
        if hand.street != "showdown" and not game.seats[hand.to_act].sitting_out:
            break
        _internal(root, room, Timeout(hand.to_act))
        new_turn = True
    if not room.game.hand_running:
        for i, s in enumerate(room.game.seats):
            if s is not None and s.stack == 0 and not s.sitting_out and not s.leaving:
                _internal(root, room, SitOut(i))
    _update_clock(root, room, new_turn)
    _schedule_next_hand(room)
    wake(root, room)


def _internal(root: Root, room: Room, action) -> None:
    """An action the server itself takes (a timeout, a deal, a sit-out, a removal).

    The server only takes actions the rules allow, so a refusal here is a bug: it is
    logged, and nothing changed. (A *player's* refused action is caught in one place,
    ``handlers.dispatch``.)
    """
    try:
        apply_action(root, room, action)
    except IllegalAction as e:
        log.error("table %s: the server's own %r was refused: %s", room.id, action, e)


def _update_clock(root: Root, room: Room, new_turn: bool) -> None:
    clock, game = room.clock, room.game
    hand = game.hand
    if not game.hand_running or hand.to_act is None:
        clock.seat = clock.hand = clock.deadline = clock.bank_started = None
        return
    if not new_turn and clock.seat == hand.to_act and clock.hand == hand.number:
        return  # the same turn goes on (someone else sat down, chatted, ...)
    clock.seat, clock.hand = hand.to_act, hand.number
    clock.deadline = now() + config.settings.turn_seconds
    clock.bank_started = None
    publish(root, room, [ClockEvent(**clock_json(room))])
    send_turn(root, room)


def ready_players(game) -> int:
    """Players who could be dealt in (chips, not sitting out, not leaving): scheduling only;
    whether a hand can start is the engine's call when ``StartHand`` is applied."""
    return sum(1 for s in game.seats if s and s.stack > 0 and not s.sitting_out
               and not s.leaving)


def _schedule_next_hand(room: Room) -> None:
    if room.game.hand_running or ready_players(room.game) < 2:
        room.next_hand_at = None
    elif room.next_hand_at is None:
        room.next_hand_at = now() + config.settings.hand_pause


# ---------------------------------------------------------------------------
# A player's own actions


def player_acts(root: Root, room: Room, seat: int, action) -> None:
    """A betting action by the player at ``seat``: spends the time bank they used and
    resets their run of clock expiries (only once the rules accepted it)."""
    clock = room.clock
    used = None
    if clock.seat == seat and clock.bank_started is not None:
        used = max(0.0, now() - clock.bank_started)
    act(root, room, action)
    if used is not None:
        clock.bank[seat] = max(0.0, clock.bank[seat] - used)
    clock.expiries[seat] = 0


# ---------------------------------------------------------------------------
# Time: the clock, the next hand, sat-out players


def restart_clocks(root: Root, t: float | None = None) -> int:
    """After a recovery: every running turn gets a fresh turn clock from ``t``.

    The deadlines in an image are absolute, so a turn whose time ran out while
    the server was down would otherwise be timed out the moment it starts,
    before the player could even reconnect. The downtime is not the player's:
    the time bank is not spent either. Returns how many clocks were restarted.
    """
    t = now() if t is None else t
    restarted = 0
    for room in root.tables.values():
        clock = room.clock
        if clock.seat is not None and clock.deadline is not None:
            clock.deadline = t + config.settings.turn_seconds
            clock.bank_started = None
            restarted += 1
    return restarted


def due(room: Room) -> float | None:
    """When time next decides something at this table (what :func:`tick` looks at)."""
    game, clock = room.game, room.clock
    times = []
    if game.hand_running:
        if clock.deadline is not None:
            times.append(clock.deadline)
        elif game.hand.to_act is not None:
            return 0.0                      # a turn with no clock: at once
    elif room.next_hand_at is not None:
        times.append(room.next_hand_at)
    limit = config.settings.sit_out_remove
    times += [since + limit for since in room.sat_out_since if since is not None]
    return min(times, default=None)


def wake(root: Root, room: Room) -> None:
    """After a change: make sure ``root.wakeups`` holds this table's next due time.

    One entry per table at most is live (``room.wake_at``); an entry that came
    due early (the deadline moved on) just ticks the table for nothing and is
    replaced. So the clock looks only at the tables whose time has come.
    """
    d = due(room)
    if d is not None and (room.wake_at is None or d < room.wake_at):
        room.wake_at = d
        heapq.heappush(root.wakeups, (d, room.id))
        if d < root.clock_at and root.alarm is not None:
            root.alarm()                    # the clock sleeps past it: wake it sooner


def run_due(root: Root, t: float | None = None) -> int:
    """Tick every table whose time has come; returns how many were ticked."""
    t = now() if t is None else t
    heap, ticked = root.wakeups, 0
    while heap and heap[0][0] <= t:
        d, table_id = heapq.heappop(heap)
        room = root.tables.get(table_id)
        if room is None or room.wake_at != d:
            continue                        # superseded by an earlier entry, or gone
        room.wake_at = None
        ticked += 1
        try:
            tick(root, room, t)
        except Exception:  # noqa: BLE001 - one broken table must not stop the others
            log.exception("table %s: tick failed", room.id)
        wake(root, room)
    return ticked


def tick(root: Root, room: Room, t: float | None = None) -> None:
    """Everything time decides at one table: clock expiry, the next hand, removals."""
    t = now() if t is None else t
    clock, game = room.clock, room.game
    if game.hand_running and clock.deadline is not None and t >= clock.deadline:
        expire(root, room, t)
    elif game.hand_running and clock.deadline is None and game.hand.to_act is not None:
        settle(root, room, new_turn=True)   # no clock for the seat to act: start one
    elif not game.hand_running and room.next_hand_at is not None and t >= room.next_hand_at:
        start_hand(root, room)
    limit = config.settings.sit_out_remove
    for i, since in enumerate(room.sat_out_since):
        if since is not None and t - since >= limit:
            s = room.game.seats[i]
            if s is not None and s.sitting_out and not s.leaving:
                _internal(root, room, StandUp(i))
                settle(root, room, new_turn=False)
            else:
                room.sat_out_since[i] = None


def expire(root: Root, room: Room, t: float) -> None:
    """The deadline passed: spend the time bank, or time the player out (check, else fold)."""
    clock, hand = room.clock, room.game.hand
    seat = clock.seat
    if seat is None or hand.to_act != seat or clock.hand != hand.number:
        settle(root, room, new_turn=True)   # a stale clock: start the right one
        return
    if clock.bank_started is None and clock.bank[seat] > 0:
        clock.bank_started = t
        clock.deadline = t + clock.bank[seat]
        publish(root, room, [ClockEvent(seat, int(clock.deadline * 1000), 0)])
        send_turn(root, room)
        return
    if clock.bank_started is not None:
        clock.bank[seat] = 0.0
    clock.expiries[seat] += 1
    player = room.game.seats[seat].player
    _internal(root, room, Timeout(seat))
    settle(root, room, new_turn=True)
    s = room.game.seats[seat]
    if (clock.expiries[seat] >= config.settings.expiries_to_sit_out and s is not None
            and s.player == player and not s.sitting_out and not s.leaving):
        _internal(root, room, SitOut(seat))
        settle(root, room, new_turn=False)


def start_hand(root: Root, room: Room) -> None:
    """Shuffle (``secrets.SystemRandom``) and deal the next hand, if enough players are ready."""
    room.next_hand_at = None
    if room.game.hand_running or ready_players(room.game) < 2:
        return
    deck = list(DECK)
    _shuffler.shuffle(deck)
    _internal(root, room, StartHand(tuple(deck)))
    settle(root, room, new_turn=True)
