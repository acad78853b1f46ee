"""Table events: what happened at a table, as small frozen values with one schema.

The rules return them (``apply(table, action) -> (table, events)``); the
server versions them and sends them to every viewer, redacted by
:func:`game.views.event_view`; the browser client, the bots, the lobby and
the PHH writer all read the same fields. Nobody changes an event once made.

Each class has a ``type`` (its name on the wire) and plain fields; a value
serialises to JSON as ``{"type": ..., <fields in order>}`` (orjson writes
these dataclasses natively; :func:`to_json` is the same in pure Python).
``docs/protocol.md`` lists every event with its fields.

>>> Acted(3, "raise", 40, 60, 140, False)
Acted(seat=3, action='raise', amount=40, to=60, stack=140, all_in=False)
>>> to_json(Acted(3, "raise", 40, 60, 140, False))
{'type': 'action', 'seat': 3, 'action': 'raise', 'amount': 40, 'to': 60, 'stack': 140, 'all_in': False}
>>> from_json(to_json(Acted(3, "raise", 40, 60, 140, False))) == Acted(3, "raise", 40, 60, 140, False)
True

The server's own events (the turn clock, chat, presence) are here too, so
that every event on a table's versioned stream has its schema in one place;
the rules never make those.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

from game.cards import Card
from game.pots import Pot


def _type(name: str):
    """The ``type`` field: the event's name on the wire, first in its JSON."""
    return field(default=name, init=False, repr=False)


# -- seats --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seated:
    """A player sat down with ``stack`` chips (they wait for the big blind)."""

    type: str = _type("seated")
    seat: int
    player: str
    name: str
    stack: int


@dataclass(frozen=True, slots=True)
class Left:
    """A player left, taking ``stack`` chips (their stack behind).

    Mid-hand the seat stays in the hand until it ends: a hand with decisions
    left is folded when the turn reaches it (an :class:`Acted` fold; at
    showdown a :class:`Mucked`, or :class:`Shown` when it must be), and an
    all-in or shown hand plays on. If that hand wins a pot or gets a bet back,
    a second ``Left`` for the same seat and player comes before
    :class:`HandEnded` with those chips: they go to the player, who is no
    longer at the table (the server credits them like any ``left``).
    """

    type: str = _type("left")
    seat: int
    player: str
    stack: int


@dataclass(frozen=True, slots=True)
class SatOut:
    type: str = _type("sat_out")
    seat: int


@dataclass(frozen=True, slots=True)
class SatIn:
    """Back in (or a planned sit-out called off); ``post``: back posting what was
    missed, so dealt in at the next hand rather than waiting for the big blind."""

    type: str = _type("sat_in")
    seat: int
    post: bool = False


@dataclass(frozen=True, slots=True)
class SitOutNext:
    """The seat will sit out ``when`` its hand is over (``"hand"``) or when the big blind
    would reach it (``"big_blind"``); a ``sat_out`` follows then."""

    type: str = _type("sit_out_next")
    seat: int
    when: str


@dataclass(frozen=True, slots=True)
class RunTwiceSet:
    """The seat agrees (or no longer agrees) to run the board twice when all in."""

    type: str = _type("run_twice")
    seat: int
    agree: bool


@dataclass(frozen=True, slots=True)
class ToppedUp:
    """``amount`` chips added to a stack between hands; ``stack`` is the new stack."""

    type: str = _type("top_up")
    seat: int
    amount: int
    stack: int


# -- a hand -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandStarted:
    """A new hand: who is dealt in (``seats``) and their stacks before the forced bets.

    ``small_blind`` is ``None`` when the small blind is dead.
    """

    type: str = _type("hand_started")
    hand: int
    button: int
    small_blind: int | None
    big_blind: int
    seats: tuple[int, ...]
    stacks: dict[str, int]          # str(seat) -> chips (JSON keys are strings)


@dataclass(frozen=True, slots=True)
class HoleCards:
    """Two cards dealt to ``player`` at ``seat``. Private: every other viewer gets
    ``player`` and ``cards`` as ``None`` (:func:`game.views.event_view`)."""

    type: str = _type("hole_cards")
    seat: int
    player: str | None
    cards: tuple[Card, ...] | None


@dataclass(frozen=True, slots=True)
class Blind:
    """A forced bet. ``kind``: ``"ante"`` (each player's, or the big blind's one ante for
    the table), ``"small"``, ``"big"``, ``"straddle"`` (under the gun, before the cards),
    ``"post"`` (a big blind posted out of position by a player back from missing it)
    or ``"dead"`` (the small blind that player missed: dead money in the pot)."""

    type: str = _type("blind")
    seat: int
    kind: str
    amount: int
    all_in: bool


@dataclass(frozen=True, slots=True)
class ToAct:
    """Whose turn it is (to bet, or to show or muck at showdown)."""

    type: str = _type("to_act")
    seat: int


