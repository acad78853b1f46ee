"""The one in-memory root: every table, every player, every session token.

Only the loop changes the root, and only between I/O boundaries: a handler
reads it, applies a pure rule (``game.apply``), writes the result back and
only then are messages sent (:mod:`server.effects`). Everything here is
state, as plain data (dataclasses, dicts, deques): no sockets, no frames, no
timers. Who is connected and what they watch is the transport's
(:mod:`server.fanout`), and how the root is laid out in a snapshot image is
:mod:`persistence.layout`'s.

>>> root = new_root()
>>> t = add_table(root, "Heads-up 1/2", TableConfig(2, 1, 2, 0, 40, 200))
>>> p = add_player(root, "ann", token="x" * 43)
>>> root.chips_issued, p.bankroll, total_chips(root)
(10000, 10000, 10000)
"""

from __future__ import annotations

import secrets
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from game.table import Table, new_table

FINISHED_HANDS = 20      # finished hands kept per table for /api/tables/<id>/hands
RECENT_POTS = 100        # pot sizes kept per table for the lobby's avg_pot
CHAT_LINES = 20          # chat lines kept per table for the full view
STARTING_BANKROLL = 10_000


# ---------------------------------------------------------------------------
# Plain data


@dataclass(frozen=True)
class TableConfig:
    """Stakes, limits and house rules of a table, fixed when it is created (see
    :func:`game.table.new_table` for the rules)."""

    seats: int
    small_blind: int
    big_blind: int
    ante: int
    min_buy_in: int
    max_buy_in: int
    ante_kind: str = "each"        # "each" player, or one "big_blind" ante for the table
    straddle: int = 0              # under the gun posts it (0: no straddle)
    run_it_twice: bool = False     # all-in players who all agree see two boards
    game: str = "NT"               # a PHH variant code of game.variants.GAMES


@dataclass
class Clock:
    """The action clock of one table.

    ``deadline`` is absolute (epoch seconds) so that it survives a restart
    (where it is restarted: :func:`server.play.restart_clocks`). While
    ``bank_started`` is set the seat to act is spending its time bank, and
    ``deadline`` is when the bank runs out.
    """

    seat: int | None = None
    hand: int | None = None            # the hand the running clock belongs to
    deadline: float | None = None
    bank_started: float | None = None
    bank: list[float] = field(default_factory=list)     # seconds left per seat
    expiries: list[int] = field(default_factory=list)   # consecutive expiries per seat
    dealt: list[int] = field(default_factory=list)      # hands dealt per seat since it sat


@dataclass
class Player:
    """A player: a name, a bankroll of play chips, and the seats they hold."""

    id: str
    name: str
    token: str
    bankroll: int
    seats: dict[str, int] = field(default_factory=dict)  # table id -> seat index


@dataclass
class Room:
    """One table as the server knows it: the rules state plus what the server adds.

    ``game`` is the pure rules state (:class:`game.table.Table`). ``v`` grows
    by one for every event. ``hand_start``/``hand_actions`` are the table as
    the current hand began (before ``StartHand``) and every action applied
    since, ``StartHand`` included, so that the hand can be replayed.
    """

    id: str
    name: str
    config: TableConfig
    game: Table
    v: int = 0
    hand_start: dict | None = None
    hand_actions: list[dict] = field(default_factory=list)
    hand_names: dict[str, str] = field(default_factory=dict)   # player id -> name, this hand
    # Each finished hand as its compressed JSON (pack_hand; finished_hands() reads
    # them): a forked snapshot's pause grows with the server's memory.
    finished: deque = field(default_factory=lambda: deque(maxlen=FINISHED_HANDS))
    clock: Clock = field(default_factory=Clock)
    next_hand_at: float | None = None
    sat_out_since: list[float | None] = field(default_factory=list)
    hands_played: int = 0
    recent_pots: deque = field(default_factory=lambda: deque(maxlen=RECENT_POTS))
    chat: deque = field(default_factory=lambda: deque(maxlen=CHAT_LINES))
    house_bots: list[str] = field(default_factory=list)   # players the server runs as bots
    # Who made it with POST /api/tables, and when (None for the server's own tables):
    # the address (quotas), the player if they said who they were, the time (a table
    # nobody ever sat at expires).
    creator: str | None = None
    owner: str | None = None
    created: float | None = None
    closing: bool = False          # an operator closed it: it goes when its hand is over
    tournament: str | None = None  # the tournament whose table this is (tournament chips)
    # A full cash table's waiting list (player ids, first first) and the free seats held
    # for players on it, {"player", "until"} each, in line order (server.waiting).
    waiting: list[str] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)

    @property
    def used(self) -> bool:
        """Somebody sat down here once (every seat change is recorded for replay)."""
        return self.hand_start is not None or self.hands_played > 0


@dataclass
class Root:
    """Everything the server holds."""

    tables: dict[str, Room] = field(default_factory=dict)
    players: dict[str, Player] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)   # session token -> player id
    # Players per name (casefolded): derived from ``players``, never in an image.
    names: Counter = field(default_factory=Counter)
    chips_issued: int = 0
    next_player: int = 1
    next_table: int = 1
    # Tournaments by id (server.tournaments.TournamentRoom); each holds its prize pool.
    tournaments: dict[str, Any] = field(default_factory=dict)
    next_tournament: int = 1
    # In a cluster (docs/scaling.md): this process's shard number (its tables are
    # ``t<shard>-<n>``; 0: the whole room in one process), and the chips on their way
    # between this shard and the wallet in Redis (server.transfers), by transfer id.
    shard: int = 0
    transfers: dict[str, dict] = field(default_factory=dict)
    next_transfer: int = 1
    # Counters for /metrics that should survive a restart.
    counters: dict[str, Any] = field(default_factory=lambda: {
        "hands": 0, "actions": 0, "errors": {}})


