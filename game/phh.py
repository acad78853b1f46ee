"""Read, replay and write PHH hand histories of No-Limit Texas Hold'em (variant ``"NT"``).

PHH (the open Poker Hand History format, see ``shared/phh.md``) is TOML: one
hand per ``.phh`` file, many (tables ``[1]``, ``[2]``, ...) in a ``.phhs``
file. Players p1..pN are in position order, p1 left of the button and pN
the button; blinds and antes are implicit, ``actions`` lists the rest.

Replaying plays a hand through *our* rules (:func:`game.table.apply`), so a
history our rules reject fails with the reason:

>>> example = '''
... variant = "NT"
... antes = [0, 0, 0]
... blinds_or_straddles = [50, 100, 0]
... min_bet = 100
... starting_stacks = [10000, 10000, 10000]
... actions = [
...   "d dh p1 7c2d", "d dh p2 QhQd", "d dh p3 AsKs",
...   "p3 cbr 300", "p1 f", "p2 cc",
...   "d db 2h7h9c",
...   "p2 cc", "p3 cbr 400", "p2 f",
... ]
... finishing_stacks = [9950, 9700, 10350]
... '''
>>> replay(loads_phh(example)).finishing_stacks
[9950, 9700, 10350]
>>> replay(loads_phh(example.replace("p3 cbr 300", "p3 cbr 150")))
Traceback (most recent call last):
...
game.phh.PHHError: action 'p3 cbr 150' (#4): the minimum raise is to 200

Writing goes the other way: :func:`hand_to_phh` takes the table as it was
before a hand plus the actions that played it (``StartHand`` first) and
gives the PHH fields; :func:`dumps_phh` writes them as TOML. With
``viewer=seat`` the hole cards that seat did not see become ``????``.

From the command line, ``python -m game.phh replay FILE...`` prints one JSON
line per hand and exits 1 if any hand fails or ends with other stacks than
its ``finishing_stacks``.

Limits: only ``"NT"``; blinds must be a small and a big blind (or a big
blind alone, as after our dead small blind), no straddles; antes the same
for everyone; whole chips; ``min_bet`` equal to the big blind.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass, replace

from game.cards import DECK, Card, CardError, parse_card
from game.events import Acted, HandStarted, HoleCards, Left, Mucked, Shown, Street, TimedOut
from game.pots import clockwise_from
from game.table import (MAX_SEATS, AllIn, Bet, Call, Check, Fold, IllegalAction, Muck, Raise,
                        Show, SitDown, StandUp, StartHand, Table, Timeout, apply, legal_actions,
                        new_table)

UNKNOWN = "??"
SPECTATOR = -1  # a ``viewer`` who holds no seat: sees only the cards shown


class PHHError(ValueError):
    """A hand history we cannot read or replay; the message says why."""


# ---------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, slots=True)
class PHHAction:
    """One entry of ``actions``. ``player`` counts from 0 (p1 is 0); None for the dealer.

    ``verb`` is ``dh``, ``db``, ``f``, ``cc``, ``cbr``, ``sm`` or ``#`` (a
    line that is only a commentary). Unknown cards are ``"??"``.

    >>> parse_action("p2 cbr 600 # a raise")
    PHHAction(verb='cbr', player=1, cards=(), amount=600, comment='a raise')
    >>> parse_action("d dh p1 As??")
    PHHAction(verb='dh', player=0, cards=('As', '??'), amount=None, comment=None)
    >>> parse_action("p1 sm")
    PHHAction(verb='sm', player=0, cards=(), amount=None, comment=None)
    >>> parse_action("p1 raises")
    Traceback (most recent call last):
    ...
    game.phh.PHHError: not a PHH action: 'p1 raises'
    """

    verb: str
    player: int | None = None
    cards: tuple[Card, ...] = ()
    amount: int | None = None
    comment: str | None = None


_PLAYER = re.compile(r"p([1-9][0-9]*)")


def _phh_cards(text: str) -> tuple[Card, ...]:
    if len(text) % 2:
        raise PHHError(f"not cards: {text!r}")
    cards = []
    for i in range(0, len(text), 2):
        card = text[i:i + 2]
        try:
            cards.append(card if card == UNKNOWN else parse_card(card))
        except CardError:
            raise PHHError(f"not a card: {card!r}") from None
    return tuple(cards)


def parse_action(text: str) -> PHHAction:
    """Parse one action line (see :class:`PHHAction`); raises :class:`PHHError`."""
    if not isinstance(text, str):
        raise PHHError(f"an action must be a string, not {text!r}")
    body, hash_, comment = text.partition("#")
    comment = comment.strip() if hash_ else None
    words = body.split()
    player = None
    if words and _PLAYER.fullmatch(words[0]):
        player = int(words[0][1:]) - 1
    match words:
        case []:
            if comment is None:
                raise PHHError("an empty action")
            return PHHAction("#", comment=comment)
        case ["d", "dh", p, cards] if _PLAYER.fullmatch(p):
            return PHHAction("dh", int(p[1:]) - 1, _phh_cards(cards), comment=comment)
        case ["d", "db", cards]:
            return PHHAction("db", None, _phh_cards(cards), comment=comment)
        case [_, ("f" | "cc") as verb] if player is not None:
            return PHHAction(verb, player, comment=comment)
        case [_, "cbr", amount] if player is not None:
            if not re.fullmatch(r"[0-9]+", amount):
                raise PHHError(f"unsupported: amount {amount!r} (whole chips only)")
            return PHHAction("cbr", player, amount=int(amount), comment=comment)
        case [_, "sm"] if player is not None:
            return PHHAction("sm", player, comment=comment)
        case [_, "sm", "-"] if player is not None:  # pokerkit: show, cards not given
            return PHHAction("sm", player, (UNKNOWN, UNKNOWN), comment=comment)
        case [_, "sm", cards] if player is not None:
            return PHHAction("sm", player, _phh_cards(cards), comment=comment)
        case [_, ("sd" | "pb"), *_] if player is not None:
            raise PHHError(f"unsupported in No-Limit Hold'em: {text!r}")
    raise PHHError(f"not a PHH action: {text!r}")


def loads_phh(text: str) -> dict:
    """The fields of a one-hand ``.phh`` text (TOML); raises :class:`PHHError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PHHError(f"not TOML: {e}") from None


def loads_phhs(text: str) -> list[tuple[str | None, dict]]:
    """The hands of a ``.phhs`` text as ``(key, fields)``; a lone hand gets key None.

    >>> [key for key, _ in loads_phhs('[1]\\nvariant = "NT"\\n[2]\\nvariant = "NT"\\n')]
    ['1', '2']
    """
    doc = loads_phh(text)
    if "actions" in doc or "variant" in doc:
        return [(None, doc)]
    if doc and all(isinstance(v, dict) for v in doc.values()):
        return list(doc.items())
    raise PHHError("neither a hand nor tables of hands")


# ---------------------------------------------------------------------------
# Replaying


@dataclass(frozen=True, slots=True)
class _Setup:
    table: Table        # before StartHand
    seat_of: tuple[int, ...]  # PHH player index -> our seat index


def _chips(value, what: str) -> int:
    if type(value) is not int or value < 0:
        raise PHHError(f"unsupported: {what} {value!r} (whole chips only)")
    return value


def _per_player(hand: dict, name: str, count: int) -> list[int]:
    value = hand.get(name, 0)
    if type(value) is int:
        value = [value] * count
    if not isinstance(value, list) or len(value) > count:
        raise PHHError(f"{name} must list at most one value per player")
    return [_chips(v, name) for v in value] + [0] * (count - len(value))


def _setup(hand: dict) -> _Setup:
    """Our table for this hand, before ``StartHand``, and where each player sits."""
    if hand.get("variant") != "NT":
        raise PHHError(f"unsupported: variant {hand.get('variant')!r} (only 'NT')")
    stacks = hand.get("starting_stacks")
    if not isinstance(stacks, list) or not 2 <= len(stacks) <= MAX_SEATS:
        raise PHHError(f"unsupported: starting_stacks must list 2 to {MAX_SEATS} players")
    stacks = [_chips(s, "a stack") for s in stacks]
    if 0 in stacks:
        raise PHHError("unsupported: a player without chips")
    n = len(stacks)
    blinds = _per_player(hand, "blinds_or_straddles", n)
    antes = _per_player(hand, "antes", n)
    if len(set(antes)) > 1:
        raise PHHError(f"unsupported: antes differ between players {antes}")
    posted = [i for i, b in enumerate(blinds) if b]
    if len(posted) == 2 and n > 2 and blinds[posted[1]] < blinds[posted[0]]:
        posted.reverse()  # the small blind after the big one (see below)
    if (len(posted) == 2 and posted[1] == (posted[0] + 1) % n
            and blinds[posted[0]] <= blinds[posted[1]] and (n > 2 or posted[0] == 0)):
        small_at, big_at = posted
        small, big = blinds[small_at], blinds[big_at]
    elif len(posted) == 1 and n > 2:  # a big blind alone: the small blind is dead
        small_at, big_at = None, posted[0]
        small = big = blinds[big_at]
    else:
        raise PHHError(f"unsupported: blinds_or_straddles {blinds} (straddles, or not "
                       "a small and a big blind)")
    if hand.get("min_bet") != big:
        raise PHHError(f"min_bet {hand.get('min_bet')!r} is not the big blind {big}")
    names = hand.get("players")
    if not (isinstance(names, list) and len(names) == n and len(set(names)) == n
            and all(isinstance(x, str) and x for x in names)):
        names = [f"p{i + 1}" for i in range(n)]
    if small_at == 0 or n == 2:
        # The usual layout: seats 0..n-1 in position order; a fresh table
        # moves the button one seat on, to pN, and the blinds follow it.
        table = new_table(n, small, big, ante=antes[0])
        for i in range(n):
            table, _ = apply(table, SitDown(i, names[i], stacks[i]))
        return _Setup(replace(table, button=n - 2), tuple(range(n)))
    # Our dead button rule also deals hands with a dead small blind, with
    # players between the button and the small blind, or (after heads-up)
    # the small blind last in position order. Rebuild such a layout: seat 0
    # is an empty seat holding the button, the players follow in position
    # order, and the last hand's blinds are put where our rule moves them on
    # from: its small blind on the button, its big blind on this hand's
    # small blind (an empty seat just before the big blind when it is dead).
    layout: list[int | None] = [None]
    for i in range(n):
        if i == big_at and small_at is None and i > 0:
            layout.append(None)
        layout.append(i)
    if len(layout) > MAX_SEATS:
        raise PHHError(f"unsupported: blinds_or_straddles {blinds} with {n} players")
    seat_of = tuple(layout.index(i) for i in range(n))
    table = new_table(len(layout), small, big, ante=antes[0])
    for i, seat in enumerate(seat_of):
        table, _ = apply(table, SitDown(seat, names[i], stacks[i]))
    seats = tuple(replace(s, waiting=False) if s else s for s in table.seats)
    previous_big = seat_of[small_at] if small_at is not None else seat_of[big_at] - 1
    return _Setup(replace(table, seats=seats, button=0, small_blind_pos=0,
                          big_blind_pos=previous_big), seat_of)


def _hole_and_board(lines: list[PHHAction], n: int):
    """Hole cards per player (revealed by ``sm`` where unknown), the board, unknown players."""
    holes: list[list[Card]] = [[] for _ in range(n)]
    board: list[Card] = []
    for a in lines:
        if a.verb == "dh":
            if not 0 <= a.player < n:
                raise PHHError(f"no player p{a.player + 1}")
            holes[a.player].extend(a.cards)
        elif a.verb == "db":
            board.extend(a.cards)
    for i, cards in enumerate(holes):
        if not cards:
            cards.extend((UNKNOWN, UNKNOWN))
        if len(cards) != 2:
            raise PHHError(f"p{i + 1} is dealt {len(cards)} hole cards, not 2")
    if UNKNOWN in board:
        raise PHHError("unsupported: unknown board cards")
    if len(board) > 5:
        raise PHHError(f"{len(board)} board cards")
    # A later "pN sm CARDS" shows cards the deal lines may have hidden.
    for a in lines:
        if a.verb != "sm" or not a.cards or not 0 <= a.player < n:
            continue
        cards = holes[a.player]
        for card in a.cards:
            if card == UNKNOWN or card in cards:
                continue
            if UNKNOWN not in cards:
                shown = "".join(a.cards)
                raise PHHError(f"p{a.player + 1} shows {shown} but was dealt {''.join(cards)}")
            cards[cards.index(UNKNOWN)] = card
    known = [c for cards in holes for c in cards if c != UNKNOWN] + board
    for card in set(known):
        if known.count(card) > 1:
            raise PHHError(f"the card {card} appears twice")
    unknown = frozenset(i for i, cards in enumerate(holes) if UNKNOWN in cards)
    # Fill unknown cards with unused ones: they are never looked at (a hand
    # that needs them is an error), but the deck must be whole.
    spare = iter(c for c in DECK if c not in set(known))
    holes = [[c if c != UNKNOWN else next(spare) for c in cards] for cards in holes]
    return holes, board, unknown, list(spare)


def _deck(holes, board, spare) -> tuple[Card, ...]:
    """The deck our dealing turns into exactly these hole cards and this board.

    We deal one card at a time, two rounds, from p1 (left of the button), then
    take the board from the top of what is left, without burning.

    >>> _deck([["As", "Ad"], ["Ks", "Kd"]], ["2c", "3c", "4c"], ["5c"])
    ('As', 'Ks', 'Ad', 'Kd', '2c', '3c', '4c', '5c')
    """
    deck = [holes[i][r] for r in range(2) for i in range(len(holes))]
    return tuple(deck + board + spare)


class _Replay:
    """The state of one replay: our table and what the file told us so far."""

    def __init__(self, hand: dict):
        actions = hand.get("actions")
        if not isinstance(actions, list):
            raise PHHError("actions must be a list of strings")
        self.texts = actions
        self.lines = []
        for number, text in enumerate(actions, 1):
            try:
                self.lines.append(parse_action(text))
            except PHHError as e:
                raise PHHError(f"action {text!r} (#{number}): {e}") from None
        self.setup = _setup(hand)
        self.n = len(self.setup.seat_of)
        holes, self.board, self.unknown, spare = _hole_and_board(self.lines, self.n)
        self.player_of = {seat: i for i, seat in enumerate(self.setup.seat_of)}
        deck = _deck(holes, self.board, spare)
        self.table, _ = apply(self.setup.table, StartHand(deck))
        self.board_read = 0
        self.decisions: dict[int, type] = {}  # seat -> Show or Muck, read ahead

    def label(self, seat: int) -> str:
        return f"p{self.player_of[seat] + 1}"

    def apply(self, action) -> None:
        table, events = apply(self.table, action)
        for e in events:
            if type(e) is Shown and self.player_of[e.seat] in self.unknown:
                who = self.label(e.seat)
                raise PHHError(f"{who}'s hole cards are unknown but the showdown needs them, "
                               f"and no '{who} sm CARDS' line shows them")
        self.table = table

    def step(self, a: PHHAction) -> None:
        hand = self.table.hand
        if a.verb in ("#", "dh"):
            return
        if a.verb == "db":
            self.board_read += len(a.cards)
            if len(hand.board) < self.board_read:
                raise PHHError("the board comes before the betting round is over")
            if hand.board[:self.board_read] != tuple(self.board[:self.board_read]):
                raise PHHError(f"the board dealt is {''.join(hand.board)}")
            return
        if not 0 <= a.player < self.n:
            raise PHHError(f"no player p{a.player + 1}")
        seat = self.setup.seat_of[a.player]
        if a.verb == "sm":
            return self.show_or_muck(seat, a)
        if not hand.running:
            raise PHHError("the hand is already over")
        match a.verb:
            case "f":
                self.apply(Fold(seat))
            case "cc":
                legal = legal_actions(self.table)
                checks = legal is not None and legal.seat == seat and "check" in legal.actions
                self.apply(Check(seat) if checks else Call(seat))
            case "cbr":
                self.apply((Raise if hand.current_bet else Bet)(seat, a.amount))

    def show_or_muck(self, seat: int, a: PHHAction) -> None:
        s, hand = self.table.seats[seat], self.table.hand
        if s.shown or not hand.running:
            # Tabled already (our rules turn up every hand when someone is
            # all in), or a hand shown after it ended: the cards are checked.
            return
        if hand.street != "showdown" or seat not in hand.showdown_order:
            raise PHHError("showing or mucking before the showdown")
        # Our showdown order may differ from the file's: keep the decision
        # until it is this player's turn.
        self.decisions[seat] = Show if a.cards else Muck
        self.drain()

    def drain(self) -> None:
        while (self.table.hand.street == "showdown"
               and self.table.hand.to_act in self.decisions):
            seat = self.table.hand.to_act
            self.apply(self.decisions.pop(seat)(seat))

    def finish(self) -> None:
        """After the listed actions: the default show/muck for whoever the file left out."""
        while True:
            self.drain()
            hand = self.table.hand
            if hand.street != "showdown" or hand.to_act is None:
                break
            if self.player_of[hand.to_act] in self.unknown:
                who = self.label(hand.to_act)
                raise PHHError(f"hand not finished: {who} must show or muck, but the file "
                               f"neither says which nor shows {who}'s cards")
            self.apply(Timeout(hand.to_act))
        if hand.running:
            raise PHHError(f"hand not finished: {self.label(hand.to_act)} to act")
        if len(hand.board) > len(self.board):
            raise PHHError(f"hand not finished: the file deals {len(self.board)} board cards, "
                           f"the hand needs {len(hand.board)}")


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replayed hand: our table at the end, and the seat of each PHH player."""

    table: Table
    seat_of: tuple[int, ...]

    @property
    def finishing_stacks(self) -> list[int]:
        """Each player's stack at the end, in PHH player order."""
        return [self.table.seats[seat].stack for seat in self.seat_of]


def replay(hand: dict) -> Replayed:
    """Play a hand's actions through our rules.

    Raises :class:`PHHError` naming the first action our rules reject, or
    why the hand cannot be replayed.
    """
    try:
        r = _Replay(hand)
    except IllegalAction as e:
        raise PHHError(str(e)) from None
    for number, (text, line) in enumerate(zip(r.texts, r.lines), 1):
        try:
            r.step(line)
        except (IllegalAction, PHHError) as e:
            raise PHHError(f"action {text!r} (#{number}): {e}") from None
    try:
        r.finish()
    except IllegalAction as e:
        raise PHHError(str(e)) from None
    return Replayed(r.table, r.setup.seat_of)


def _hand_id(key: str | None, hand: dict):
    if "hand" in hand:
        return hand["hand"]
    if key is not None and key.isdigit():
        return int(key)
    return key


def replay_result(hand: dict, file: str | None = None, key: str | None = None) -> dict:
    """One hand's replay as a plain JSON-able dict (the CLI prints these).

    >>> replay_result({"variant": "NT", "antes": [0, 0], "blinds_or_straddles": [1, 2],
    ...                "min_bet": 2, "starting_stacks": [100, 100],
    ...                "actions": ["p2 f"], "finishing_stacks": [101, 99]}, "x.phh")
    {'file': 'x.phh', 'hand': None, 'finishing_stacks': [101, 99], 'expected_finishing_stacks': [101, 99], 'matches_file': True}
    """
    result = {"file": file, "hand": _hand_id(key, hand)}
    try:
        stacks = replay(hand).finishing_stacks
    except PHHError as e:
        result["error"] = str(e)
        return result
    result["finishing_stacks"] = stacks
    if "finishing_stacks" in hand:
        result["expected_finishing_stacks"] = hand["finishing_stacks"]
        result["matches_file"] = hand["finishing_stacks"] == stacks
    return result


def replay_file(path: str) -> list[dict]:
    """Replay every hand of a ``.phh`` or ``.phhs`` file: one result per hand."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        hands = loads_phhs(text)
    except (OSError, UnicodeDecodeError, PHHError) as e:
        return [{"file": path, "hand": None, "error": f"cannot read the file: {e}"}]
    return [replay_result(hand, path, key) for key, hand in hands]


# ---------------------------------------------------------------------------
# Writing


_VERBS = {"fold": "f", "check": "cc", "call": "cc", "bet": "cbr", "raise": "cbr"}


class _Recorder:
    """Turns a hand played at our table into PHH lines.

    PHH has no word for a player leaving out of turn (our rules fold them at
    once), so the lines come from a *shadow* of the hand in which leavers
    stay seated and fold when their turn comes, as a dealer would announce
    it. Nothing else differs, so the shadow is the hand itself unless
    somebody left. When the hand ended early because of a leaver, players
    who never had to act in it check or call in the shadow (a commentary
    says so); a call is won straight back, so the stacks do not change.

    A leaver who is all in or has shown has no turn left to fold on, and
    one caught in an all-in showdown would have their hand turned up (one
    who must show at the showdown cannot muck either): then the shadow
    folds them out of turn as our rules did, and a commentary line says PHH
    cannot express it. The finishing stacks are still the real ones, but
    such a record does not replay to them (in pokerkit or in :func:`replay`).
    """

    def __init__(self, start_table: Table, start: StartHand):
        self.real, _ = apply(start_table, start)
        self.shadow, events = apply(start_table, start)
        hand, seats = self.shadow.hand, self.shadow.seats
        self.order = clockwise_from(hand.button, [i for i, s in enumerate(seats)
                                                  if s and s.in_hand], len(seats))
        self.player = {seat: k for k, seat in enumerate(self.order)}
        self.names = {seat: seats[seat].player for seat in self.order}
        self.starting = {int(k): v for e in events if type(e) is HandStarted
                         for k, v in e.stacks.items()}
        self.lines: list = []   # strings, or ("dh", seat) to fill in at the end
        self.pending: set[int] = set()  # left the table, to fold on their turn
        self.gone: dict[int, int] = {}  # left while all in: the stack they took
        self.cards: dict[int, str] = {}
        self.shown: set[int] = set()
        self.note(events)

    def note(self, events: list, comment: str | None = None) -> None:
        for e in events:
            p = f"p{self.player.get(getattr(e, 'seat', None), -1) + 1}"  # for those that name one
            match e:
                case TimedOut():
                    comment = "timed out"
                case HoleCards(seat=seat, cards=cards):
                    self.cards[seat] = "".join(cards)
                    self.lines.append(("dh", seat))
                case Street(cards=cards):
                    self.lines.append("d db " + "".join(cards))
                case Acted(action=action, to=to):
                    verb = _VERBS[action]
                    line = f"{p} {verb} {to}" if verb == "cbr" else f"{p} {verb}"
                    self.lines.append(line + (f" # {comment}" if comment else ""))
                    comment = None
                case Shown(seat=seat, cards=cards):
                    self.shown.add(seat)
                    self.lines.append(f"{p} sm " + "".join(cards))
                case Mucked():
                    self.lines.append(f"{p} sm" + (f" # {comment}" if comment else ""))
                    comment = None

    def shadow_apply(self, action, comment: str | None = None) -> None:
        table, events = apply(self.shadow, action)
        tabled = {e.seat for e in events if type(e) is Shown} & self.pending
        if tabled and not isinstance(action, (Show, Timeout)):
            # The betting is over with someone all in, so every hand is turned
            # up, a leaver's too, and their turn to fold will never come. Our
            # rules folded them when they left: do it now, then go on.
            for seat in sorted(tabled):
                self.leave(seat)
            if self.shadow.hand_running and self.shadow.hand.to_act == getattr(action, "seat"):
                self.shadow_apply(action, comment)
            return
        self.shadow = table
        self.note(events, comment)

    def leave(self, seat: int) -> None:
        """Fold a leaver in the shadow out of turn, as our rules do; PHH gets a commentary."""
        self.lines.append(f"# p{self.player[seat] + 1} left the table: our rules fold the hand "
                          "here, out of turn, which PHH cannot express")
        self.gone[seat] = self.shadow.seats[seat].stack
        self.pending.discard(seat)
        self.shadow, events = apply(self.shadow, StandUp(seat))
        self.note([e for e in events
                   if getattr(e, "seat", None) != seat or type(e) not in (Acted, Left)])

    def check_or_call(self, seat: int, comment: str | None = None) -> None:
        legal = legal_actions(self.shadow)
        self.shadow_apply(Check(seat) if "check" in legal.actions else Call(seat), comment)

    def flush(self, until: int | None = None, fill: bool = True) -> None:
        """Play the shadow on to ``until``'s turn (or its end): leavers fold, others fill in.

        Without ``fill``, stop at the first player still at the table.
        """
        while self.shadow.hand_running and self.shadow.hand.to_act not in (None, until):
            hand = self.shadow.hand
            seat = hand.to_act
            if not fill and seat not in self.pending:
                return
            if hand.street == "showdown" and seat in self.pending:
                if "muck" in legal_actions(self.shadow).actions:
                    self.shadow_apply(Muck(seat), "left the table")
                else:
                    self.leave(seat)  # they would have to show, and win something
            elif hand.street == "showdown":
                self.shadow_apply(Timeout(seat))
            elif seat in self.pending:
                self.shadow_apply(Fold(seat), "left the table")
            else:
                self.check_or_call(seat, "filler: the hand ended when a player left")

    def feed(self, action) -> None:
        before = self.real
        self.real, events = apply(self.real, action)
        if isinstance(action, StandUp):
            s = before.seats[action.seat]
            if s is None or not s.live or action.seat not in self.player:
                return
            shadow_seat = self.shadow.seats[action.seat]
            if not (self.shadow.hand_running and shadow_seat.live):
                return
            if shadow_seat.can_act and not shadow_seat.shown:
                self.pending.add(action.seat)
                self.flush(fill=False)
            else:  # all in, or the hand is shown: no turn will come to fold on
                self.leave(action.seat)
            return
        if not isinstance(action, (Fold, Check, Call, Bet, Raise, AllIn, Timeout, Show, Muck)):
            return  # seat changes of players not in the hand
        seat = action.seat
        done = next(e for e in events
                    if type(e) in (Acted, Shown, Mucked) and e.seat == seat)
        comment = "timed out" if isinstance(action, Timeout) else None
        self.flush(until=seat)
        if not self.shadow.hand_running or self.shadow.hand.to_act != seat:
            return
        try:
            match done:
                case Shown():
                    self.shadow_apply(Show(seat))
                case Mucked():
                    self.shadow_apply(Muck(seat), comment)
                case Acted(action="fold"):
                    self.shadow_apply(Fold(seat), comment)
                case Acted(action="bet" | "raise", to=to):
                    cls = Raise if self.shadow.hand.current_bet else Bet
                    self.shadow_apply(cls(seat, to), comment)
                case _:
                    self.check_or_call(seat, comment)
        except IllegalAction:  # only after a filler: keep the shadow going
            self.flush()


def hand_to_phh(start_table: Table, actions, *, viewer: int | None = None, **fields) -> dict:
    """The PHH fields of a finished hand.

    ``start_table`` is the table just before the hand; ``actions`` begins with
    the hand's ``StartHand`` and goes on with the actions applied until the
    hand ended (seat changes of others are skipped; anything after the end is
    ignored). ``viewer`` hides, as ``????``, the hole cards that seat did not
    see: its own and those shown at the showdown stay; ``SPECTATOR`` hides
    every hand not shown; ``None`` hides nothing. ``fields`` (``table``,
    ``time_limit``, ``_anything``, ...) are added as given. A player who
    stood up mid-hand is written folding when their turn comes (PHH has no
    out-of-turn fold; see ``_Recorder`` for the all-in case). Raises
    ``ValueError`` (an ``IllegalAction`` for an action the table refuses)
    when the actions do not play a whole hand.

    >>> from game.table import new_table, SitDown
    >>> from game.cards import DECK
    >>> t = new_table(3, 1, 2)
    >>> for seat, name in enumerate(["ann", "bob", "cy"]):
    ...     t, _ = apply(t, SitDown(seat, name, 100))
    >>> phh = hand_to_phh(t, [StartHand(DECK), Raise(0, 6), Fold(1), Fold(2)], viewer=1)
    >>> phh["actions"]
    ['d dh p1 2c2s', 'd dh p2 ????', 'd dh p3 ????', 'p3 cbr 6', 'p1 f', 'p2 f']
    >>> phh["blinds_or_straddles"], phh["players"], phh["finishing_stacks"]
    ([1, 2, 0], ['bob', 'cy', 'ann'], [99, 98, 103])
    >>> print(dumps_phh(phh))
    variant = "NT"
    antes = [0, 0, 0]
    blinds_or_straddles = [1, 2, 0]
    min_bet = 2
    starting_stacks = [100, 100, 100]
    actions = [
      "d dh p1 2c2s",
      "d dh p2 ????",
      "d dh p3 ????",
      "p3 cbr 6",
      "p1 f",
      "p2 f",
    ]
    hand = 1
    players = ["bob", "cy", "ann"]
    seats = [2, 3, 1]
    seat_count = 3
    finishing_stacks = [99, 98, 103]
    <BLANKLINE>
    """
    actions = list(actions)
    if not actions or not isinstance(actions[0], StartHand):
        raise ValueError("the actions must begin with the hand's StartHand")
    rec = _Recorder(start_table, actions[0])
    for action in actions[1:]:
        if not rec.real.hand_running or isinstance(action, StartHand):
            break
        rec.feed(action)
    if rec.real.hand_running:
        raise ValueError("the hand is not finished")
    rec.flush()
    table, hand = rec.shadow, rec.shadow.hand
    order = rec.order

    def hole(seat: int) -> str:
        seen = viewer is None or seat == viewer or seat in rec.shown
        return rec.cards[seat] if seen else UNKNOWN * 2

    lines = [f"d dh p{rec.player[x[1]] + 1} {hole(x[1])}" if isinstance(x, tuple) else x
             for x in rec.lines]
    if len(order) == 2:  # heads-up PHH lists [small, big]; p1 posts the big blind
        blinds = [table.small_blind, table.big_blind]
    else:
        blinds = [table.small_blind if seat == hand.small_blind_seat else
                  table.big_blind if seat == hand.big_blind_seat else 0 for seat in order]
    phh = {"variant": "NT"}
    if table.ante:
        # pokerkit reads antes as dead money in the main pot unless told they
        # are "trimmed": counted like any other chips put in, as we do.
        phh["ante_trimming_status"] = True
    phh |= {
        "antes": [table.ante] * len(order),
        "blinds_or_straddles": blinds,
        "min_bet": table.big_blind,
        "starting_stacks": [rec.starting[seat] for seat in order],
        "actions": lines,
        "hand": hand.number,
        "players": [rec.names[seat] for seat in order],
        "seats": [seat + 1 for seat in order],
        "seat_count": len(table.seats),
        "finishing_stacks": [rec.gone[seat] if seat in rec.gone else table.seats[seat].stack
                             for seat in order],
    }
    phh.update(fields)
    return phh


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} in PHH")


def _toml_key(key) -> str:
    if not isinstance(key, str):
        raise TypeError(f"a PHH key must be a string, not {key!r}")
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def dumps_phh(phh: dict) -> str:
    """PHH fields as TOML text, one action a line; ``None`` values are left out.

    >>> print(dumps_phh({"variant": "NT", "actions": ["p1 f"], "table": None, "_x": 'a "b"'}))
    variant = "NT"
    actions = [
      "p1 f",
    ]
    _x = "a \\"b\\""
    <BLANKLINE>
    """
    out = []
    for key, value in phh.items():
        if value is None:
            continue
        if key == "actions":
            out.append("actions = [")
            out.extend(f"  {_toml_value(a)}," for a in value)
            out.append("]")
        else:
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def dumps_phhs(hands) -> str:
    """Several hands as a ``.phhs`` text: tables ``[1]``, ``[2]``, ..."""
    return "\n".join(f"[{i}]\n{dumps_phh(phh)}" for i, phh in enumerate(hands, 1))


# ---------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """``python -m game.phh replay FILE...``: one JSON line per hand; 1 if any fails."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "replay":
        print("usage: python -m game.phh replay FILE.phh|FILE.phhs ...", file=sys.stderr)
        return 2
    ok = True
    for path in args[1:]:
        for result in replay_file(path):
            print(json.dumps(result), flush=True)
            ok = ok and "error" not in result and result.get("matches_file", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
