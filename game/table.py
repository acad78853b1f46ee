"""The table: state values, actions, ``apply`` and ``legal_actions``.

No-Limit Hold'em, and through ``Table.game`` (:mod:`game.variants`) Pot-Limit
Omaha and Fixed-Limit Hold'em: the same engine asks that module how many hole
cards to deal, how a hand ranks at the showdown and how big a bet may be.

Everything here is pure: ``apply(table, action)`` returns a new table and a
list of events and never touches I/O, a clock or randomness. The shuffled
deck arrives in :class:`StartHand`; a running-out clock arrives as
:class:`Timeout`. An illegal action raises :class:`IllegalAction` with a
reason a player can read, and the table passed in is unchanged (it is
immutable).

Button and blinds follow the **dead button** rule: the big blind moves to
the next player in line every hand, the small blind goes to the seat that
had the big blind (dead if that player is gone), and the button to the seat
that had the small blind (possibly an empty seat). So nobody posts the big
blind twice in a row and nobody skips it. Heads-up the button posts the
small blind. A player who sits down (or comes back from sitting out, or tops
up after busting) waits until the big blind reaches them, unless fewer than
two players are ready, in which case everyone is dealt in at once and the
big blind still moves on to the next player. A player who sat out while the
big blind passed them has *missed* it: coming back they wait for the big
blind, or post (``SitIn(seat, post=True)``) a live big blind and a dead small
blind to be dealt in at once.

Per-table options (fields of :class:`Table`, set by :func:`new_table`): an
ante for everyone or one big-blind ante (``ante_kind``), an under-the-gun
straddle, run it twice, and the buy-in limits that bound a top-up from zero.

A player who leaves mid-hand takes their stack behind at once. A hand with
nothing left to decide (all in, or already shown) stays live and is paid at
the end (a second :class:`~game.events.Left`); any other hand is folded when
the turn reaches it (at showdown: mucked, or shown when it must be), so the
betting order never changes because somebody left.

A short example, heads-up with blinds 1/2:

>>> from game.cards import DECK
>>> t = new_table(2, small_blind=1, big_blind=2)
>>> t, _ = apply(t, SitDown(0, "ann", 100))
>>> t, _ = apply(t, SitDown(1, "bob", 100))
>>> t, events = apply(t, StartHand(DECK))
>>> t.hand.button, t.hand.to_act
(0, 0)
>>> legal_actions(t)
Legal(seat=0, actions=('fold', 'call', 'raise', 'all_in'), call=1, min_to=4, max_to=100)
>>> t, _ = apply(t, Check(0))
Traceback (most recent call last):
...
game.table.IllegalAction: cannot check facing a bet of 2
>>> t, _ = apply(t, Call(0))
>>> t, _ = apply(t, Check(1))
>>> t.hand.street, t.hand.board
('flop', ('3c', '3d', '3h'))
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from operator import attrgetter

from game.cards import Card, is_deck
from game.evaluator import describe
from game.events import (Acted, Award, Blind, Event, HandEnded, HandStarted, HoleCards, Left,
                         Mucked, Pots, RunTwiceSet, SatIn, SatOut, SecondBoard, Seated, Shown,
                         SitOutNext,
                         Street, TimedOut, ToAct, ToppedUp, Uncalled, Winner)
from game.pots import Pot, clockwise_from, side_pots, split_pot
from game.variants import (LIMIT, RAISES_CAP, check_game, deck_fits, fixed_bet, hole_cards,
                           pot_limit_to, strength)

def replace(value, **changes):
    """``dataclasses.replace`` for this module's frozen value types.

    The rules copy a seat, the hand or the table about eight times per action,
    which makes this their hottest function. The library's version checks
    every field's ``init`` flag and goes through the frozen ``__init__`` (one
    ``object.__setattr__`` per field); this one builds the new instance's
    ``__dict__`` from the old one's with the few fields asked for changed (in
    C). The state types (:class:`Seat`, :class:`Hand`, :class:`Table`) keep
    their fields in a ``__dict__`` rather than slots for this: four times as
    fast as setting every slot. These types have no ``__post_init__``, so
    nothing is skipped.

    >>> s = Seat(player="p1", stack=100)
    >>> replace(s, stack=90) == Seat(player="p1", stack=90)
    True
    >>> replace(s, chips=1)
    Traceback (most recent call last):
    ...
    KeyError: 'chips'
    """
    cls = value.__class__
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
    if not names.issuperset(changes):
        raise KeyError(next(iter(set(changes) - names)))
    new = _new(cls)
    # A new dict, not ``__dict__.copy()``: Python reads the attributes of an object
    # whose __dict__ is a copy of another's (or was read from it) three times as
    # slowly as those of one whose __dict__ was built afresh (CPython 3.11).
    _set_dict(new, "__dict__", {**value.__dict__, **changes})
    return new


_new = object.__new__
_set_dict = object.__setattr__
_FIELDS: dict = {}

STREETS = ("preflop", "flop", "turn", "river")
BOARD_SIZE = {"flop": 3, "turn": 1, "river": 1}
MIN_SEATS, MAX_SEATS = 2, 10
# How antes are posted: "each" player antes, counted with what they put in
# (a short ante is all in for what it covers: the standard rule); "big_blind"
# posts one ante for the table, dead money in the main pot; "each_dead" is
# everyone anteing dead money into the main pot, which is what a PHH file
# with ante_trimming_status = false (pokerkit's default) means: only replays
# of such files use it.
ANTE_KINDS = ("each", "big_blind", "each_dead")


class IllegalAction(ValueError):
    """An action the rules do not allow now; the message says why."""


# ---------------------------------------------------------------------------
# State values


@dataclass(frozen=True)
class Seat:
    """A player in a seat: chips behind, and their part in the current hand."""

    player: str
    stack: int
    sitting_out: bool = False
    waiting: bool = True   # waits for the big blind before being dealt in
    leaving: bool = False  # stood up mid-hand (stack gone with them), removed when it ends
    folding: bool = False  # left with decisions to make: folded (mucked) when the turn comes
    missed: bool = False   # sat out while the big blind passed: owes a big and a dead small blind
    posting: bool = False  # came back posting what they missed: dealt in at the next hand
    run_twice: bool = False  # agrees to run the board twice when all in
    sit_out_after: str | None = None  # "hand": sits out when this hand ends; "big_blind":
                                      # sits out instead of posting the next big blind
    # The current (or last finished) hand:
    in_hand: bool = False  # dealt in
    folded: bool = False
    cards: tuple[Card, ...] = ()
    bet: int = 0           # chips in front on this street
    total: int = 0         # chips put in this hand, antes and this street included
    dead: int = 0          # the part of total that is dead money (main pot only)
    acted: bool = False    # acted voluntarily on this street
    shown: bool = False
    mucked: bool = False

    @property
    def live(self) -> bool:
        """Dealt in and not folded."""
        return self.in_hand and not self.folded

    @property
    def all_in(self) -> bool:
        return self.in_hand and not self.folded and self.stack == 0 and not self.folding

    @property
    def can_act(self) -> bool:
        """Still in the betting: chips behind, or gone with them and to fold on their turn."""
        return self.in_hand and not self.folded and (self.stack > 0 or self.folding)


@dataclass(frozen=True)
class Hand:
    """The state of the hand being played (or the last one, once complete)."""

    number: int
    button: int
    small_blind_seat: int | None  # None: a dead small blind
    big_blind_seat: int
    deck: tuple[Card, ...]        # undealt cards, top first
    board: tuple[Card, ...] = ()
    street: str = "preflop"       # preflop, flop, turn, river, showdown, complete
    to_act: int | None = None
    current_bet: int = 0          # the bet to match on this street
    min_raise: int = 0            # size of the largest full bet or raise this street
    last_aggressor: int | None = None  # last seat to bet or raise this street
    showdown_order: tuple[int, ...] = ()  # seats still to show or muck
    straddle_seat: int | None = None  # who straddled this hand, if anyone did
    second_board: tuple[Card, ...] = ()  # run twice: the whole second board
    raises: int = 0               # full bets and raises this street (fixed limit's cap;
                                  # preflop the blind is not counted)

    @property
    def running(self) -> bool:
        return self.street != "complete"


@dataclass(frozen=True)
class Table:
    """A table: seats, stakes, where the blinds were, and the current hand."""

    seats: tuple[Seat | None, ...]
    small_blind: int
    big_blind: int
    ante: int = 0
    ante_kind: str = "each"             # see ANTE_KINDS
    straddle: int = 0                   # under the gun posts this much (0: no straddle)
    run_it_twice: bool = False          # all-in players who all agree get two boards
    min_buy_in: int = 0                 # a top-up from zero needs at least this (0: no limit)
    max_buy_in: int = 0                 # no stack above this by buying in (0: no limit)
    game: str = "NT"                    # a game of game.variants.GAMES (PHH variant code)
    button: int | None = None           # positions used by the last hand
    small_blind_pos: int | None = None
    big_blind_pos: int | None = None
    hand_number: int = 0
    hand: Hand | None = None

    @property
    def hand_running(self) -> bool:
        return self.hand is not None and self.hand.running

    def chips(self) -> int:
        """All chips at the table: stacks plus what is in the pot."""
        return sum(s.stack + (s.total if self.hand_running else 0) for s in self.seats if s)


def new_table(seats: int, small_blind: int, big_blind: int, ante: int = 0, *,
              ante_kind: str = "each", straddle: int = 0, run_it_twice: bool = False,
              min_buy_in: int = 0, max_buy_in: int = 0, game: str = "NT") -> Table:
    """An empty table; raises ``ValueError`` for impossible stakes or sizes.

    ``ante_kind="big_blind"`` makes ``ante`` one big-blind ante for the whole
    table; ``straddle`` is what under the gun posts (more than the big blind;
    usually twice it); ``run_it_twice`` lets all-in players who all agree
    (:class:`RunTwice`) see two boards; ``min_buy_in``/``max_buy_in`` bound a
    buy-in and a top-up (0: no bound); ``game`` is what the table plays, a PHH
    variant code of :data:`game.variants.GAMES` (``"PO"`` Pot-Limit Omaha, ``"FT"``
    Fixed-Limit Hold'em; the default ``"NT"`` No-Limit Hold'em).

    >>> new_table(6, 1, 2).seats
    (None, None, None, None, None, None)
    >>> new_table(6, 1, 2, straddle=3)
    Traceback (most recent call last):
    ...
    ValueError: a straddle must be 0 or at least twice the big blind (4), not 3
    """
    if not MIN_SEATS <= seats <= MAX_SEATS:
        raise ValueError(f"a table has {MIN_SEATS} to {MAX_SEATS} seats, not {seats}")
    if not 0 < small_blind <= big_blind:
        raise ValueError("blinds must satisfy 0 < small blind <= big blind")
    if ante < 0:
        raise ValueError("the ante cannot be negative")
    if ante_kind not in ANTE_KINDS:
        raise ValueError(f"ante_kind is one of {', '.join(ANTE_KINDS)}, not {ante_kind!r}")
    if straddle and straddle < 2 * big_blind:
        raise ValueError(f"a straddle must be 0 or at least twice the big blind "
                         f"({2 * big_blind}), not {straddle}")
    if min_buy_in < 0 or max_buy_in < 0 or (max_buy_in and min_buy_in > max_buy_in):
        raise ValueError("buy-in limits must satisfy 0 <= min_buy_in <= max_buy_in (0: none)")
    check_game(game)
    if straddle and LIMIT[game] == "fixed":
        raise ValueError("a fixed-limit table has no straddle")
    if not deck_fits(game, seats, 2 if run_it_twice else 1):
        raise ValueError(f"one deck cannot deal {game} to {seats} seats"
                         + (" and run it twice" if run_it_twice else ""))
    return Table(seats=(None,) * seats, small_blind=small_blind, big_blind=big_blind, ante=ante,
                 ante_kind=ante_kind, straddle=straddle, run_it_twice=bool(run_it_twice),
                 min_buy_in=min_buy_in, max_buy_in=max_buy_in, game=game)


# ---------------------------------------------------------------------------
# Actions


@dataclass(frozen=True, slots=True)
class SitDown:
    """Take ``seat`` with ``stack`` chips; ``name`` is only shown (in the ``seated`` event)."""

    seat: int
    player: str
    stack: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class StandUp:
    """Leave the table; mid-hand this folds, and the chips in the pot stay there."""

    seat: int


@dataclass(frozen=True, slots=True)
class SitOut:
    """Stop being dealt in. ``when``: ``"now"`` (a hand being played is timed out at
    each turn: the server's rule for a player whose clock ran out twice), ``"hand"``
    (a hand being played goes on; the seat sits out when it ends; at once between
    hands), or ``"big_blind"`` (play on until the big blind would reach the seat, and
    sit out instead of posting it)."""

    seat: int
    when: str = "now"


@dataclass(frozen=True, slots=True)
class SitIn:
    """Come back from sitting out. A player who missed the big blind waits for it, or
    with ``post=True`` posts a live big blind and a dead small blind and is dealt in at
    the next hand (not on the button or in the small blind: there they wait one more).
    One who was still waiting for a first big blind posts a big blind alone."""

    seat: int
    post: bool = False


@dataclass(frozen=True, slots=True)
class TopUp:
    """Add chips to a stack between hands."""

    seat: int
    amount: int


@dataclass(frozen=True, slots=True)
class RunTwice:
    """Agree (or no longer agree) to run the board twice when all in, at a table that
    allows it: the board is run twice only if every player still in agrees."""

    seat: int
    agree: bool = True


@dataclass(frozen=True, slots=True)
class StartHand:
    """Start the next hand with this shuffled deck (52 cards, top first)."""

    deck: tuple[Card, ...]


@dataclass(frozen=True, slots=True)
class Fold:
    seat: int


@dataclass(frozen=True, slots=True)
class Check:
    seat: int


@dataclass(frozen=True, slots=True)
class Call:
    seat: int


@dataclass(frozen=True, slots=True)
class Bet:
    """Open the betting on a street, *to* ``amount`` chips in front."""

    seat: int
    amount: int


@dataclass(frozen=True, slots=True)
class Raise:
    """Raise *to* ``amount`` chips in front (the total, not the increment)."""

    seat: int
    amount: int


@dataclass(frozen=True, slots=True)
class AllIn:
    seat: int


@dataclass(frozen=True, slots=True)
class Timeout:
    """The clock ran out: check if possible, else fold (at showdown: the default show/muck)."""

    seat: int


@dataclass(frozen=True, slots=True)
class Show:
    seat: int


@dataclass(frozen=True, slots=True)
class Muck:
    seat: int


Action = (SitDown | StandUp | SitOut | SitIn | TopUp | RunTwice | StartHand | Fold | Check
          | Call | Bet | Raise | AllIn | Timeout | Show | Muck)

ACTION_TYPES: dict[str, type] = {
    "sit_down": SitDown, "stand_up": StandUp, "sit_out": SitOut, "sit_in": SitIn,
    "top_up": TopUp, "start_hand": StartHand, "fold": Fold, "check": Check, "call": Call,
    "bet": Bet, "raise": Raise, "all_in": AllIn, "timeout": Timeout, "show": Show,
    "muck": Muck, "run_twice": RunTwice,
}
ACTION_NAMES: dict[type, str] = {cls: name for name, cls in ACTION_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Legal:
    """What the seat to act may do now.

    ``call`` is the chips a call adds; ``min_to``/``max_to`` bound a bet or
    raise *to* (0 when betting or raising is not allowed): up to the whole
    stack in no limit, the pot after calling in pot limit, and the one size
    allowed in fixed limit (``min_to == max_to``). ``all_in`` is offered only
    when the whole stack is within ``max_to`` (or a call puts it all in).
    """

    seat: int
    actions: tuple[str, ...]
    call: int = 0
    min_to: int = 0
    max_to: int = 0

    def to_json(self) -> dict:
        return {"seat": self.seat, "actions": list(self.actions), "call": self.call,
                "min_to": self.min_to, "max_to": self.max_to}


# ---------------------------------------------------------------------------
# Queries


def legal_actions(table: Table) -> Legal | None:
    """Who is to act and what they may do; ``None`` when nobody is to act."""
    hand = table.hand
    if hand is None or hand.to_act is None:
        return None
    seat = table.seats[hand.to_act]
    if hand.street == "showdown":
        actions = ("show", "muck") if _may_muck(table.seats, hand.to_act) else ("show",)
        return Legal(hand.to_act, actions)
    to_call = min(hand.current_bet - seat.bet, seat.stack)
    actions = ["fold"]
    actions.append("call" if to_call > 0 else "check")
    min_to = max_to = 0
    if _may_raise(table, hand.to_act):
        min_to, max_to = _raise_range(table, seat)
        if max_to >= hand.current_bet + hand.min_raise:
            actions.append("raise" if hand.current_bet else "bet")
        if seat.stack + seat.bet <= max_to:  # over the pot or fixed limit: no all-in
            actions.append("all_in")
    elif seat.stack <= hand.current_bet - seat.bet:
        actions.append("all_in")  # calling puts them all in
    return Legal(hand.to_act, tuple(actions), to_call, min_to, max_to)


def _may_raise(table: Table, index: int) -> bool:
    seats, hand = table.seats, table.hand
    seat = seats[index]
    if seat.stack <= hand.current_bet - seat.bet:
        return False  # they can only call (all in) or fold
    if not _answerable(seats, hand, index):
        return False  # nobody could put in a chip more than a call: call or fold
    if _capped(table):
        return False
    # An incomplete all-in raise does not reopen the betting: a player who
    # already acted may raise again only when facing at least a full raise
    # (in fixed limit, at least half a bet: less does not reopen).
    facing = hand.current_bet - seat.bet
    if LIMIT[table.game] == "fixed":
        return not seat.acted or 2 * facing >= fixed_bet(table.big_blind, hand.street)
    return not seat.acted or facing >= hand.min_raise


def _capped(table: Table) -> bool:
    """Fixed limit: a bet and three raises were made this street (heads-up too;
    preflop the big blind is the bet)."""
    hand = table.hand
    return LIMIT[table.game] == "fixed" and (
        hand.raises + (hand.street == "preflop") > RAISES_CAP)


def _raise_range(table: Table, seat: Seat) -> tuple[int, int]:
    """The least and the most ``seat`` may bet or raise *to* (all in for less may
    be below the least; in pot and fixed limit an all-in above the most is refused).

    No limit: a full raise up to the whole stack. Pot limit: up to the pot after
    calling. Fixed limit: exactly one bet more than the last full bet.
    """
    hand = table.hand
    everything = seat.stack + seat.bet
    least = hand.current_bet + hand.min_raise
    limit = LIMIT[table.game]
    if limit == "pot":
        pot = sum(s.total for s in table.seats if s and s.in_hand)
        most = min(everything, pot_limit_to(hand.current_bet, hand.current_bet - seat.bet, pot))
    elif limit == "fixed":
        most = min(everything, least)
    else:
        most = everything
    return min(least, most), most


def _answerable(seats, hand: Hand, index: int) -> bool:
    """Could another player still in call any part of a raise (hold more than the bet)?

    Everyone else may be all in, or the only one left with chips may hold no
    more than the current bet: a raise would come straight back as uncalled.
    (A player who left holds nothing: their hand folds when the turn comes.)
    """
    return any(i != index and s is not None and s.live and s.stack + s.bet > hand.current_bet
               for i, s in enumerate(seats))


def _may_muck(seats, index: int) -> bool:
    """All-in hands are always shown, and every pot must keep a contender."""
    if seats[index].all_in:
        return False
    for pot in _pots(seats):
        if index in pot.eligible and not any(
                i != index and not seats[i].mucked for i in pot.eligible):
            return False
    return True


def _pots(seats) -> list[Pot]:
    return side_pots({i: s.total - s.dead for i, s in enumerate(seats) if s and s.in_hand},
                     {i for i, s in enumerate(seats) if s and s.live},
                     sum(s.dead for s in seats if s and s.in_hand))


def dealable(table: Table) -> list[int]:
    """The seats that could be dealt into the next hand: chips, not sitting out, not leaving.

    (Whether one of them must wait for the big blind is :func:`apply`'s call.)

    >>> t = new_table(3, 1, 2)
    >>> t, _ = apply(t, SitDown(0, "ann", 100))
    >>> t, _ = apply(t, SitDown(2, "bob", 100))
    >>> dealable(t), can_start_hand(t)
    ([0, 2], True)
    """
    return [i for i, s in enumerate(table.seats)
            if s is not None and s.stack > 0 and not s.sitting_out and not s.leaving]


def can_start_hand(table: Table) -> bool:
    """No hand is running and at least two players could be dealt in."""
    return not table.hand_running and len(dealable(table)) >= 2


def automatic_action(table: Table) -> Action | None:
    """The action the rules take by themselves now, if any (apply it, then ask again):

    - at showdown, the seat to show or muck does the default at once (a hand that
      wins or ties some pot is shown, any other mucked: :class:`Timeout`);
    - a player sitting out who is to act is timed out (checked, else folded);
    - once the hand is over, a player left with no chips sits out (they may top up
      and sit in again).

    The server applies these as it applies a player's action; a clock running
    out is the server's to decide (:class:`Timeout`), not the rules'.
    """
    hand = table.hand
    if table.hand_running:
        if hand.to_act is not None and (hand.street == "showdown"
                                        or table.seats[hand.to_act].sitting_out):
            return Timeout(hand.to_act)
        return None
    for i, s in enumerate(table.seats):
        if s is not None and s.stack == 0 and not s.sitting_out and not s.leaving:
            return SitOut(i)
    return None


def after_timeouts(table: Table, seat: int, player: str, expiries: int,
                   limit: int | None) -> Action | None:
    """What follows a clock that ran out on ``player`` at ``seat`` for the ``expiries``-th
    time in a row (once its :class:`Timeout` is applied): after ``limit`` of them the player
    is sat out (:class:`SitOut`), so the table stops waiting for them. ``limit`` None never
    sits anyone out: a tournament's absent players post and fold instead
    (:func:`game.tournament.absent_action`). None when nothing follows.

    >>> t = replace(new_table(2, 1, 2), seats=(Seat("ann", 40), Seat("bob", 40)))
    >>> after_timeouts(t, 0, "ann", 2, 2), after_timeouts(t, 0, "ann", 1, 2)
    (SitOut(seat=0, when='now'), None)
    >>> after_timeouts(t, 0, "bob", 2, 2), after_timeouts(t, 0, "ann", 5, None)
    (None, None)
    """
    s = table.seats[seat]
    if (limit is None or expiries < limit or s is None or s.player != player
            or s.sitting_out or s.leaving):
        return None
    return SitOut(seat)


def pots(table: Table) -> list[Pot]:
    """The main pot and side pots as they stand (bets on this street included)."""
    if not table.hand_running:
        return []
    return _pots(table.seats)


# ---------------------------------------------------------------------------
# apply


def apply(table: Table, action: Action) -> tuple[Table, list[Event]]:
    """Apply one action; return the new table and the events it produced.

    Raises :class:`IllegalAction` (and changes nothing) when the action is
    not allowed now.
    """
    handler = _HANDLERS.get(type(action))
    if handler is None:
        raise IllegalAction(f"not an action: {action!r}")
    events: list[Event] = []
    return handler(table, action, events), events


def _seat_index(table: Table, index) -> int:
    if type(index) is not int or not 0 <= index < len(table.seats):
        raise IllegalAction(f"no seat {index!r} at this table")
    return index


def _occupied(table: Table, index) -> Seat:
    seat = table.seats[_seat_index(table, index)]
    if seat is None or seat.leaving:
        raise IllegalAction(f"seat {index} is empty")
    return seat


def _with_seat(table: Table, index: int, seat: Seat | None) -> Table:
    seats = list(table.seats)
    seats[index] = seat
    return replace(table, seats=tuple(seats))


def _positive(amount, what: str) -> int:
    if type(amount) is not int or amount <= 0:
        raise IllegalAction(f"{what} must be a positive whole number of chips, not {amount!r}")
    return amount


def _sit_down(table: Table, a: SitDown, events: list[Event]) -> Table:
    index = _seat_index(table, a.seat)
    if table.seats[index] is not None:
        raise IllegalAction(f"seat {index} is taken")
    if not isinstance(a.player, str) or not a.player:
        raise IllegalAction("a player needs a name")
    if any(s and s.player == a.player for s in table.seats):
        raise IllegalAction(f"{a.player} is already seated at this table")
    _positive(a.stack, "a buy-in")
    if a.stack < table.min_buy_in or (table.max_buy_in and a.stack > table.max_buy_in):
        raise IllegalAction(f"the buy-in at this table is {table.min_buy_in} to "
                            f"{table.max_buy_in or 'any amount'}, not {a.stack}")
    events.append(Seated(index, a.player, a.name or a.player, a.stack))
    return _with_seat(table, index, Seat(player=a.player, stack=a.stack))


def _stand_up(table: Table, a: StandUp, events: list[Event]) -> Table:
    seat = _occupied(table, a.seat)
    index = a.seat
    if not (table.hand_running and seat.in_hand):
        events.append(Left(index, seat.player, seat.stack))
        return _with_seat(table, index, None)
    # Mid-hand the stack behind goes with the player now; what they put in
    # stays in the pot and the seat empties when the hand ends. A hand with
    # something left to decide is folded (mucked) when the turn reaches it,
    # as a dealer would kill it, so the order of play never changes; an
    # all-in or shown hand plays on and what it wins follows the player.
    hand = table.hand
    decides = seat.live and not seat.all_in and not seat.mucked and not (
        hand.street == "showdown" and seat.shown)
    table = _with_seat(table, index, replace(seat, leaving=True, stack=0, folding=decides))
    events.append(Left(index, seat.player, seat.stack))
    if decides and hand.to_act == index:
        if hand.street == "showdown":
            return _showdown_next(table, events)
        return _continue(table, index, events, inclusive=True)
    return table


SIT_OUT_WHEN = ("now", "hand", "big_blind")


def _sit_out(table: Table, a: SitOut, events: list[Event]) -> Table:
    seat = _occupied(table, a.seat)
    if seat.sitting_out:
        raise IllegalAction("you are already sitting out")
    if a.when not in SIT_OUT_WHEN:
        raise IllegalAction(f"sit out when: one of {', '.join(SIT_OUT_WHEN)}, not {a.when!r}")
    playing = table.hand_running and seat.in_hand
    if a.when == "now" or (a.when == "hand" and not playing):
        events.append(SatOut(a.seat))
        return _with_seat(table, a.seat, replace(seat, sitting_out=True, posting=False,
                                                 sit_out_after=None))
    events.append(SitOutNext(a.seat, a.when))
    table = _with_seat(table, a.seat, replace(seat, sit_out_after=a.when))
    return table if table.hand_running else _sit_out_before_big_blind(table, events)


def _sit_out_before_big_blind(table: Table, events: list[Event]) -> Table:
    """Between hands: a seat that asked to sit out rather than post the big blind, and
    that the next big blind would reach, sits out now (the next one is looked for
    again, as many times as it takes)."""
    for _ in range(len(table.seats)):
        try:
            big = _positions(table)[3]
        except IllegalAction:       # too few players for a hand: nothing to post yet
            return table
        seat = table.seats[big]
        if seat.sit_out_after != "big_blind":
            return table
        events.append(SatOut(big))
        table = _with_seat(table, big, replace(seat, sitting_out=True, posting=False,
                                               sit_out_after=None))
    return table


def _sit_in(table: Table, a: SitIn, events: list[Event]) -> Table:
    seat = _occupied(table, a.seat)
    if not seat.sitting_out and seat.sit_out_after is not None:
        events.append(SatIn(a.seat))            # the planned sit-out is called off
        return _with_seat(table, a.seat, replace(seat, sit_out_after=None))
    if not seat.sitting_out:
        raise IllegalAction("you are not sitting out")
    if type(a.post) is not bool:
        raise IllegalAction(f"post is true or false, not {a.post!r}")
    events.append(SatIn(a.seat, a.post))
    if a.post:
        # Back at once: a player who missed the big blind posts it (live)
        # and a dead small blind at the next hand they are dealt into; one
        # who was still waiting for their first big blind posts a big blind.
        return _with_seat(table, a.seat, replace(seat, sitting_out=False, waiting=False,
                                                 posting=seat.missed or seat.waiting))
    # Coming back in: wait for the big blind like a new player.
    return _with_seat(table, a.seat, replace(seat, sitting_out=False, waiting=True))


def _top_up(table: Table, a: TopUp, events: list[Event]) -> Table:
    seat = _occupied(table, a.seat)
    _positive(a.amount, "a top-up")
    if table.hand_running and seat.in_hand:
        raise IllegalAction("you can add chips only between hands")
    stack = seat.stack + a.amount
    if seat.stack == 0 and a.amount < table.min_buy_in:
        raise IllegalAction(f"from an empty stack a top-up is a new buy-in: at least "
                            f"{table.min_buy_in}, not {a.amount}")
    if table.max_buy_in and stack > table.max_buy_in:
        raise IllegalAction(f"a top-up may bring your stack to at most {table.max_buy_in}; "
                            f"you have {seat.stack}")
    events.append(ToppedUp(a.seat, a.amount, stack))
    return _with_seat(table, a.seat, replace(seat, stack=stack))


def _run_twice(table: Table, a: RunTwice, events: list[Event]) -> Table:
    seat = _occupied(table, a.seat)
    if not table.run_it_twice:
        raise IllegalAction("this table does not run it twice")
    if type(a.agree) is not bool:
        raise IllegalAction(f"agree is true or false, not {a.agree!r}")
    events.append(RunTwiceSet(a.seat, a.agree))
    return _with_seat(table, a.seat, replace(seat, run_twice=a.agree))


# -- starting a hand ----------------------------------------------------------


def _next_clockwise(index: int, candidates, size: int) -> int:
    return min(candidates, key=lambda s: (s - index - 1) % size)


def _previous_clockwise(index: int, candidates, size: int) -> int:
    return min(candidates, key=lambda s: (index - s - 1) % size)


def _positions(table: Table) -> tuple[list[int], int, int, int]:
    """Players dealt in, button, small blind position, big blind seat (dead button rule)."""
    size = len(table.seats)
    eligible = dealable(table)
    if len(eligible) < 2:
        raise IllegalAction("a hand needs at least two players with chips who are not sitting out")
    ready = [i for i in eligible if not table.seats[i].waiting]
    if table.big_blind_pos is None:
        # The table's first hand: everyone is dealt in, the button one seat on.
        players = eligible
        last = table.button if table.button is not None else size - 1
        button = _next_clockwise(last, players, size)
        if len(players) == 2:
            small = button
        else:
            small = _next_clockwise(button, players, size)
        big = _next_clockwise(small, players, size)
        return players, button, small, big
    if len(ready) < 2:
        # A fresh start (too few players were ready): everyone is dealt in, and
        # the big blind still moves on to the next player after the last one,
        # with the small blind and the button the players before it.
        players = eligible
        big = _next_clockwise(table.big_blind_pos, players, size)
        if len(players) == 2:
            button = small = next(p for p in players if p != big)
        else:
            small = _previous_clockwise(big, players, size)
            button = _previous_clockwise(small, players, size)
        return players, button, small, big
    big = _next_clockwise(table.big_blind_pos, eligible, size)
    players = sorted(set(ready) | {big})
    if len(players) > 2:
        small = table.big_blind_pos
        button = table.small_blind_pos
        # A player posting missed blinds is not dealt in on the button or in
        # the small blind (between the button and the big blind): they wait
        # for the button to pass, unless the hand needs them.
        reach = (big - button) % size
        late = [p for p in players if p != big and table.seats[p].posting
                and (p - button) % size < reach]
        if len(players) - len(late) >= 2:
            players = [p for p in players if p not in late]
    if len(players) == 2:
        # Heads-up the button posts the small blind.
        button = small = next(p for p in players if p != big)
    return players, button, small, big


def _missed(table: Table, big: int) -> set[int]:
    """Seats the big blind passes this hand while they sit out (or are busted)."""
    previous = table.big_blind_pos
    if previous is None:
        return set()
    size = len(table.seats)
    gap = (big - previous) % size or size
    return {i for i in ((previous + k) % size for k in range(1, gap))
            if table.seats[i] is not None and not table.seats[i].leaving
            and (table.seats[i].sitting_out or table.seats[i].stack == 0)}


def _start_hand(table: Table, a: StartHand, events: list[Event]) -> Table:
    if table.hand_running:
        raise IllegalAction("a hand is already running")
    deck = tuple(a.deck)
    if not is_deck(deck):
        raise IllegalAction("the deck must be the 52 distinct cards")
    players, button, small, big = _positions(table)
    number = table.hand_number + 1
    in_hand = set(players)
    fresh = table.big_blind_pos is None or len(
        [i for i in dealable(table) if not table.seats[i].waiting]) < 2
    missed = _missed(table, big)
    seats: list[Seat | None] = []
    for i, s in enumerate(table.seats):
        if s is None or s.leaving:
            seats.append(None)
            continue
        seats.append(replace(s, in_hand=i in in_hand, folded=False, folding=False, cards=(),
                             bet=0, total=0, dead=0, acted=False, shown=False, mucked=False,
                             # Not dealt in (sitting out, or busted and waiting
                             # to top up): back in only on the big blind.
                             waiting=(s.waiting or s.stack == 0) and i not in in_hand,
                             missed=(s.missed or i in missed) and i not in in_hand,
                             posting=s.posting and i not in in_hand))
    events.append(HandStarted(number, button, small if small in in_hand else None, big,
                              tuple(players), {str(i): seats[i].stack for i in players}))
    # Deal the hole cards, one at a time, starting left of the button.
    order = clockwise_from(button, players, len(seats))
    top = 0
    dealt: dict[int, list[Card]] = {i: [] for i in players}
    for _ in range(hole_cards(table.game)):
        for i in order:
            dealt[i].append(deck[top])
            top += 1
    for i in order:
        seats[i] = replace(seats[i], cards=tuple(dealt[i]))
        events.append(HoleCards(i, seats[i].player, seats[i].cards))

    def post(i: int, kind: str, amount: int, into: str) -> None:
        """``into`` the bet (a blind), the pot (an ante) or the main pot as dead money."""
        s = seats[i]
        amount = min(amount, s.stack)
        if not amount:  # all in already
            return
        seats[i] = replace(s, stack=s.stack - amount, total=s.total + amount,
                           bet=s.bet + amount if into == "bet" else s.bet,
                           dead=s.dead + amount if into == "dead" else s.dead)
        events.append(Blind(i, kind, amount, seats[i].stack == 0))

    # Forced bets: antes and dead blinds first (into the pot, not the bet to
    # call), then the blinds, the straddle and posted big blinds.
    posting = [] if fresh else [i for i in order if table.seats[i].posting
                                and i not in (big, small, button)]
    if table.ante:
        anteing = [big] if table.ante_kind == "big_blind" else order
        for i in anteing:
            post(i, "ante", table.ante, "pot" if table.ante_kind == "each" else "dead")
    for i in posting:
        if table.seats[i].missed:
            post(i, "dead", table.small_blind, "dead")
    if small in in_hand:
        post(small, "small", table.small_blind, "bet")
    post(big, "big", table.big_blind, "bet")
    straddler = None
    if table.straddle and len(players) > 2:
        straddler = clockwise_from(big, players, len(seats))[0]
        post(straddler, "straddle", table.straddle, "bet")
    for i in posting:
        if i != straddler:
            post(i, "post", table.big_blind, "bet")
    # A straddle posted in full is the big blind of this hand: the minimum
    # raise is to twice it.
    full_straddle = straddler is not None and seats[straddler].bet == table.straddle
    hand = Hand(number=number, button=button,
                small_blind_seat=small if small in in_hand else None, big_blind_seat=big,
                deck=deck[top:], current_bet=max(s.bet for s in seats if s),
                min_raise=table.straddle if full_straddle else table.big_blind,
                straddle_seat=straddler)
    seats = [replace(s, missed=False, posting=False) if s and s.in_hand else s for s in seats]
    table = replace(table, seats=tuple(seats), hand=hand, hand_number=number, button=button,
                    small_blind_pos=small, big_blind_pos=big)
    # Preflop the first to act sits left of the big blind (of the straddle).
    return _continue(table, big if straddler is None else straddler, events)


# -- betting ------------------------------------------------------------------


def _needs_action(seats, hand: Hand, index: int, others_can_act: bool) -> bool:
    s = seats[index]
    return s is not None and s.can_act and (
        s.bet < hand.current_bet or (not s.acted and others_can_act))


def _next_to_act(seats, hand: Hand, after: int, inclusive: bool = False) -> int | None:
    size = len(seats)
    can_act = [i for i, s in enumerate(seats) if s is not None and s.can_act]
    for step in range(0 if inclusive else 1, size + (0 if inclusive else 1)):
        i = (after + step) % size
        if i in can_act and _needs_action(seats, hand, i, len(can_act) > 1):
            return i
    return None


def _continue(table: Table, after: int, events: list[Event], inclusive: bool = False) -> Table:
    """After an action: next player to act, or close the street and go on.

    A player who left with decisions to make folds when the turn reaches them.
    """
    while True:
        seats, hand = table.seats, table.hand
        if sum(1 for s in seats if s and s.live) == 1:
            return _win_uncontested(table, events)
        nxt = _next_to_act(seats, hand, after, inclusive=inclusive)
        if nxt is None:
            return _end_street(table, events)
        if not seats[nxt].folding:
            if nxt != hand.to_act:
                events.append(ToAct(nxt))
            return replace(table, hand=replace(hand, to_act=nxt))
        table = _fold(table, nxt, events)
        after, inclusive = nxt, False


def _act(table: Table, index, events: list[Event]) -> tuple[Seat, Hand]:
    """Checks common to every betting action."""
    hand = table.hand
    if hand is None or not hand.running:
        raise IllegalAction("no hand is running")
    _seat_index(table, index)
    seat = table.seats[index]
    if seat is None or not seat.in_hand:
        raise IllegalAction("you are not in this hand")
    if seat.folded:
        raise IllegalAction("you have folded")
    if hand.street == "showdown":
        if hand.to_act == index:
            raise IllegalAction("the betting is over: show or muck")
        raise IllegalAction("the betting is over")
    if hand.to_act != index:
        raise IllegalAction("it is not your turn")
    return seat, hand


def _put_in(table: Table, index: int, to: int) -> Table:
    """Move chips from ``index``'s stack so that its bet becomes ``to``."""
    seat = table.seats[index]
    add = to - seat.bet
    return _with_seat(table, index, replace(seat, stack=seat.stack - add, bet=to,
                                            total=seat.total + add, acted=True))


def _fold(table: Table, index: int, events: list[Event]) -> Table:
    """Fold ``index`` (on its turn); the caller goes on with the hand."""
    seat = table.seats[index]
    events.append(Acted(index, "fold", 0, seat.bet, seat.stack, False))
    return _with_seat(table, index, replace(seat, folded=True, acted=True))


def _do_fold(table: Table, a: Fold, events: list[Event]) -> Table:
    _act(table, a.seat, events)
    return _continue(_fold(table, a.seat, events), a.seat, events)


def _do_check(table: Table, a: Check, events: list[Event]) -> Table:
    seat, hand = _act(table, a.seat, events)
    if seat.bet < hand.current_bet:
        raise IllegalAction(f"cannot check facing a bet of {hand.current_bet}")
    table = _with_seat(table, a.seat, replace(seat, acted=True))
    events.append(Acted(a.seat, "check", 0, seat.bet, seat.stack, False))
    return _continue(table, a.seat, events)


def _do_call(table: Table, a: Call, events: list[Event]) -> Table:
    seat, hand = _act(table, a.seat, events)
    if seat.bet >= hand.current_bet:
        raise IllegalAction("there is nothing to call: check instead")
    to = min(hand.current_bet, seat.bet + seat.stack)
    table = _put_in(table, a.seat, to)
    s = table.seats[a.seat]
    events.append(Acted(a.seat, "call", to - seat.bet, to, s.stack, s.stack == 0))
    return _continue(table, a.seat, events)


def _bet_or_raise(table: Table, index: int, to, events: list[Event], name: str) -> Table:
    seat, hand = table.seats[index], table.hand
    if type(to) is not int:
        raise IllegalAction(f"the amount must be a whole number of chips, not {to!r}")
    if not _may_raise(table, index):
        if _capped(table):
            raise IllegalAction(f"fixed limit: a bet and {RAISES_CAP} raises were made on "
                                f"this street; you can only call or fold")
        if seat.stack <= hand.current_bet - seat.bet:
            raise IllegalAction("you can only call (all in) or fold")
        if not _answerable(table.seats, hand, index):
            raise IllegalAction("nobody left could call any of a raise: you can only call "
                                "or fold" if hand.current_bet > seat.bet else
                                "nobody left could call a bet: you can only check or fold")
        raise IllegalAction("the betting was not reopened: an incomplete all-in raise "
                            "lets you only call or fold")
    everything = seat.stack + seat.bet
    least, most = _raise_range(table, seat)
    if to > everything:
        raise IllegalAction(f"you have only {everything} chips: cannot {name} to {to}")
    if to > most:
        kind = "the pot limit" if LIMIT[table.game] == "pot" else "fixed limit: the"
        raise IllegalAction(f"{kind} {name} is to {most} at most, not {to}")
    if to <= hand.current_bet:
        raise IllegalAction(f"a {name} must be to more than {hand.current_bet}")
    if to < least and to != everything:
        raise IllegalAction(f"the minimum {name} is to {least}")
    raise_size = to - hand.current_bet
    full = raise_size >= hand.min_raise
    min_raise = raise_size if full else hand.min_raise
    if LIMIT[table.game] == "fixed":
        # An all-in of at least half a bet counts as a full bet or raise (the next
        # raise is one bet more than it); less is not a raise: the next one still
        # goes to one bet above the last full bet.
        size = fixed_bet(table.big_blind, hand.street)
        target = hand.current_bet + hand.min_raise
        full = 2 * (to - (target - size)) >= size
        min_raise = size if full else target - to
    table = _put_in(table, index, to)
    new_hand = replace(table.hand, current_bet=to, last_aggressor=index, min_raise=min_raise,
                       raises=hand.raises + full)
    table = replace(table, hand=new_hand)
    s = table.seats[index]
    events.append(Acted(index, name, to - seat.bet, to, s.stack, s.stack == 0))
    return _continue(table, index, events)


def _do_bet(table: Table, a: Bet, events: list[Event]) -> Table:
    seat, hand = _act(table, a.seat, events)
    if hand.current_bet:
        raise IllegalAction(f"cannot bet facing a bet of {hand.current_bet}: raise instead")
    return _bet_or_raise(table, a.seat, a.amount, events, "bet")


def _do_raise(table: Table, a: Raise, events: list[Event]) -> Table:
    seat, hand = _act(table, a.seat, events)
    if not hand.current_bet:
        raise IllegalAction("there is no bet to raise: bet instead")
    return _bet_or_raise(table, a.seat, a.amount, events, "raise")


def _do_all_in(table: Table, a: AllIn, events: list[Event]) -> Table:
    seat, hand = _act(table, a.seat, events)
    most = seat.stack + seat.bet
    if most <= hand.current_bet:
        return _do_call(table, Call(a.seat), events)
    return _bet_or_raise(table, a.seat, most, events, "raise" if hand.current_bet else "bet")


def _do_timeout(table: Table, a: Timeout, events: list[Event]) -> Table:
    hand = table.hand
    if hand is not None and hand.street == "showdown" and hand.to_act == a.seat:
        shows = _default_shows(table, a.seat)
        return _do_show(table, Show(a.seat), events) if shows else _do_muck(table, Muck(a.seat), events)
    seat, hand = _act(table, a.seat, events)
    events.append(TimedOut(a.seat))
    if seat.bet >= hand.current_bet:
        return _do_check(table, Check(a.seat), events)
    return _do_fold(table, Fold(a.seat), events)


# -- streets and showdown -----------------------------------------------------


def _return_uncalled(table: Table, events: list[Event]) -> Table:
    """The part of the top bet nobody matched goes back to its owner (not into any pot).

    (A player who left keeps it in their seat: it goes with them when the hand ends.)
    """
    bets = sorted(((s.bet, i) for i, s in enumerate(table.seats) if s and s.in_hand), reverse=True)
    if not bets:
        return table
    top, index = bets[0]
    second = bets[1][0] if len(bets) > 1 else 0
    if top <= second:
        return table
    back = top - second
    seat = table.seats[index]
    events.append(Uncalled(index, back))
    return _with_seat(table, index, replace(seat, stack=seat.stack + back, bet=second,
                                            total=seat.total - back))


def _end_street(table: Table, events: list[Event]) -> Table:
    table = _return_uncalled(table, events)
    seats = tuple(replace(s, bet=0, acted=False) if s and s.in_hand else s for s in table.seats)
    table = replace(table, seats=seats)
    events.append(Pots(tuple(_pots(seats))))
    hand = table.hand
    street_index = STREETS.index(hand.street)
    if street_index == len(STREETS) - 1:
        return _begin_showdown(table, events)
    if (not hand.second_board and table.run_it_twice
            and sum(1 for s in seats if s and s.can_act) <= 1
            and all(s.run_twice for s in seats if s and s.live)):
        # Nobody can bet any more and everyone still in agreed: the rest of
        # the board is dealt twice, the first board from the top of the deck
        # as usual, the second from the cards after it.
        missing = 5 - len(hand.board)
        second = hand.board + hand.deck[missing:2 * missing]
        hand = replace(hand, second_board=second,
                       deck=hand.deck[:missing] + hand.deck[2 * missing:])
    street = STREETS[street_index + 1]
    count = BOARD_SIZE[street]
    board = hand.board + hand.deck[:count]
    opening = (fixed_bet(table.big_blind, street) if LIMIT[table.game] == "fixed"
               else table.big_blind)
    hand = replace(hand, street=street, board=board, deck=hand.deck[count:], to_act=None,
                   current_bet=0, min_raise=opening, raises=0)
    table = replace(table, hand=hand)
    events.append(Street(street, board[-count:], board))
    # After the flop the first to act is left of the button. When at most one
    # player can still bet, nobody acts and the next card comes straight away;
    # the last betting round then stays the "final" one for the showdown order.
    if _next_to_act(seats, hand, hand.button) is None:
        return _end_street(table, events)
    return _continue(replace(table, hand=replace(hand, last_aggressor=None)), hand.button, events)


def _win_uncontested(table: Table, events: list[Event]) -> Table:
    table = _return_uncalled(table, events)
    winner = next(i for i, s in enumerate(table.seats) if s and s.live)
    amount = sum(s.total for s in table.seats if s and s.in_hand)
    if amount:  # a lone big blind with a dead small blind gets its blind back: no pot
        events.append(Award(0, amount, (Winner(winner, amount),), None))
    return _finish(table, {winner: amount}, events)


def _begin_showdown(table: Table, events: list[Event]) -> Table:
    hand = table.hand
    seats = table.seats
    if hand.second_board:
        # The second board of a run twice, street by street, after the first.
        common = next(k for k in range(5, -1, -1) if hand.second_board[:k] == hand.board[:k])
        for street, start, end in (("flop", 0, 3), ("turn", 3, 4), ("river", 4, 5)):
            if start >= common:
                events.append(SecondBoard(street, hand.second_board[start:end],
                                          hand.second_board[:end]))
    live = [i for i, s in enumerate(seats) if s and s.live]
    # The last aggressor of the final betting round shows first; if everyone
    # checked, the first live player left of the button.
    if hand.last_aggressor is not None and seats[hand.last_aggressor].live:
        order = [hand.last_aggressor] + clockwise_from(
            hand.last_aggressor, [i for i in live if i != hand.last_aggressor], len(seats))
    else:
        order = clockwise_from(hand.button, live, len(seats))
    table = replace(table, hand=replace(hand, street="showdown", to_act=None))
    if any(seats[i].all_in for i in live):
        # With a player all in, every hand is tabled once the betting is over.
        for i in order:
            table = _show(table, i, events)
        return _award(table, events)
    table = replace(table, hand=replace(table.hand, showdown_order=tuple(order)))
    return _showdown_next(table, events)


def _showdown_next(table: Table, events: list[Event]) -> Table:
    while True:
        hand = table.hand
        order = [i for i in hand.showdown_order
                 if table.seats[i].live and not table.seats[i].shown
                 and not table.seats[i].mucked]
        if not order:
            return _award(table, events)
        seat = table.seats[order[0]]
        if not seat.folding:
            events.append(ToAct(order[0]))
            return replace(table, hand=replace(hand, showdown_order=tuple(order),
                                               to_act=order[0]))
        # A player who left: their hand is mucked, or shown when it must be.
        table = replace(table, hand=replace(hand, showdown_order=tuple(order), to_act=None))
        if _may_muck(table.seats, order[0]):
            events.append(Mucked(order[0]))
            table = _with_seat(table, order[0], replace(seat, mucked=True))
        else:
            table = _show(table, order[0], events)


def _show(table: Table, index: int, events: list[Event]) -> Table:
    seat = table.seats[index]
    value = strength(table.game, seat.cards, table.hand.board)
    events.append(Shown(index, seat.cards, describe(value)))
    return _with_seat(table, index, replace(seat, shown=True))


def _showdown_turn(table: Table, index) -> Seat:
    hand = table.hand
    if hand is None or hand.street != "showdown":
        raise IllegalAction("there is no showdown now")
    _seat_index(table, index)
    if hand.to_act != index:
        raise IllegalAction("it is not your turn to show")
    return table.seats[index]


def _do_show(table: Table, a: Show, events: list[Event]) -> Table:
    _showdown_turn(table, a.seat)
    table = _show(table, a.seat, events)
    return _showdown_next(table, events)


def _do_muck(table: Table, a: Muck, events: list[Event]) -> Table:
    seat = _showdown_turn(table, a.seat)
    if seat.all_in:
        raise IllegalAction("an all-in hand is always shown")
    if not _may_muck(table.seats, a.seat):
        raise IllegalAction("you are the last player who can win this pot: show your hand")
    events.append(Mucked(a.seat))
    table = _with_seat(table, a.seat, replace(seat, mucked=True))
    return _showdown_next(table, events)


def _default_shows(table: Table, index: int) -> bool:
    """The default at showdown: show a hand that wins or ties some pot, muck the rest."""
    if not _may_muck(table.seats, index):
        return True
    seats, board = table.seats, table.hand.board
    mine = strength(table.game, seats[index].cards, board)
    for pot in _pots(seats):
        if index not in pot.eligible:
            continue
        shown = [strength(table.game, seats[i].cards, board)
                 for i in pot.eligible if seats[i].shown]
        if not shown or mine >= max(shown):
            return True
    return False


def showdown_awards(table: Table, unknown=frozenset()) -> list[Award]:
    """The pots of a hand at its showdown, each paid to its winners (the :class:`Award`
    events the hand ends with).

    ``unknown`` seats hold cards nobody knows (a hand history that never shows
    them): they cannot win a pot against a known hand, and a pot only such
    hands contest raises :class:`IllegalAction`. A run twice pays half of every
    pot on each board, the odd chip on the first.
    """
    seats, hand = table.seats, table.hand
    boards = [hand.board] + ([hand.second_board] if hand.second_board else [])
    awards: list[Award] = []
    for number, pot in enumerate(_pots(seats)):
        contenders = [i for i in pot.eligible if not seats[i].mucked]
        named = True
        if not contenders:
            # Everyone left in this pot mucked (the last contender left before
            # showing): the mucked hands still decide it, but are not named.
            contenders, named = list(pot.eligible), False
        known = [i for i in contenders if i not in unknown]
        half = pot.amount // len(boards)
        for b, board in enumerate(boards):
            amount = pot.amount - half * (len(boards) - 1) if b == 0 else half
            if len(pot.eligible) == 1 or not known:
                if len(contenders) > 1:
                    raise IllegalAction("the result is undetermined: the hole cards of every "
                                        "player who could win a pot are unknown")
                winners, best = contenders, None  # nobody else contests it
            else:
                values = {i: strength(table.game, seats[i].cards, board) for i in known}
                best = max(values.values())
                winners = [i for i in known if values[i] == best]
                best = best if named else None
            # Odd chips go one at a time starting left of the button.
            shares = split_pot(amount, clockwise_from(hand.button, winners, len(seats)))
            awards.append(Award(number, amount,
                                tuple(Winner(i, amt) for i, amt in shares.items()),
                                describe(best) if best is not None else None, b))
    return awards


def _award(table: Table, events: list[Event]) -> Table:
    won: dict[int, int] = {}
    for award in showdown_awards(table):
        for w in award.winners:
            won[w.seat] = won.get(w.seat, 0) + w.amount
        events.append(award)
    return _finish(table, won, events)


def _finish(table: Table, won: dict[int, int], events: list[Event]) -> Table:
    seats = list(table.seats)
    for i, amount in won.items():
        seats[i] = replace(seats[i], stack=seats[i].stack + amount)
    seats = [replace(s, bet=0) if s else s for s in seats]
    # Leaving players' seats empty now; what they won (or got back) goes with
    # them: a second Left, after the one that took their stack behind.
    for i, s in enumerate(seats):
        if s and s.leaving:
            if s.stack:
                events.append(Left(i, s.player, s.stack))
            seats[i] = None
    hand = replace(table.hand, street="complete", to_act=None, showdown_order=())
    events.append(HandEnded(hand.number, {str(i): s.stack for i, s in enumerate(seats) if s}))
    # Those who asked to sit out once this hand is over do so now.
    for i, s in enumerate(seats):
        if s and s.sit_out_after == "hand":
            events.append(SatOut(i))
            seats[i] = replace(s, sitting_out=True, posting=False, sit_out_after=None)
    return _sit_out_before_big_blind(replace(table, seats=tuple(seats), hand=hand), events)


_HANDLERS = {
    SitDown: _sit_down, StandUp: _stand_up, SitOut: _sit_out, SitIn: _sit_in, TopUp: _top_up,
    StartHand: _start_hand, Fold: _do_fold, Check: _do_check, Call: _do_call, Bet: _do_bet,
    Raise: _do_raise, AllIn: _do_all_in, Timeout: _do_timeout, Show: _do_show, Muck: _do_muck,
    RunTwice: _run_twice,
}


# ---------------------------------------------------------------------------
# Plain JSON data, exactly round-tripping (snapshots and the journal need it)


def action_to_json(action: Action) -> dict:
    """``Raise(3, 40)`` -> ``{"type": "raise", "seat": 3, "amount": 40}``.

    >>> action_to_json(Raise(3, 40))
    {'type': 'raise', 'seat': 3, 'amount': 40}
    >>> action_from_json(action_to_json(Raise(3, 40)))
    Raise(seat=3, amount=40)
    """
    data = {"type": ACTION_NAMES[type(action)]}
    for name in _names(type(action)):
        value = getattr(action, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls) -> tuple[str, ...]:
    """A dataclass's field names, looked up once (``fields()`` is slow per call)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def action_from_json(data: dict) -> Action:
    """The inverse of :func:`action_to_json`; a field with a default may be missing
    (``SitDown.name``: journals written before it existed)."""
    cls = ACTION_TYPES[data["type"]]
    kwargs = {name: data[name] for name in _names(cls) if name in data}
    if cls is StartHand:
        kwargs["deck"] = tuple(kwargs["deck"])
    return cls(**kwargs)


_REQUIRED = object()      # stands for "no default": never equal to a value
_WRITTEN = {"game"}       # written even at its default: an image says which game it plays
_JSON_SHAPES: dict[type, tuple] = {}


def _json_shape(cls) -> tuple:
    """``(get all fields, names, defaults)`` of a value type, made once."""
    shape = _JSON_SHAPES.get(cls)
    if shape is None:
        names = _names(cls)
        shape = _JSON_SHAPES[cls] = (
            attrgetter(*names), names,
            tuple(_REQUIRED if f.default is MISSING or f.name in _WRITTEN else f.default
                  for f in fields(cls)))
    return shape


def street_of(hand: dict) -> str:
    """The street of a hand as :func:`table_to_json` writes it (left out at its default).

    >>> street_of({"number": 1, "street": "flop"}), street_of({"number": 1})
    ('flop', 'preflop')
    """
    return hand.get("street", _FIRST_STREET)


_FIRST_STREET = next(f.default for f in fields(Hand) if f.name == "street")


def _value_to_json(value) -> dict:
    """A value's fields as JSON, those at their default left out: a table's seats are
    mostly defaults between hands, and an image of 10,000 tables is parsed at every
    start (the reader takes a missing field as its default)."""
    get, names, defaults = _json_shape(type(value))
    return {n: list(v) if type(v) is tuple else v
            for n, v, d in zip(names, get(value), defaults) if v != d or type(v) is not type(d)}


def table_to_json(table: Table) -> dict:
    """A table as plain JSON data, fields at their defaults left out.

    >>> table_to_json(new_table(2, 1, 2))
    {'seats': [None, None], 'small_blind': 1, 'big_blind': 2, 'game': 'NT', 'hand': None}
    """
    data = _value_to_json(table)
    data["seats"] = [_value_to_json(s) if s else None for s in table.seats]
    data["hand"] = _value_to_json(table.hand) if table.hand else None
    return data


def _reader(cls, **convert):
    """A constructor ``read(data) -> cls`` for this module's frozen state types.

    Recovery rebuilds every table of a snapshot (10,000 of them, six seats
    each): the instance's ``__dict__`` is a copy of ``data`` (one C call),
    which is about four times as fast as calling the generated ``__init__``
    (``object.__setattr__`` for every field of a frozen class). A field left
    out (at its default, or JSON written before it existed) reads as the
    class's default. Such a value is small (most of an idle table's fields are
    at their defaults) but Python reads the fields it lacks about three times
    as slowly: a table in play soon holds only values made by :func:`replace`.
    Fields annotated as tuples come from JSON lists; ``convert`` maps other
    fields to a function of their JSON value. A missing field without a default
    is a ``KeyError``; names that are not fields are dropped.
    """
    convert = [(f.name, tuple) for f in fields(cls) if str(f.type).startswith("tuple")
               and f.name not in convert] + list(convert.items())
    names = frozenset(f.name for f in fields(cls))
    required = frozenset(f.name for f in fields(cls) if f.default is MISSING)

    def read(data: dict):
        if not required.issubset(data):
            raise KeyError(min(required - data.keys()))
        d = dict(data) if names.issuperset(data) else {
            k: v for k, v in data.items() if k in names}
        for name, f in convert:
            if name in data:
                d[name] = f(d[name])
        o = _new(cls)
        _set_dict(o, "__dict__", d)
        return o
    return read


_seat_from_json = _reader(Seat)
_hand_from_json = _reader(Hand)
_table_from_json = _reader(
    Table, seats=lambda seats: tuple(_seat_from_json(s) if s else None for s in seats),
    hand=lambda hand: _hand_from_json(hand) if hand else None)


def table_from_json(data: dict) -> Table:
    """The inverse of :func:`table_to_json` (and of orjson's serialisation of a table).

    >>> t = new_table(6, 1, 2)
    >>> table_from_json(table_to_json(t)) == t
    True

    A field left out (at its default, or from before it existed) reads as its default:

    >>> table_from_json({"seats": [None] * 6, "small_blind": 1, "big_blind": 2}) == t
    True
    """
    return _table_from_json(data)
