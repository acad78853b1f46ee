"""One bot: a WebSocket client that sits at a table and answers ``turn``.

A bot runs as a greenlet (``gevent.spawn(bot.run)``); the process must be
monkey-patched (``gevent.monkey.patch_all()``) so that websocket-client's
socket calls yield to the hub.  It says ``hello``, watches its table, sits
with a buy-in inside the table's limits, keeps a :class:`BotState` up to date
from the versioned events, and answers every ``turn`` with its strategy.
When the link drops it reconnects with its token and the last ``v`` it saw,
and counts whether the server replayed the missed events or resynced it.

Misbehaviour for chaos runs is opt-in per bot (``chaos``):

- ``drop``: cuts its TCP connection now and then (no close frame) and resumes;
- ``slow``: acts late into its clock, sometimes into the time bank, sometimes
  not at all (the server times it out); sits back in when sat out;
- ``bad``: sends the bad inputs of ``client.bots.chaos`` and records what the
  server answered.
"""

from __future__ import annotations

import itertools
import random
import socket
import time

import gevent
import gevent.event
import orjson
import websocket

from client.bots import chaos as chaos_probes
from client.bots.wire import connect, read, send, table_url
from client.bots.stats import Stats
from client.bots.strategies import STRATEGIES, BotState

_ABNORMAL = 1006          # the link dropped without a close frame
MAX_SIT_TRIES = 10
RETRY_AFTER = 0.1         # seconds before an act refused with rate_limited is sent again
LATE_WAIT = 10.0          # how long an act_after_clock probe waits for the server's timeout
# What the clock rules say a slow bot's late act gets (docs/protocol.md, "turn").
LATE_EXPECTED = {"act_in_time_bank": {"accepted"}, "act_after_clock": {"illegal"}}


