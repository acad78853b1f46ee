"""The table flow without sockets: what an action costs the server's own code.

    .venv/bin/python bench/flow.py [--tables 50] [--actions 20000] [--repeat 3]

`bench/load.py` measures everything an action costs a real server, most of it
the WebSocket stack (reading the frame, a ``send`` per viewer, the event loop).
This bench takes the stack away to show the rest, in one process, on the same
six-seat tables and the same kind of play (bots choosing at random among the
legal actions, busted players topping up):

1. **rules**: ``game.table.apply`` and ``legal_actions`` alone, per action;
2. **flow**: what the server does for an ``act`` frame besides I/O, per action:
   ``handlers.dispatch`` (strict JSON parsing, the checks, ``play.player_acts``:
   the rules, the clock, the book-keeping, the journal entries as values) and
   ``effects.commit`` through the real transport (``Fanout.prepare``: one
   ``events`` frame per viewer, encoded and framed, kept in the history), with
   every socket's frames counted instead of sent; the hands the clock deals
   (``play.tick``) are included, as on a server.

Both are CPU time (``time.process_time``), the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import deque
from pathlib import Path
from types import SimpleNamespace as NS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from game.cards import DECK  # noqa: E402
from game.table import (Bet, Call, Check, Fold, Raise, Show, SitDown, StartHand, TopUp,  # noqa: E402
                        apply, legal_actions, new_table)
from server import handlers, play  # noqa: E402
from server.conn import Conn  # noqa: E402
from server.effects import commit  # noqa: E402
from server.fanout import Fanout  # noqa: E402
from server.root import TableConfig, add_player, add_table, new_root  # noqa: E402

SEATS, STACK = 6, 200


def choose(legal, rng: random.Random) -> tuple[str, int | None]:
    """A random bot: mostly checks and calls, sometimes a min-raise or a fold."""
    r, can = rng.random(), legal.actions
    if "show" in can:
        return "show", None
    if "check" in can and r < 0.6:
        return "check", None
    if "call" in can and r < 0.75:
        return "call", None
    for verb in ("raise", "bet"):
        if verb in can and r < 0.85:
            return verb, legal.min_to
    return ("check", None) if "check" in can else ("fold", None)


def rules(actions: int, seed: int = 1) -> float:
    """µs of CPU per action for the rules alone."""
    rng = random.Random(seed)
    verbs = {"check": Check, "call": Call, "fold": Fold, "show": Show}
    t = new_table(SEATS, small_blind=1, big_blind=2)
    for i in range(SEATS):
        t, _ = apply(t, SitDown(i, f"p{i}", STACK))
    done, start = 0, time.process_time()
    while done < actions:
        for i, s in enumerate(t.seats):
            if s.stack == 0:
                t, _ = apply(t, TopUp(i, STACK))
        deck = list(DECK)
        rng.shuffle(deck)
        t, _ = apply(t, StartHand(tuple(deck)))
        while t.hand_running:
            legal = legal_actions(t)
            verb, amount = choose(legal, rng)
            action = (Bet if verb == "bet" else Raise)(legal.seat, amount) if amount \
                else verbs[verb](legal.seat)
            t, _ = apply(t, action)
            done += 1
    return (time.process_time() - start) / done * 1e6


def flow(tables: int, actions: int, seed: int = 1) -> tuple[float, float]:
    """µs of CPU per action for the server's flow without sockets, and frames per action."""
    rng = random.Random(seed)
    root, fan, frames = new_root(), Fanout(), [0]

    def shuffled():
        deck = list(DECK)
        rng.shuffle(deck)
        return tuple(deck)

    ports = NS(journal=NS(append=lambda entry: None, when_durable=lambda then: then()),
               transport=NS(prepare=fan.prepare,
                            deliver=lambda out: frames.__setitem__(0, frames[0] + len(out))),
               timers=NS(schedule=lambda table_id, at: None))
    seated = []
    for k in range(tables):
        room = add_table(root, f"t{k}", TableConfig(seats=SEATS, small_blind=1, big_blind=2,
                                                   ante=0, min_buy_in=40, max_buy_in=STACK))
        conns = []
        for i in range(SEATS):
            player = add_player(root, f"p{k}-{i}")
            c = Conn(id=len(fan.conns) + 1, ws=None, sock=None, queue=deque())
            fan.add(c)
            fan.bind(c, player.id)
            fan.watch(c, room.id)
            commit(play.step(root, room, SitDown(i, player.id, STACK, player.name), 0.0), ports)
            conns.append(c)
        seated.append((room, conns))

    def frame(c, message: dict, now: float) -> None:
        commit(handlers.dispatch(root, fan, c, orjson.dumps(message).decode(), now), ports)

    def play_until(count: int, now: float) -> float:
        done = 0
        while done < count:
            for room, conns in seated:
                now += 0.001
                game = room.game
                if not game.hand_running:
                    for i, s in enumerate(game.seats):
                        if s.stack == 0:
                            frame(conns[i], {"type": "top_up", "table": room.id,
                                             "amount": STACK}, now)
                    room.next_hand_at = now
                    commit(play.tick(root, room, now, shuffled), ports)
                    continue
                legal = legal_actions(game)
                verb, amount = choose(legal, rng)
                message = {"type": "act", "table": room.id, "action": verb}
                if amount:
                    message["amount"] = amount
                frame(conns[legal.seat], message, now)
                done += 1
        return now

    now = play_until(2 * tables, 1_000.0)          # everyone dealt in once
    frames[0] = 0
    start = time.process_time()
    play_until(actions, now)
    return (time.process_time() - start) / actions * 1e6, frames[0] / actions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", type=int, default=50)
    ap.add_argument("--actions", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    rule = min(rules(a.actions, seed=r) for r in range(a.repeat))
    runs = [flow(a.tables, a.actions, seed=r) for r in range(a.repeat)]
    cost, per = min(runs)
    print(f"rules alone: {rule:.1f} µs CPU per action")
    print(f"table flow without sockets ({a.tables} tables of {SEATS}): {cost:.1f} µs CPU per "
          f"action = {cost / rule:.2f}x the rules ({per:.2f} frames per action, counted not sent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
