"""Every setting of the server, its default and its help, in one place.

Settings are not state: they are not in the root and not in snapshots. Each
field of :class:`Settings` is also a command-line flag (``turn_seconds`` is
``--turn-seconds``) and an environment variable (``POKER_TURN_SECONDS``):
:func:`parse_args` builds both from the fields, so a default is written once,
here. The module-level :data:`settings` is read by the table flow and the
socket layer; :func:`configure` replaces it before the server starts.

>>> s = parse_args(["--turn-seconds", "7.5", "--origins", "http://a,http://b"], environ={})
>>> s.turn_seconds, s.origins, s.port
(7.5, ('http://a', 'http://b'), 8080)
>>> parse_args([], environ={"POKER_NO_DEFAULT_TABLES": "1"}).no_default_tables
True
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields, replace


def _knob(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every knob of the running server, with production defaults."""

    # -- listening
    host: str = _knob("127.0.0.1", "address to listen on")
    port: int = _knob(8080, "port to listen on")
    origins: tuple[str, ...] = _knob((), "comma-separated allowed Origin values "
                                     "(default: the same host as the Host header)")
    hosts: tuple[str, ...] = _knob((), "comma-separated names the server answers to in the "
                                   "Host header, against DNS rebinding; IP addresses always "
                                   "pass; '*': any (default: localhost and the --host name)")
    handshake_timeout: float = _knob(10.0, "seconds a socket may take to send its whole HTTP "
                                     "request (line, headers, body), until the WebSocket "
                                     "upgrade or the answer")
    max_connections: int = _knob(10000, "sockets open at once in all (HTTP and WebSocket); "
                                 "beyond, 503 (0: no limit)")
    max_connections_per_address: int = _knob(64, "sockets open at once from one client "
                                             "address; beyond, 503 (0: no limit)")
    unlimited_addresses: tuple[str, ...] = _knob(("127.0.0.1", "::1"), "comma-separated "
                                                 "client addresses exempt from the "
                                                 "per-address limits (connections, new "
                                                 "players, tables): the house bots, local "
                                                 "load tests, a reverse proxy")
    access_log: bool = _knob(False, "log every HTTP request")
    log_level: str = _knob("INFO", "DEBUG, INFO, WARNING or ERROR")
    # -- the table flow
    turn_seconds: float = _knob(20.0, "seconds per turn before the time bank is used")
    time_bank: float = _knob(30.0, "time bank per seat when it sits down, in seconds")
    time_bank_refill: float = _knob(5.0, "seconds added to a seat's time bank every "
                                    "--time-bank-every hands it is dealt")
    time_bank_every: int = _knob(10, "hands dealt to a seat between time bank refills")
    time_bank_max: float = _knob(60.0, "the most a time bank holds, in seconds")
    hand_pause: float = _knob(3.0, "pause between hands, in seconds")
    sit_out_remove: float = _knob(300.0, "seconds sitting out before a player is stood up")
    wait_offer: float = _knob(30.0, "seconds a free seat is held for the first player on a "
                              "full table's waiting list before it passes to the next")
    expiries_to_sit_out: int = _knob(2, "clock expiries in a row that sit a player out")
    player_ttl: float = _knob(7 * 86400.0, "seconds a player with no seat and no connection "
                              "is kept (then their token expires)")
    tick: float = _knob(0.05, "the clock's granularity in seconds (tables due within it "
                        "tick together)")
    history: int = _knob(512, "events kept per table for reconnecting clients")
    max_tables: int = _knob(200, "most tables POST /api/tables may reach")
    tables_per_address: int = _knob(10, "open tables created from one address at once")
    tables_per_player: int = _knob(3, "open tables one player (by its token) may have created")
    empty_table_ttl: float = _knob(600.0, "seconds a created table nobody ever sat at is kept")
    players_per_minute: float = _knob(10.0, "new players (hello with a name) per minute from "
                                      "one address, with as many at once")
    guest_ttl: float = _knob(3600.0, "seconds a player who holds no seat and still has the "
                             "starting bankroll is kept once their last socket closed")
    no_default_tables: bool = _knob(False, "start with no tables")
    bot_think: float = _knob(1.0, "mean thinking seconds of bots seated by POST /api/tables")
    # -- sockets
    send_queue: int = _knob(256, "messages queued per socket before it is closed with 4000")
    send_queue_bytes: int = _knob(1 << 20, "bytes queued per socket before it is closed "
                                  "with 4000")
    socket_sndbuf: int = _knob(0, "SO_SNDBUF for WebSocket sockets in bytes (0: the kernel's)")
    rate: float = _knob(20.0, "messages per second per socket")
    burst: float = _knob(40.0, "message burst per socket")
    flood: int = _knob(100, "messages within one second that close a socket with 1008")
    chat_rate: float = _knob(1.0, "chat lines per second per socket")
    chat_burst: float = _knob(5.0, "chat line burst per socket")
    # -- persistence
    snapshot_dir: str | None = _knob(None, "write snapshots to DIR and recover from it "
                                     "(see docs/snapshots.md)")
    snapshot_every: float = _knob(5.0, "seconds between snapshots")
    snapshot_keep: int = _knob(3, "snapshot generations kept")
    snapshot_fork: int = _knob(1, "1: a forked child serialises and writes each image, the "
                               "loop is blocked only for fork(); 0: serialise on the loop")
    snapshot_allow_empty: bool = _knob(False, "start empty when snapshots exist but none is "
                                       "valid")
    journal: str | None = _knob(None, "also journal every change: fsync policy always, "
                                "everysec or no (needs --snapshot-dir)")
    trusted_proxies: tuple[str, ...] = _knob((), "comma-separated addresses of reverse "
                                             "proxies (a cluster's HAProxy) whose "
                                             "X-Forwarded-For names the client for the "
                                             "per-address quotas")
    # -- a cluster (docs/scaling.md)
    shard: int = _knob(0, "this process is shard N (1 and up) of a cluster: it owns the "
                       "tables tN-*; needs --redis, --snapshot-dir and --journal always "
                       "(0: the whole room in one process)")
    redis: str = _knob("", "the Redis URL of a cluster's players, wallet and lobby "
                       "(with --shard), e.g. redis://127.0.0.1:6379/0")
    max_pause: float = _knob(0.0, "seconds play may stay paused because the state cannot be "
                             "saved (a failing disk) before the server stops with exit "
                             "code 3, for a supervisor to restart it and page someone "
                             "(0: stay up, serve reads and retry for ever)")
    journal_set_aside: bool = _knob(False, "start even when the journal holds entries that "
                                    "cannot be applied (damage, a hole): their segments are "
                                    "moved to DIR/aside, never deleted (without it the server "
                                    "refuses to start and says why)")