# ---------------------------------------------------------------------------
# Building a root


def new_root() -> Root:
    """An empty root."""
    return Root()


def add_table(root: Root, name: str, config: TableConfig) -> Room:
    """Create an empty table with the next id (``t1``, ``t2``, ...; on shard 3 of a
    cluster ``t3-1``, ``t3-2``, ...)."""
    table_id = f"t{root.shard}-{root.next_table}" if root.shard else f"t{root.next_table}"
    root.next_table += 1
    game = new_table(config.seats, config.small_blind, config.big_blind, config.ante,
                     ante_kind=config.ante_kind, straddle=config.straddle,
                     run_it_twice=config.run_it_twice, min_buy_in=config.min_buy_in,
                     max_buy_in=config.max_buy_in, game=config.game)
    room = Room(id=table_id, name=name, config=config, game=game,
                clock=Clock(bank=[0.0] * config.seats, expiries=[0] * config.seats,
                            dealt=[0] * config.seats),
                sat_out_since=[None] * config.seats)
    root.tables[table_id] = room
    return room


def add_player(root: Root, name: str, token: str | None = None,
               bankroll: int = STARTING_BANKROLL, player_id: str | None = None) -> Player:
    """Create a player with a fresh session token and a bankroll of new play chips
    (in a cluster the id comes from Redis, and the bankroll lives there: 0 here)."""
    if player_id is None:
        player_id = f"p{root.next_player}"
        root.next_player += 1
    token = token or secrets.token_urlsafe(32)
    player = Player(id=player_id, name=name, token=token, bankroll=bankroll)
    root.players[player_id] = player
    root.tokens[token] = player_id
    root.names[name.casefold()] += 1
    root.chips_issued += bankroll
    return player


def unique_name(root: Root, name: str) -> str:
    """``name``, or the first of ``name 2``, ``name 3``... that no player has (names
    compare casefolded), cut to stay within 20 characters: two players are never
    both "Alice" in the room.

    >>> root = new_root()
    >>> unique_name(root, "Alice")
    'Alice'
    >>> _ = add_player(root, "Alice"); _ = add_player(root, "alice 2")
    >>> unique_name(root, "ALICE"), unique_name(root, "Bob")
    ('ALICE 3', 'Bob')
    >>> _ = add_player(root, "Twenty characters ok")
    >>> unique_name(root, "Twenty characters ok")
    'Twenty characters 2'
    """
    return next(c for c in candidate_names(name) if not root.names[c.casefold()])


def candidate_names(name: str, most: int | None = None):
    """``name``, ``name 2``, ``name 3``, ... (``most`` of them), each cut to stay within
    20 characters.

    >>> list(candidate_names("Twenty characters ok", 3))
    ['Twenty characters ok', 'Twenty characters 2', 'Twenty characters 3']
    """
    yield name
    n = 2
    while most is None or n <= most:
        tag = f" {n}"
        yield name[:20 - len(tag)].rstrip() + tag
        n += 1


def forget_player(root: Root, player: Player) -> None:
    """Remove a player who holds no seat: their token stops working and their
    bankroll leaves the game (``chips_issued`` goes down by as much, so chips
    still add up)."""
    if player.seats:
        raise ValueError(f"player {player.id} still holds seats {player.seats}")
    del root.players[player.id]
    root.tokens.pop(player.token, None)
    root.names[player.name.casefold()] -= 1
    if not root.names[player.name.casefold()]:
        del root.names[player.name.casefold()]
    root.chips_issued -= player.bankroll


def pack_hand(record: dict | bytes) -> bytes:
    """A finished hand as a table keeps it: its JSON, compressed (zlib level 1,
    about a third of the size; :func:`finished_hands` reads them back). A busy
    table's kept hands are most of what it holds, and a forked snapshot's pause
    grows with the server's memory.

    >>> kept = pack_hand({"number": 7, "actions": []})
    >>> zlib.decompress(kept)
    b'{"number":7,"actions":[]}'
    """
    return zlib.compress(record if type(record) is bytes else orjson.dumps(record), 1)


def finished_hands(room: Room) -> list[dict]:
    """The table's kept finished hands, oldest first, as dicts."""
    return [orjson.loads(zlib.decompress(h)) for h in room.finished]


def total_chips(root: Root) -> int:
    """Every chip in play: bankrolls, cash tables' stacks and pots, the tournaments'
    prize pools not yet paid, and the chips on their way from this shard to the wallet
    (compare with ``chips_issued``; tournament chips are not bankroll chips and are
    not counted)."""
    return (sum(p.bankroll for p in root.players.values())
            + sum(room.game.chips() for room in root.tables.values()
                  if room.tournament is None)
            + sum(tr.pool for tr in root.tournaments.values())
            + sum(t["amount"] for t in root.transfers.values() if t["amount"] > 0))
