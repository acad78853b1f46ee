"""Creation quotas: how many players and tables one address (or one player) may make.

Without them one anonymous client could fill ``--max-tables`` for good, or make
thousands of players that are kept (and written in every snapshot) for a week.
New players are a token bucket per address (``--players-per-minute``); tables
are counted as they stand (``--tables-per-address``, ``--tables-per-player``),
and a created table nobody ever sat at goes after ``--empty-table-ttl``
(:func:`server.play.tick`). Addresses in ``--unlimited-addresses`` (loopback by
default: local bots, tests, benchmarks) are not counted, as for the connection caps.

The buckets are the process's, not the root's: a restart forgets them.

>>> from server import config
>>> buckets = {}
>>> [new_player_allowed(buckets, "10.0.0.1", 0.0) for _ in range(11)].count(True)
10
>>> new_player_allowed(buckets, "10.0.0.1", 6.0), new_player_allowed(buckets, "127.0.0.1", 0.0)
(True, True)
"""

from __future__ import annotations

from server import config
from server.root import Root

class OverQuota(ValueError):
    """A creation refused by a quota; the message says which (HTTP 429)."""


# address -> (tokens, when they were counted)
_buckets: dict[str, tuple[float, float]] = {}


def exempt(address: str | None) -> bool:
    return not address or address in config.settings.unlimited_addresses


def new_player_allowed(buckets: dict | None, address: str | None, now: float) -> bool:
    """Count one new player from ``address``; False when its quota is spent."""
    if exempt(address):
        return True
    buckets = _buckets if buckets is None else buckets
    per_minute = config.settings.players_per_minute
    tokens, at = buckets.get(address, (per_minute, now))
    tokens = min(per_minute, tokens + (now - at) * per_minute / 60.0)
    if tokens < 1.0:
        buckets[address] = (tokens, now)
        return False
    buckets[address] = (tokens - 1.0, now)
    return True


def table_refusal(root: Root, address: str | None, owner: str | None) -> str | None:
    """Why ``address`` (or the player ``owner``) may not create another table now, if so."""
    s = config.settings
    if owner is not None:
        mine = sum(1 for room in root.tables.values() if room.owner == owner)
        if mine >= s.tables_per_player:
            return (f"you already have {mine} tables open: at most {s.tables_per_player} "
                    "(an unused table closes by itself after a while)")
    if not exempt(address):
        theirs = sum(1 for room in root.tables.values() if room.creator == address)
        if theirs >= s.tables_per_address:
            return (f"{theirs} tables were created from your address and are still open: "
                    f"at most {s.tables_per_address}")
    return None