settings = Settings()


def configure(new: Settings | None = None, **changes) -> Settings:
    """Replace the settings (before serving) by ``new`` and/or ``changes``; returns them."""
    global settings
    settings = replace(new or settings, **changes)
    return settings


def _parser_of(default):
    """How a flag's text becomes the setting (by the default's type)."""
    if type(default) is tuple:
        return lambda text: tuple(part.strip() for part in text.split(",") if part.strip())
    if default is None:
        return str
    return type(default)


def parse_args(argv=None, environ=None) -> Settings:
    """Settings from the command line over the environment (``POKER_<FLAG>``) over the
    defaults; ``--help`` lists them all."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description="The No-Limit Hold'em server (docs/server.md).")
    for f in fields(Settings):
        flag = f.name.replace("_", "-")
        env = "POKER_" + f.name.upper()
        default = f.default
        text = f"{f.metadata['help']} (env {env}"
        if type(default) is bool:
            parser.add_argument("--" + flag, action="store_true",
                                default=bool(environ.get(env)) or default,
                                help=text + ")")
            continue
        parse = _parser_of(default)
        value = parse(environ[env]) if env in environ else default
        shown = ",".join(default) if type(default) is tuple else default
        parser.add_argument("--" + flag, type=parse, default=value,
                            help=f"{text}; default {shown})")
    return Settings(**vars(parser.parse_args(argv)))