@dataclass(frozen=True, slots=True)
class Acted:
    """A betting action: ``fold``, ``check``, ``call``, ``bet`` or ``raise``.

    ``amount`` is the chips it added, ``to`` the seat's bet in front after it,
    ``stack`` what is left behind.
    """

    type: str = _type("action")
    seat: int
    action: str
    amount: int
    to: int
    stack: int
    all_in: bool


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The seat's clock ran out: an :class:`Acted` check or fold follows (at showdown,
    a :class:`Shown` or :class:`Mucked`)."""

    type: str = _type("timeout")
    seat: int


@dataclass(frozen=True, slots=True)
class Uncalled:
    """The part of a bet nobody matched went back to its owner."""

    type: str = _type("uncalled")
    seat: int
    amount: int


@dataclass(frozen=True, slots=True)
class Pots:
    """The pots after a betting round (this round's bets collected)."""

    type: str = _type("pots")
    pots: tuple[Pot, ...]


@dataclass(frozen=True, slots=True)
class Street:
    """The flop, turn or river: the new ``cards`` and the whole ``board``."""

    type: str = _type("street")
    street: str
    cards: tuple[Card, ...]
    board: tuple[Card, ...]


@dataclass(frozen=True, slots=True)
class SecondBoard:
    """Run twice: the second board's flop, turn or river (after the first board's), the
    new ``cards`` and the whole second ``board`` (the cards both boards share included)."""

    type: str = _type("second_board")
    street: str
    cards: tuple[Card, ...]
    board: tuple[Card, ...]


@dataclass(frozen=True, slots=True)
class Shown:
    """Cards shown at showdown, and the hand they make (``"Two Pair, Kings and Fives"``)."""

    type: str = _type("show")
    seat: int
    cards: tuple[Card, ...]
    hand: str


@dataclass(frozen=True, slots=True)
class Mucked:
    """A hand thrown away unseen at showdown."""

    type: str = _type("muck")
    seat: int


@dataclass(frozen=True, slots=True)
class Winner:
    seat: int
    amount: int


@dataclass(frozen=True, slots=True)
class Award:
    """Pot number ``pot`` (0: the main pot) paid to its winners; ``hand`` names the
    winning hand, ``None`` when nobody had to show. When the board was run twice each
    pot is paid in two awards, half on each ``board`` (0: the first, 1: the second; the
    odd chip on the first)."""

    type: str = _type("award")
    pot: int
    amount: int
    winners: tuple[Winner, ...]
    hand: str | None
    board: int = 0


@dataclass(frozen=True, slots=True)
class HandEnded:
    """The hand is over: every seat's stack after it."""

    type: str = _type("hand_ended")
    hand: int
    stacks: dict[str, int]


# -- the server's own ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    """The turn clock: ``deadline_ms`` (server time, epoch ms), and the time bank left
    after it (0 once the bank is running: the deadline is then the bank's end)."""

    type: str = _type("clock")
    seat: int
    deadline_ms: int
    time_bank_ms: int


@dataclass(frozen=True, slots=True)
class TimeBank:
    """What is left of a seat's time bank, when it changed (spent, refilled, on sitting
    down)."""

    type: str = _type("time_bank")
    seat: int
    time_bank_ms: int


@dataclass(frozen=True, slots=True)
class Chat:
    type: str = _type("chat")
    player: str
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Presence:
    """A seated player's connections dropped to zero, or came back."""

    type: str = _type("presence")
    seat: int
    connected: bool


Event = (Seated | Left | SatOut | SatIn | SitOutNext | ToppedUp | RunTwiceSet | HandStarted | HoleCards
         | Blind | ToAct | Acted | TimedOut | Uncalled | Pots | Street | SecondBoard | Shown
         | Mucked | Award | HandEnded | Clock | TimeBank | Chat | Presence)

EVENT_TYPES: dict[str, type] = {
    cls.__dataclass_fields__["type"].default: cls for cls in (
        Seated, Left, SatOut, SatIn, SitOutNext, ToppedUp, RunTwiceSet, HandStarted,
        HoleCards, Blind,
        ToAct, Acted, TimedOut, Uncalled, Pots, Street, SecondBoard, Shown, Mucked, Award,
        HandEnded, Clock, TimeBank, Chat, Presence)}

# Fields holding other values: read back by from_json.
_NESTED = {(Pots, "pots"): Pot, (Award, "winners"): Winner}


def to_json(value):
    """An event (or any value inside one) as plain JSON data, as the wire carries it."""
    kind = type(value)
    if kind is tuple or kind is list:
        return [to_json(v) for v in value]
    if kind is dict:
        return {k: to_json(v) for k, v in value.items()}
    slots = getattr(kind, "__slots__", None)
    if slots is None:
        return value
    return {f.name: to_json(getattr(value, f.name)) for f in fields(kind)}


def from_json(data: dict) -> Event:
    """The inverse of :func:`to_json` for an event; raises ``ValueError`` on unknown data.

    A field with a default may be missing (an event stored before it existed):

    >>> from_json({"type": "award", "pot": 0, "amount": 4, "winners": [], "hand": None})
    Award(pot=0, amount=4, winners=(), hand=None, board=0)
    """
    try:
        cls = EVENT_TYPES[data["type"]]
    except (KeyError, TypeError):
        raise ValueError(f"not an event: {data!r}") from None
    args = {}
    for f in fields(cls):
        if not f.init or (f.name not in data and f.default is not MISSING):
            continue
        v = data[f.name]
        nested = _NESTED.get((cls, f.name))
        if nested is not None:
            v = tuple(nested(**x) for x in v)
        elif type(v) is list:
            v = tuple(v)
        args[f.name] = v
    return cls(**args)
