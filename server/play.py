"""The table flow: apply an action, keep the books, version its events, run the clock.

Every change to a table goes through :func:`step` (a player's action) or
:func:`tick` (what time decides), in one order, with no I/O: the result is an
:class:`~server.effects.Effects` value that :func:`server.effects.commit`
carries out.

1. ``game.apply`` -- pure; an :class:`~game.table.IllegalAction` leaves everything
   as it was;
2. store the new table in the root, record the action for the hand's replay,
   move chips between bankroll and stack for the events that say so
   (``seated``, ``top_up``, ``left``), journal the action;
3. give every event the table's next version ``v``;
4. the rules' own actions (``game.automatic_action``: the showdown's default,
   a sitting-out player's turn, a busted player sitting out), a new turn's
   clock (a ``clock`` event and a ``turn`` message), the next hand's time.

The server only turns time and randomness into actions: a shuffled deck into
``StartHand``, a clock that ran out into ``Timeout`` (after the time bank),
two expiries in a row into ``SitOut``, a long sit-out into ``StandUp``.
"""

from __future__ import annotations

import logging
from typing import Callable

from game.events import Chat, Clock, HoleCards, Presence, TimeBank
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Muck, Raise, Show,
                        StandUp, StartHand, Timeout, action_to_json, after_timeouts, apply,
                        automatic_action, can_start_hand, legal_actions, table_to_json)
from game.views import table_view
from server import config, tournaments, waiting
from server.effects import Effects
from server.root import Player, Room, Root, pack_hand

log = logging.getLogger("server.play")

# Actions that end a player's turn: the next turn gets a fresh clock even if
# the same seat is to act again (heads-up, the big blind closes the preflop
# betting and opens the flop's).
TURN_ACTIONS = (StartHand, Fold, Check, Call, Bet, Raise, AllIn, Timeout, Show, Muck)
MAX_ACTIONS_BETWEEN_HANDS = 200   # then the replay base moves up (see _record)
AUTOMATIC_STEPS = 64              # more automatic actions than one hand can need


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


def table_message(root: Root, room: Room, player_id: str | None,
                  online: Callable[[str], bool] = lambda player_id: False) -> dict:
    """The full ``table`` message for one viewer (redacted by ``game.views.table_view``);
    ``online(player_id)`` says whether a seated player has an open socket."""
    seat = seat_of(root, room, player_id)
    view = table_view(room.game, seat)
    for s in view["seats"]:
        if s is not None:
            p = root.players.get(s["player"])
            s["name"] = p.name if p else s["player"]
            s["connected"] = online(s["player"])
            s["time_bank_ms"] = int(room.clock.bank[s["seat"]] * 1000)
    cfg = room.config
    return {"type": "table", "table": room.id, "v": room.v, "name": room.name, "you": seat,
            "tournament": room.tournament,
            "min_buy_in": cfg.min_buy_in, "max_buy_in": cfg.max_buy_in,
            "clock": clock_json(room), "chat": list(room.chat), "view": view}


def turn_message(room: Room) -> dict | None:
    """The ``turn`` message for the player to act, or None when nobody is."""
    legal = legal_actions(room.game)
    clock = clock_json(room)
    if legal is None or clock is None or clock["seat"] != legal.seat:
        return None
    return {"type": "turn", "table": room.id, "hand": room.game.hand.number, "seat": legal.seat,
            "legal": legal.to_json(), "deadline_ms": clock["deadline_ms"],
            "time_bank_ms": clock["time_bank_ms"]}


def publish(room: Room, events, fx: Effects) -> None:
    """Give each event the table's next version; hole cards are for their player only."""
    out = fx.out
    for event in events:
        room.v += 1
        out.append(("event", room.id, room.v, event,
                    event.player if type(event) is HoleCards else None))


def _send_turn(root: Root, room: Room, fx: Effects) -> None:
    msg = turn_message(room)
    if msg is not None:
        fx.send(room.game.seats[msg["seat"]].player, msg)


# ---------------------------------------------------------------------------
# Applying actions


