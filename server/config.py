"""Server settings: clocks, pauses, limits. Set once at start (``run_server.py``).

Settings are not state: they are not in the root and not in snapshots. The
module-level :data:`settings` is read by the table flow and the socket layer;
:func:`configure` replaces it before the server starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
    """Every knob of the running server, with production defaults."""

    turn_seconds: float = 20.0      # per-turn limit before the time bank is used
    time_bank: float = 30.0         # per-seat time bank, spent once the turn limit passes
    hand_pause: float = 3.0         # pause between hands
    sit_out_remove: float = 300.0   # a player sitting out this long is stood up
    player_ttl: float = 7 * 86400.0  # a player with no seat and no connection this long is forgotten
    expiries_to_sit_out: int = 2    # consecutive clock expiries that sit a player out
    tick: float = 0.05              # the clock greenlet's granularity (see app.run_clock)
    send_queue: int = 256           # outbound messages queued per socket before 4000 ...
    send_queue_bytes: int = 1 << 20  # ... or bytes (a table view is kilobytes)
    socket_sndbuf: int = 0          # SO_SNDBUF for WebSocket sockets (0: the kernel's)
    rate: float = 20.0              # messages per second per socket (token bucket) ...
    burst: float = 40.0             # ... with this burst; over it: error rate_limited
    flood: int = 100                # messages in one second that close the socket (1008)
    chat_rate: float = 1.0          # chat lines per second per socket ...
    chat_burst: float = 5.0         # ... with this burst
    history: int = 512              # events kept per table for reconnects
    origins: tuple[str, ...] = ()   # allowed Origin values; empty: same host as Host
    max_tables: int = 200           # tables that POST /api/tables may create in all
    handshake_timeout: float = 10.0  # seconds a socket may take to send its HTTP request
    bot_think: float = 1.0          # mean thinking seconds of bots seated by POST /api/tables


settings = Settings()


def configure(**changes) -> Settings:
    """Replace the settings (before serving); returns the new value."""
    global settings
    settings = replace(settings, **changes)
    return settings
