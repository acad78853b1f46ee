"""python -m client.bots: run bots against a server and report what happened.

    python -m client.bots --url ws://127.0.0.1:8080/ws --bots 200 --tables 40 --strategy mix --duration 60
    python -m client.bots --bots 12 --tables 2 --hands 50 --chaos drop,slow,bad --json out.json
    python -m client.bots --bots 6 --tables 1 --game PO --duration 30   # Pot-Limit Omaha
    python -m client.bots --join t1 --bots 3          # fill a person's table with bots
    python -m client.bots --tournament sng --bots 6   # a sit-and-go of 6 bots, played out
    python -m client.bots --tournament mtt --bots 27 --seats 9 --level-seconds 5
    python -m client.bots --tournament T3 --bots 4    # register 4 bots in tournament T3

A live progress line goes to stderr; the report to stdout (and ``--json FILE``).
SIGTERM ends the run early the way its end would: every bot leaves, then the report.
Exit status 0, or 1 when bots saw errors while no chaos was asked for.
With ``--tournament`` the final standings (place, name, prize) go to stdout; exit
status 0 once the tournament finished, 1 when ``--timeout`` came first.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import orjson  # noqa: E402

from client.bots.run import (  # noqa: E402
    CHAOS_KINDS, MIX, create_tables, list_tables, run_bots, seats_for)
from client.bots.stats import format_report  # noqa: E402
from client.bots.strategies import STRATEGIES  # noqa: E402
from game.variants import GAMES, NAMES  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m client.bots", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="ws://127.0.0.1:8080/ws", help="the server's WebSocket URL")
    p.add_argument("--bots", type=int, default=12, help="how many bots (default 12)")
    p.add_argument("--tables", type=int, default=2,
                   help="tables to create with POST /api/tables (default 2); 0: use the existing ones")
    p.add_argument("--game", default="NT", choices=GAMES,
                   help="the game of the tables --tables creates: "
                        + ", ".join(f"{g} {NAMES[g]}" for g in GAMES) + " (default NT)")
    p.add_argument("--join", metavar="TABLE_ID",
                   help="sit the bots at this existing table (free seats) instead")
    p.add_argument("--strategy", default="mix", choices=[*STRATEGIES, "mix"],
                   help=f"strategy of every bot; mix deals {', '.join(MIX)} in turn")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds to play (default 60; 3600 with --join)")
    p.add_argument("--hands", type=int, default=None, help="stop once this many hands ended")
    p.add_argument("--warmup", type=float, default=0.0,
                   help="seconds before the counters start (connect and sit first)")
    p.add_argument("--think", type=float, default=None,
                   help="mean thinking time per action in seconds (default 0; 1 with --join)")
    p.add_argument("--chaos", default="",
                   help=f"misbehaving bots, comma separated: {','.join(CHAOS_KINDS)}")
    p.add_argument("--chaos-share", type=float, default=0.25,
                   help="share of the bots that misbehave (default 0.25)")
    p.add_argument("--seed", type=int, default=None, help="seed of the bots' choices")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    t = p.add_argument_group("tournaments", "--tournament sng|mtt|ID fills a tournament with "
                             "--bots bots and plays it to the end")
    t.add_argument("--tournament", metavar="sng|mtt|ID",
                   help="sng: create a sit-and-go of --bots seats; mtt: create a multi-table "
                        "freezeout of --bots players (the first bot starts it); ID: register "
                        "the bots in that existing tournament")
    t.add_argument("--seats", type=int, default=None,
                   help="seats per table of a created mtt (default 9)")
    t.add_argument("--buy-in", type=int, default=100, help="play chips (default 100)")
    t.add_argument("--starting-stack", type=int, default=1500,
                   help="tournament chips each (default 1500)")
    t.add_argument("--level-seconds", type=float, default=10.0,
                   help="length of a blind level of the fast structure (default 10)")
    t.add_argument("--timeout", type=float, default=1800.0,
                   help="give up after this many seconds (default 1800)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    args.chaos = tuple(k for k in args.chaos.split(",") if k)
    for kind in args.chaos:
        if kind not in CHAOS_KINDS:
            p.error(f"unknown chaos {kind!r}: one of {', '.join(CHAOS_KINDS)}")
    if args.bots < 1:
        p.error("--bots must be at least 1")
    if args.duration is None:
        args.duration = 3600.0 if args.join else 60.0
    if args.think is None:
        args.think = 1.0 if args.join else 0.0
    if args.tournament == "sng" and not 2 <= args.bots <= 10:
        p.error("a sit-and-go has 2 to 10 seats: --bots 2 to 10")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.tournament:
        return play_tournament(args)
    fixed_seats = True
    if args.join:
        tables, fixed_seats = [args.join], False
    elif args.tables > 0:
        tables = create_tables(args.url, args.tables, seats=seats_for(args.bots, args.tables),
                               game=args.game)
    else:
        tables, fixed_seats = [t["id"] for t in list_tables(args.url)], False
        if not tables:
            print("no tables on the server: use --tables N to create some", file=sys.stderr)
            return 2
    print(f"{args.bots} bots at {len(tables)} table(s): {', '.join(tables[:10])}"
          f"{' ...' if len(tables) > 10 else ''}", file=sys.stderr)
    end = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, end.set)
    report = run_bots(args.url, tables, args.bots, args.strategy, duration=args.duration,
                      hands=args.hands, warmup=args.warmup, chaos=args.chaos,
                      chaos_share=args.chaos_share, think=args.think, seed=args.seed,
                      fixed_seats=fixed_seats, progress=None if args.quiet else sys.stderr,
                      name_prefix="bot " if args.join else "bot", end=end)
    report.update(strategy=args.strategy, tables=tables, chaos=list(args.chaos),
                  game=args.game if fixed_seats else None)
    print(format_report(report))
    if args.json:
        with open(args.json, "wb") as out:
            out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 1 if report["errors"] and not args.chaos else 0


def play_tournament(args) -> int:
    """--tournament: fill it with bots, play it out, print the standings."""
    from client.bots import tournament  # noqa: PLC0415 - only this mode needs it
    kind = args.tournament
    result = tournament.fill(
        args.url, args.bots, tournament=None if kind in ("sng", "mtt") else kind,
        sit_and_go=kind == "sng", seats=args.seats, buy_in=args.buy_in,
        starting_stack=args.starting_stack, level_seconds=args.level_seconds,
        strategy=args.strategy, think=args.think, seed=args.seed, timeout=args.timeout,
        progress=None if args.quiet else sys.stderr)
    print(tournament.format_standings(result))
    if args.json:
        with open(args.json, "wb") as out:
            out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0 if result["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