def step(root: Root, room: Room, action, now: float, fx: Effects | None = None) -> Effects:
    """One action at one table and everything that follows from it (see the module doc).

    Raises :class:`IllegalAction` before changing anything when the rules refuse it.
    """
    fx = Effects() if fx is None else fx
    before = _turn_key(room)
    turn = isinstance(action, TURN_ACTIONS)
    # Another player's move (leaving, say) can change what the player to act may do
    # without ending their turn: they are sent the new choices.
    choices = None if turn or before is None else legal_actions(room.game)
    apply_action(root, room, action, now, fx)
    new_turn = turn or _turn_key(room) != before
    settle(root, room, now, fx, new_turn=new_turn)
    if choices is not None and not new_turn and _turn_key(room) == before \
            and legal_actions(room.game) != choices:
        _send_turn(root, room, fx)
    return fx


def catch_up(root: Root, room: Room, now: float) -> Effects:
    """Before a player's action: what the clock decided already (the turn's time and the
    bank ran out at their deadlines) but the clock greenlet has not applied yet. So an
    action that comes after its time is refused whatever the loop's lag, and one in the
    time bank spends it from when the turn's time ran out."""
    fx = Effects()
    clock = room.clock
    for _ in range(2):      # the turn's time, then the bank's
        if not (room.game.hand_running and clock.deadline is not None and now >= clock.deadline):
            break
        _expire(root, room, now, fx)
    return fx


def player_acts(root: Root, room: Room, seat: int, action, now: float) -> Effects:
    """A betting action by the player at ``seat``: spends the time bank they used and
    resets their run of clock expiries (only once the rules accepted it). Call
    :func:`catch_up` first."""
    clock = room.clock
    used = None
    if clock.seat == seat and clock.bank_started is not None:
        used = max(0.0, now - clock.bank_started)
    fx = step(root, room, action, now)
    if used is not None:
        clock.bank[seat] = max(0.0, clock.bank[seat] - used)
        publish(room, [TimeBank(seat, int(clock.bank[seat] * 1000))], fx)
    clock.expiries[seat] = 0
    return fx


def apply_action(root: Root, room: Room, action, now: float, fx: Effects) -> None:
    """Steps 1-3 of the module doc for one action (recovery re-applies journaled
    actions through this alone: what followed them is journaled too)."""
    old = room.game
    game, events = apply(old, action)     # raises IllegalAction: nothing has changed
    room.game = game
    fx.journal.append({"k": "act", "t": room.id, "a": action_to_json(action), "at": now})
    _record(root, room, old, action)
    root.counters["actions"] = root.counters.get("actions", 0) + 1
    bankrolls, banks = _book(root, room, events, now)
    publish(room, events, fx)
    publish(room, [TimeBank(seat, int(room.clock.bank[seat] * 1000)) for seat in banks], fx)
    for player in bankrolls:
        fx.send(player.id, {"type": "bankroll", "bankroll": player.bankroll})


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


def _book(root: Root, room: Room, events, now: float) -> tuple[list[Player], list[int]]:
    """What the server keeps beside the rules: bankrolls, clocks, statistics, kept hands.

    Returns the players whose bankroll changed, and the seats whose time bank did.
    """
    changed: list[Player] = []
    banks: list[int] = []
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
            clock.expiries[e.seat] = clock.dealt[e.seat] = 0
            banks.append(e.seat)
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
            room.sat_out_since[e.seat] = now
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
                "stacks": e.stacks, "ended": now}))
            room.next_hand_at = now + config.settings.hand_pause
            banks += _refill_time_banks(room)
    return changed, banks


def _refill_time_banks(room: Room) -> list[int]:
    """Every ``time_bank_every`` hands a seat is dealt, its time bank grows by
    ``time_bank_refill`` seconds, up to ``time_bank_max``; returns the seats refilled."""
    s, clock = config.settings, room.clock
    refilled = []
    for i, seat in enumerate(room.game.seats):
        if seat is None or not seat.in_hand:
            continue
        clock.dealt[i] += 1
        if clock.dealt[i] % s.time_bank_every == 0 and clock.bank[i] < s.time_bank_max:
            clock.bank[i] = min(s.time_bank_max, clock.bank[i] + s.time_bank_refill)
            refilled.append(i)
    return refilled


def _turn_key(room: Room):
    hand = room.game.hand
    return (hand.number, hand.to_act) if hand is not None and hand.running else None