class Bot:
    """A bot playing one table until ``stop`` is set."""

    def __init__(self, url: str, name: str, table: str, strategy, stats: Stats, *,
                 seat: int | None = None, buy_in: int | None = None, chaos=(),
                 think: float = 0.0, rng: random.Random | None = None,
                 stop: gevent.event.Event | None = None, other_table: str | None = None,
                 origin: str | None = None, token: str | None = None):
        self.url, self.name, self.table, self.stats = url, name, table, stats
        # A strategy by name (see STRATEGIES) or any (turn, state) -> action function.
        self.strategy = STRATEGIES[strategy] if isinstance(strategy, str) else strategy
        self.strategy_name = strategy if isinstance(strategy, str) else strategy.__name__
        self.want_seat, self.want_buy_in = seat, buy_in
        self.chaos = frozenset(chaos)
        self.think = think
        self.rng = rng or random.Random()
        self.stop_event = stop or gevent.event.Event()
        self.other_table = other_table
        self.origin = origin
        self.state = BotState(rng=self.rng)
        self.ws = None
        self.token = token            # a player's session token: say hello as that player
        self.player = None
        self.v = None                 # last table version seen, in order
        self.limits = None            # (min_buy_in, max_buy_in) once the table is seen
        self.bankroll = None
        self.stack = 0
        self.to_act = None            # the seat the table waits for
        self.hand = None
        self.rids = itertools.count(1)
        self.pending_act = None       # (rid, sent_at, late) of the act awaiting its event
        self.last_action = None       # what it was (sent again after rate_limited)
        self.act_v = None             # the table's version when it was sent
        self.sit_rid = None
        self.sit_tries = 0
        self.turn_id = 0              # bumps with every turn; a late act checks it
        self.turn_open = False        # our turn, not yet over by the events
        self.turn_key = None          # (hand, v) of the last turn answered
        self.paused_turn = None       # the turn whose act play's pause refused (sent on resume)
        self.slow_plan = None         # ((hand, legal), "bank" | "timeout") while a slow bot waits
        self.resume_pending = False
        self.verify = False
        self.resync_asked = False
        self.dropping = False
        self.offline = 0.0            # seconds a drop stays away before reconnecting
        self.connected = False
        self.seated_once = False
        self.probe = None             # (rid, AsyncResult) of the bad input in flight
        self.helpers = []

    # -- life cycle --------------------------------------------------------

    def run(self) -> None:
        """Connect, play, reconnect on a drop; return once ``stop`` is set."""
        if "drop" in self.chaos:
            self.helpers.append(gevent.spawn(self._dropper))
        if "bad" in self.chaos:
            self.helpers.append(gevent.spawn(self._prober))
        backoff = 0.2
        try:
            while not self.stop_event.is_set():
                try:
                    self.ws = connect(table_url(self.url, self.table), self.origin)
                except (OSError, websocket.WebSocketException):
                    self.stats.connect_failures += 1
                    if self.stop_event.wait(backoff * (0.5 + self.rng.random())):
                        break
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                self._session()
                if self.stop_event.is_set():
                    break
                self.stats.reconnects += 1
                self.stop_event.wait(self.offline + 0.05 + 0.2 * self.rng.random())
                self.offline = 0.0
        finally:
            gevent.killall(self.helpers)

    def stop(self) -> None:
        """Leave the table and close politely (the read loop then ends)."""
        self.stop_event.set()
        ws = self.ws
        if ws is None or not self.connected:
            self._cut()
            return
        try:
            if self.state.seat is not None:
                self._send({"type": "leave", "table": self.table})
            ws.send_close(1000)
        except (OSError, websocket.WebSocketException):
            self._cut()

    def _cut(self) -> None:
        ws = self.ws
        if ws is not None and ws.sock is not None:
            try:
                ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _session(self) -> None:
        """One connection: hello, then read until it closes."""
        ws = self.ws
        hello = {"type": "hello", "protocol": 2, "name": self.name}
        if self.token:
            hello = {"type": "hello", "protocol": 2, "token": self.token}
            if self.v is not None:
                hello["tables"] = {self.table: self.v}
        closed = _ABNORMAL
        try:
            self._send(hello)
            while True:
                msg = read(ws)
                if type(msg) is tuple:
                    closed = msg[1]
                    break
                self.stats.received += 1
                self._handle(msg)
        except (OSError, websocket.WebSocketException, orjson.JSONDecodeError):
            pass
        finally:
            if self.probe is not None:             # a bad input closed the socket: its answer
                self.probe[1].set(f"close {closed}")
            elif not self.stop_event.is_set() and not (self.dropping and closed == _ABNORMAL):
                self.stats.closes[closed] += 1
            if self.connected:
                self.stats.connected -= 1
            self.connected = False
            self.dropping = False
            self.pending_act = None
            self.sit_rid = None
            self.resync_asked = False
            self.verify = False
            self.turn_key = None            # a turn sent again on the next link is answered
            ws.shutdown()

    def _send(self, msg: dict) -> int:
        rid = next(self.rids)
        if type(msg) is dict:
            msg["rid"] = rid
        send(self.ws, msg)
        return rid

    # -- messages ------------------------------------------------------------

    def _handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "events":
            if msg.get("table") == self.table:
                first = msg["v"]
                for i, event in enumerate(msg.get("events") or ()):
                    self._event(first + i, event)
        elif kind == "turn":
            if msg.get("table") == self.table and msg.get("seat") == self.state.seat:
                self._turn(msg)
        elif kind == "table":
            if msg.get("table") == self.table:
                self._table(msg)
        elif kind == "error":
            self._error(msg)
        elif kind == "welcome":
            self._welcome(msg)
        elif kind == "bankroll":
            self.bankroll = msg.get("bankroll")
        elif kind == "resumed":
            self._resumed()

    def _welcome(self, msg: dict) -> None:
        self.connected = True
        self.stats.connected += 1
        resuming = self.token is not None and self.v is not None
        self.token, self.player = msg["token"], msg["player"]
        self.bankroll = msg.get("bankroll")
        seat = (msg.get("seats") or {}).get(self.table)
        if seat is None and self.state.seat is not None:
            self.state.seat = None     # removed while away (sat out too long)
        if resuming:
            self.resume_pending = True
        else:
            self._send({"type": "watch", "table": self.table})

    def _table(self, msg: dict) -> None:
        """A full view: on watch, on sit, on a resync.

        Its ``legal`` is not acted on: the server follows it with a ``turn``.
        """
        if self.resume_pending:
            self.stats.resumes["resync"] += 1
            self.resume_pending = False
        if self.verify:
            # Everything sent before this view has been applied: the replayed
            # state must be the server's (same version, board and hole cards).
            self.verify = False
            hand = msg["view"].get("hand") or {}
            me = msg["view"]["seats"][msg["you"]] if msg.get("you") is not None else None
            same = (msg["v"] == self.v and tuple(hand.get("board") or ()) == self.state.board
                    and (me is None or tuple(me.get("cards") or ()) == self.state.cards))
            self.stats.resumes["replay_verified" if same else "replay_mismatch"] += 1
        self.resync_asked = False
        self.v = msg["v"]
        self.limits = (msg["min_buy_in"], msg["max_buy_in"])
        view = msg["view"]
        st = self.state
        st.seat = msg.get("you")
        st.big_blind = view.get("big_blind", st.big_blind)
        hand = view.get("hand")
        seats = view["seats"]
        if hand:
            self.hand = hand.get("number")
            self.to_act = hand.get("to_act")
            st.board = tuple(hand.get("board") or ())
            st.pot = sum(p["amount"] for p in hand.get("pots") or ()) + sum(
                s["bet"] for s in seats if s)
            st.in_hand = {s["seat"] for s in seats if s and s.get("in_hand") and not s.get("folded")}
        else:
            self.hand, self.to_act, st.board, st.pot, st.in_hand = None, None, (), 0, set()
        me = seats[st.seat] if st.seat is not None else None
        st.cards = tuple(me.get("cards") or ()) if me else ()
        if me:
            self.stack = me["stack"]
            if me.get("sitting_out"):
                self._back_in()
        if st.seat is None and self.sit_rid is None and not self.stop_event.is_set():
            self._sit(seats)

    def _sit(self, seats) -> None:
        free = [i for i, s in enumerate(seats) if s is None]
        if not free or self.sit_tries >= MAX_SIT_TRIES:
            self.stats.error("no_free_seat")
            return
        seat = self.want_seat if self.want_seat in free else self.rng.choice(free)
        self.want_seat = None
        low, high = self.limits
        buy_in = self.want_buy_in or high
        if self.bankroll is not None:
            buy_in = min(buy_in, self.bankroll)
        self.sit_tries += 1
        self.sit_rid = self._send({"type": "sit", "table": self.table, "seat": seat,
                                   "buy_in": max(low, buy_in)})

    def _event(self, v: int, event: dict) -> None:
        if self.v is None or v <= self.v:
            return                          # before our first view, or a duplicate
        if v != self.v + 1:
            self.stats.gaps += 1
            if not self.resync_asked:       # ask once; the answer is a table or the events
                self.resync_asked = True
                self._send({"type": "watch", "table": self.table, "v": self.v})
            return
        self.resync_asked = False           # in order again (a gap's replay arrived)
        if self.resume_pending:
            self.stats.resumes["replay"] += 1
            self.resume_pending = False
            self.verify = True              # compare with a full view once replayed
            self._send({"type": "watch", "table": self.table})
        self.v = v
        self._apply(event)

    def _apply(self, ev: dict) -> None:
        """Keep the bot's view of the hand up to date with one event."""
        st, kind = self.state, ev.get("type")
        if kind == "action":
            st.pot += ev.get("amount") or 0
            if ev["action"] == "fold":
                st.in_hand.discard(ev["seat"])
            if ev["seat"] == st.seat:
                self.stack = ev.get("stack", self.stack)
                self.turn_open = False
                self._acted()
        elif kind == "to_act":
            self.to_act = ev["seat"]
            if ev["seat"] != st.seat:
                self.turn_open = False
        elif kind == "blind":
            st.pot += ev.get("amount") or 0
        elif kind == "uncalled":
            st.pot -= ev.get("amount") or 0
        elif kind == "street":
            st.board = tuple(ev.get("board") or ())
        elif kind == "hole_cards":
            if ev.get("seat") == st.seat and ev.get("cards"):
                st.cards = tuple(ev["cards"])
        elif kind == "hand_started":
            self.hand = ev.get("hand")
            st.cards, st.board, st.pot = (), (), 0
            st.in_hand = set(_seat_list(ev.get("seats")))
        elif kind == "hand_ended":
            self.stats.hands.add((self.table, ev.get("hand")))
            self.to_act = None
            self.turn_open = False          # e.g. everyone else left while we thought
            stack = _seat_value(ev.get("stacks"), st.seat)
            if stack is not None:
                self.stack = stack
        elif kind == "seated":
            if ev.get("player") == self.player:
                st.seat, self.sit_rid, self.stack = ev["seat"], None, ev.get("stack", 0)
                if not self.seated_once:
                    self.seated_once = True
                    self.stats.seated += 1
        elif kind == "timeout":
            if ev.get("seat") == st.seat:
                self.stats.timeouts += 1
        elif kind == "sat_out":
            # Live only: a replayed sat_out may be long over (the full view
            # that ends a catch-up says whether we still sit out).
            if ev.get("seat") == st.seat and not (self.resume_pending or self.verify):
                self._back_in()
        elif kind == "left":
            if ev.get("seat") == st.seat and ev.get("player", self.player) == self.player:
                st.seat = None
                if not self.stop_event.is_set():   # removed by the server: sit again
                    self.sit_tries = 0
                    self._send({"type": "watch", "table": self.table})

    def _back_in(self) -> None:
        """Sat out (timed out twice, or busted): rebuy if broke, then sit in."""
        if self.limits is None or self.stop_event.is_set():
            return
        if self.stack == 0:
            # A busted seat is not in any hand, so the top-up is always allowed.
            amount = self.limits[1] if self.bankroll is None else min(self.limits[1], self.bankroll)
            if amount <= 0:
                return                      # bankroll gone: stay sat out
            self._send({"type": "top_up", "table": self.table, "amount": amount})
            self.stack = amount
        self._send({"type": "sit_in", "table": self.table})

    def _error(self, msg: dict) -> None:
        code, rid = msg.get("code"), msg.get("rid")
        probe = self.probe
        if probe is not None and (rid is None or rid == probe[0]):
            probe[1].set(code)              # the bad input's answer: expected, not a failure
            return
        if (code == "rate_limited" and self.pending_act is not None and not self.pending_act[2]
                and rid in (None, self.pending_act[0])):
            # Over the socket's rate: the message was dropped unread (so its
            # error has no rid), most likely our act, and the table would wait
            # for our clock. Send it again shortly if the turn is still ours
            # then (if the act did go through, its event closes the turn first).
            self.pending_act = None
            if self.turn_open and not self.stop_event.is_set():
                gevent.spawn(self._act_later, RETRY_AFTER, self.turn_id, self.last_action, None)
        elif (code == "paused" and self.pending_act is not None and not self.pending_act[2]
                and rid == self.pending_act[0]):
            # The server cannot save its state, so it refused the act and changed
            # nothing: the same act goes again when it says play resumed.
            self.pending_act = None
            self.paused_turn = self.turn_id
            self.stats.paused += 1
            return
        elif code == "paused":
            self.stats.paused += 1          # a sit or a top-up: the server's documented answer
            return
        elif self.pending_act is not None and rid == self.pending_act[0]:
            late = self.pending_act[2]
            self._acted(code)
            if late:
                return                      # recorded as the late act's answer
            if code == "illegal" and (not self.turn_open or self.v != self.act_v):
                # Events came between the act and this answer: they closed our
                # turn (the others folded, the hand ended, the clock ran out) or
                # changed what it allows (the only other player with chips left:
                # no more betting; the server sends the new choices). The act
                # crossed them on the wire. A race, not a bad move.
                self.stats.overtaken += 1
                return
        if rid is not None and rid == self.sit_rid:
            self.sit_rid = None
            if code == "seat_taken" and self.state.seat is None and self.sit_tries < MAX_SIT_TRIES:
                # Another player took that seat first: look again and pick another.
                self.stats.seat_retries += 1
                self._send({"type": "watch", "table": self.table})
                return
        self.stats.error(code, msg.get("message", ""))

    def _resumed(self) -> None:
        """Play resumed after a pause: the act it refused goes again, if the turn is open."""
        turn, self.paused_turn = self.paused_turn, None
        if turn is not None and turn == self.turn_id and self.turn_open \
                and not self.stop_event.is_set():
            gevent.spawn(self._act_later, 0.0, turn, self.last_action, None)

    # -- acting ------------------------------------------------------------

    def _acted(self, answer: str = "accepted") -> None:
        """The answer to our act arrived: one round trip measured.

        A ``slow`` bot's deliberately late act is a probe: its answer is
        recorded against what the clock rules say, not as an error.
        """
        if self.pending_act is not None:
            rid, sent, late = self.pending_act
            self.stats.latency(time.perf_counter() - sent)
            if late:
                self.stats.probe(late, LATE_EXPECTED[late], answer)
            self.pending_act = None

    def _turn(self, turn: dict) -> None:
        # A turn is not versioned, but every new turn follows an event (to_act,
        # clock): one with no event since the last turn answered is that turn
        # sent again (after our watch). Not the deadline: two turns in a row for
        # one seat (last to act on a street, first on the next) can share it.
        key = (turn.get("hand"), self.v)
        if key == self.turn_key:
            return
        self.turn_key = key
        self.turn_id += 1
        self.turn_open = True
        action = self.strategy(turn, self.state)
        self.stats.decisions[self.strategy_name] += 1
        delay, late = self._delay(turn)
        if delay is None:
            return                          # a slow bot waiting for its time bank's turn
        if delay <= 0:
            self._act(action)
        else:
            gevent.spawn(self._act_later, delay, self.turn_id, action, late)

    def _delay(self, turn: dict) -> tuple[float | None, str | None]:
        """Think time, and for a ``slow`` bot which part of its clock it acts in.

        A slow bot acts late inside its clock half the time; otherwise it lets
        the clock pass, and when the time bank starts (the server sends the
        same turn again with the bank's deadline) it acts inside the bank, or
        after it, when the server has already timed it out. ``None``: do not
        act on this turn message.
        """
        if "slow" in self.chaos and turn.get("deadline_ms"):
            left = max(0.0, turn["deadline_ms"] / 1000 - time.time())
            same_turn = (turn.get("hand"), repr(turn.get("legal")))
            if self.slow_plan is not None and self.slow_plan[0] == same_turn:
                plan, self.slow_plan = self.slow_plan[1], None      # the time bank's turn
                if plan == "bank":
                    return left * self.rng.uniform(0.1, 0.5), "act_in_time_bank"
                return left + 0.3, "act_after_clock"
            bank = (turn.get("time_bank_ms") or 0) / 1000
            roll = self.rng.random()
            if roll < 0.5:
                return left * self.rng.uniform(0.6, 0.9), None      # late, inside the clock
            plan = "bank" if roll < 0.85 and bank >= 0.5 else "timeout"
            if bank <= 0:                                            # no bank left: no second turn
                return left + 0.3, "act_after_clock"
            self.slow_plan = (same_turn, plan)
            return None, None
        if self.think:
            return self.rng.uniform(0, 2 * self.think), None
        return 0.0, None

    def _act_later(self, delay: float, turn_id: int, action: dict, late: str | None) -> None:
        """Act after thinking, unless the turn is over (a late probe acts anyway, on purpose,
        but never into a newer turn)."""
        gevent.sleep(delay)
        if late == "act_after_clock":
            # After the clock is after the server timed us out: its event for our seat
            # closes the turn. A busy server's timer can fire later than our guess, and
            # an act sent before it would (rightly) be accepted: wait for it, bounded.
            deadline = time.monotonic() + LATE_WAIT
            while (self.turn_open and turn_id == self.turn_id and time.monotonic() < deadline
                   and not self.stop_event.is_set()):
                gevent.sleep(0.05)
            if self.turn_open:
                return                      # not timed out in time: no probe this turn
        if turn_id != self.turn_id or not (self.turn_open or late):
            return
        if self.connected and not self.stop_event.is_set():
            try:
                self._act(action, late)
            except (OSError, websocket.WebSocketException):
                pass

    def _act(self, action: dict, late: str | None = None) -> None:
        self.last_action = action
        self.act_v = self.v             # the table as the act was sent (see _error)
        msg = {"type": "act", "table": self.table, **action}
        rid = next(self.rids)
        msg["rid"] = rid
        self.pending_act = (rid, time.perf_counter(), late)
        send(self.ws, msg)

    # -- chaos ---------------------------------------------------------------

    def _dropper(self) -> None:
        """Now and then cut the TCP connection without a close frame.

        One drop in four stays away for 2-5 s, long enough on a busy table
        (or a short ``--history``) for the missed events to be gone: a resync.
        """
        while not self.stop_event.wait(self.rng.uniform(1.5, 4.0)):
            if self.connected:
                self.dropping = True
                self.offline = self.rng.uniform(2, 5) if self.rng.random() < 0.25 else 0.0
                self._cut()

    def _prober(self) -> None:
        """Send the bad inputs one at a time and record the answers."""
        probes = list(chaos_probes.PROBES)
        self.rng.shuffle(probes)
        for probe in itertools.cycle(probes):
            if self.stop_event.wait(self.rng.uniform(0.3, 0.8)):
                return
            if not self.connected or self.state.seat is None:
                continue
            chaos_probes.run_probe(self, probe)


def _seat_list(seats) -> list:
    """Seat numbers from a ``hand_started`` ``seats`` field (a list of seats or of objects)."""
    out = []
    for s in seats or ():
        if isinstance(s, int):
            out.append(s)
        elif isinstance(s, dict) and "seat" in s:
            out.append(s["seat"])
    return out


def _seat_value(values, seat):
    """``values[seat]`` of a per-seat list or dict (JSON keys are strings), or None."""
    if seat is None or values is None:
        return None
    if isinstance(values, list):
        return values[seat] if seat < len(values) else None
    if isinstance(values, dict):
        return values.get(str(seat), values.get(seat))
    return None
