"""python -m client.bots.house: the server's house bots, in a process of their own.

The server (``server.bots``) starts this process and keeps it running; each
line it writes on our stdin seats a group of bots at a table, as the players
whose session tokens it names (the server created those players, so that the
same bots come back to their seats after a restart)::

    {"table": "t3", "tokens": ["q3X...", "Zk9..."], "think": 1.0}

The bots are ordinary clients over loopback (same protocol, same tokens).
When stdin closes (the server stops, or dies) every bot leaves its table and
the process exits. Tokens come on stdin, never on the command line, which
other users of the machine could read.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import orjson  # noqa: E402
from gevent.fileobject import FileObjectThread  # noqa: E402

from client.bots.run import spawn_bots  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m client.bots.house", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="the server's WebSocket URL (loopback)")
    p.add_argument("--strategy", default="tight-aggressive")
    args = p.parse_args(argv)
    groups = []
    lines = FileObjectThread(sys.stdin.buffer, "rb")
    try:
        for line in lines:
            try:
                order = orjson.loads(line)
                groups.append(spawn_bots(args.url, order["table"], len(order["tokens"]),
                                         args.strategy, think=float(order.get("think", 1.0)),
                                         tokens=list(order["tokens"])))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                print(f"house bots: bad order {line[:80]!r}: {e}", file=sys.stderr, flush=True)
    finally:
        gevent.joinall([gevent.spawn(g.stop, 2.0) for g in groups], timeout=5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