def settle(root: Root, room: Room, now: float, fx: Effects, new_turn: bool) -> None:
    """After a change: the rules' automatic actions, the clock, the next hand, the wake-up
    (or, at a table being closed whose hand is over, the close)."""
    for _ in range(AUTOMATIC_STEPS):
        action = automatic_action(room.game)
        if action is None:
            break
        _internal(root, room, action, now, fx)
        new_turn = True
    over = tournaments.hand_over(root, room)
    if over is not None:
        tr, number = over
        for _ in range(len(tr.rooms) + 1):
            for other in tournaments.after_hand(root, tr, number, now, fx, publish):
                _schedule_next_hand(other, now)
                fx.wake[other.id] = due(other)
            number = tournaments.idle_to_break(root, tr)
            if number is None:
                break
        if room.id not in root.tables:
            return                          # the tournament is over
    if room.closing and not room.game.hand_running:
        _close(root, room, now, fx)
        return
    _update_clock(root, room, now, fx, new_turn)
    _schedule_next_hand(room, now)
    waiting.update(root, room, now, fx)
    fx.wake[room.id] = due(room)


def _internal(root: Root, room: Room, action, now: float, fx: Effects) -> None:
    """An action the server takes itself (a deal, a timeout, the rules' own, a removal).

    The server takes only actions the rules allow, so a refusal here is a bug: it is
    logged, and nothing changed by it (what came before it in ``fx`` still holds). A
    *player's* refused action is caught in one place, ``handlers.dispatch``.
    """
    try:
        apply_action(root, room, action, now, fx)
    except IllegalAction as e:
        log.error("table %s: the server's own %r was refused: %s", room.id, action, e)


def _update_clock(root: Root, room: Room, now: float, fx: Effects, new_turn: bool) -> None:
    clock, game = room.clock, room.game
    hand = game.hand
    if not game.hand_running or hand.to_act is None:
        clock.seat = clock.hand = clock.deadline = clock.bank_started = None
        return
    if not new_turn and clock.seat == hand.to_act and clock.hand == hand.number:
        return  # the same turn goes on (someone else sat down, chatted, ...)
    clock.seat, clock.hand = hand.to_act, hand.number
    clock.deadline = now + config.settings.turn_seconds
    clock.bank_started = None
    publish(room, [Clock(**clock_json(room))], fx)
    _send_turn(root, room, fx)


def _schedule_next_hand(room: Room, now: float) -> None:
    # Whether the hand can really start is the rules' call when StartHand is applied.
    if not can_start_hand(room.game) or room.closing:
        room.next_hand_at = None
    elif room.next_hand_at is None:
        room.next_hand_at = now + config.settings.hand_pause


# ---------------------------------------------------------------------------
# Closing a table


def close_table(root: Root, room: Room, now: float) -> Effects:
    """An operator closes ``room``: no new hand starts; once the hand being played (if
    any) is over, every player stands up with their chips and the table goes."""
    fx = Effects()
    if not room.closing:
        room.closing = True
        fx.journal.append({"k": "closing", "t": room.id})
    settle(root, room, now, fx, new_turn=False)
    return fx


def _close(root: Root, room: Room, now: float, fx: Effects) -> None:
    for i, seat in enumerate(room.game.seats):
        if seat is not None:
            _internal(root, room, StandUp(i), now, fx)     # the chips go home
    del root.tables[room.id]
    waiting.closed(room, fx)
    fx.journal.append({"k": "close", "t": room.id})
    fx.out.append(("close", room.id, {"type": "table_closed", "table": room.id}))
    fx.wake[room.id] = None


def expired(room: Room, now: float) -> bool:
    """A table someone created and nobody ever sat at, past ``--empty-table-ttl``."""
    return (room.created is not None and not room.used
            and now >= room.created + config.settings.empty_table_ttl)


# ---------------------------------------------------------------------------
# Chat and presence: table events that are not the rules'


def chat(root: Root, room: Room, player: Player, text: str, fx: Effects) -> None:
    """A chat line at ``room``: kept for the full view, journaled, sent to the watchers."""
    room.chat.append({"name": player.name, "text": text})
    fx.journal.append({"k": "chat", "t": room.id, "player": player.id, "name": player.name,
                       "text": text})
    publish(room, [Chat(player.id, player.name, text)], fx)


def presence(root: Root, player: Player, connected: bool, fx: Effects) -> None:
    """A player's connections dropped to zero, or came back: tell the tables they sit at."""
    for table_id, seat in player.seats.items():
        room = root.tables.get(table_id)
        if room is not None:
            publish(room, [Presence(seat, connected)], fx)


# ---------------------------------------------------------------------------
# Time: the clock, the next hand, sat-out players


def restart_clocks(root: Root, now: float) -> int:
    """After a recovery: every running turn gets a fresh turn clock from ``now`` (and a
    seat held for a waiting list is held ``--wait-offer`` seconds from ``now``).

    The deadlines in an image are absolute, so a turn whose time ran out while
    the server was down would otherwise be timed out the moment it starts,
    before the player could even reconnect. The downtime is not the player's:
    the time bank is not spent either. Returns how many clocks were restarted.
    """
    restarted = 0
    for room in root.tables.values():
        clock = room.clock
        if clock.seat is not None and clock.deadline is not None:
            clock.deadline = now + config.settings.turn_seconds
            clock.bank_started = None
            restarted += 1
    waiting.restart_offers(root, now)       # and so does a seat held for the waiting list
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
    if room.created is not None and not room.used:
        times.append(room.created + config.settings.empty_table_ttl)
    limit = config.settings.sit_out_remove
    times += [since + limit for since in room.sat_out_since if since is not None]
    times += [offer["until"] for offer in room.offers]   # seats held for the waiting list
    return min(times, default=None)


def tick(root: Root, room: Room, now: float, shuffled: Callable[[], tuple]) -> Effects:
    """Everything time decides at one table: clock expiry, the next hand, removals, a held
    seat passing on to the next on the waiting list.

    ``shuffled()`` gives a freshly shuffled deck when a hand is to be dealt.
    """
    fx = Effects()
    if expired(room, now):
        _close(root, room, now, fx)
        return fx
    clock, game = room.clock, room.game
    if game.hand_running and clock.deadline is not None and now >= clock.deadline:
        _expire(root, room, now, fx)
    elif game.hand_running and clock.deadline is None and game.hand.to_act is not None:
        settle(root, room, now, fx, new_turn=True)   # no clock for the seat to act: start one
    elif not game.hand_running and room.next_hand_at is not None and now >= room.next_hand_at:
        room.next_hand_at = None
        if can_start_hand(room.game):
            _internal(root, room, StartHand(shuffled()), now, fx)
        settle(root, room, now, fx, new_turn=True)
    if room.id not in root.tables:
        return fx                           # it was being closed, and its hand is over
    limit = config.settings.sit_out_remove
    for i, since in enumerate(room.sat_out_since):
        if since is not None and now - since >= limit:
            s = room.game.seats[i]
            if s is not None and s.sitting_out and not s.leaving:
                _internal(root, room, StandUp(i), now, fx)
                settle(root, room, now, fx, new_turn=False)
            else:
                room.sat_out_since[i] = None
    waiting.update(root, room, now, fx)     # a held seat whose time ran out passes on
    fx.wake[room.id] = due(room)
    return fx


def _expire(root: Root, room: Room, now: float, fx: Effects) -> None:
    """The deadline passed: spend the time bank, or time the player out (check, else fold)."""
    clock, hand = room.clock, room.game.hand
    seat = clock.seat
    if seat is None or hand.to_act != seat or clock.hand != hand.number:
        settle(root, room, now, fx, new_turn=True)   # a stale clock: start the right one
        return
    if clock.bank_started is None and clock.bank[seat] > 0:
        # The bank runs from when the turn's time ran out, however late this runs.
        clock.bank_started = clock.deadline
        clock.deadline = clock.deadline + clock.bank[seat]
        publish(room, [Clock(seat, int(clock.deadline * 1000), 0)], fx)
        _send_turn(root, room, fx)
        return
    if clock.bank_started is not None:
        clock.bank[seat] = 0.0
        publish(room, [TimeBank(seat, 0)], fx)
    clock.expiries[seat] += 1
    player = room.game.seats[seat].player
    _internal(root, room, Timeout(seat), now, fx)
    settle(root, room, now, fx, new_turn=True)
    limit = None if room.tournament is not None else config.settings.expiries_to_sit_out
    follow = after_timeouts(room.game, seat, player, clock.expiries[seat], limit)
    if follow is not None:
        _internal(root, room, follow, now, fx)
        settle(root, room, now, fx, new_turn=False)
