"""Benchmark snapshots of a busy root: loop blocked, write + fsync, load + validate.

    .venv/bin/python bench/snapshot.py [--tables 100,1000,10000] [--repeat 5] [--dir DIR]

For each size it builds a root with ``server.root`` (``add_table``,
``add_player``) holding that many six-seat tables, each with a few finished
hands behind it and stopped in the middle of a hand, with the extras the
server keeps per table: the event history (``HISTORY`` events, full, as on a
server that has been up a while), the finished hands, the current hand's
starting state and actions, chat lines, recent pots, clocks. Players have
bankrolls and session tokens, and the chips add up (``check_root`` is empty).

Figures (the best of ``--repeat`` for CPU times, the median for write + fsync):

- **loop blocked**: ``orjson.dumps(root_to_json(root))``, the part that runs
  on the loop, with nothing changed since the previous image and with every
  table changed by one action (the worst case for a per-table cache);
- **write + fsync**: the image's own check (parse back, ``check_root``), checksum,
  write, fsync, rename, fsync of the folder, in the calling thread (in the server it
  runs in gevent's thread pool);
- **load + validate**: read, checksum, parse, ``check_root`` and
  ``root_from_json`` -- what a start with ``--snapshot-dir`` does, in a fresh
  process as a start is;
- **journal rotate**: the loop's part of ``journal.rotate`` at an image (the old
  segment's and the folder's fsyncs run in the thread pool), over 40 rotations.

Loop-side figures and the load are CPU time of the process (``time.process_time``):
on a shared machine wall time mostly measures the neighbours. Write + fsync is wall time.

``--dir`` should be on the disk the server will use (default: a temporary
folder under the current directory, so fsync is real and not tmpfs).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402

from game.cards import DECK  # noqa: E402
from game.table import (ACTION_TYPES, StartHand, SitDown, action_to_json, apply,  # noqa: E402
                        legal_actions, table_to_json)
from persistence import restore  # noqa: E402
from persistence import snapshot as snap  # noqa: E402
from persistence import layout as L  # noqa: E402
from server import play  # noqa: E402
from server import root as R  # noqa: E402
from server.effects import Effects  # noqa: E402
from server.fanout import Fanout  # noqa: E402

CONFIG = R.TableConfig(seats=6, small_blind=1, big_blind=2, ante=0, min_buy_in=40,
                       max_buy_in=200)


HISTORY = 512               # events a server keeps per table (--history)
# The transport, with nobody connected: it keeps every table's events as the server
# does (its memory is part of what a fork copies), and sends them to nobody.
FAN = Fanout(HISTORY)


def _act(room: R.Room, action, now: float) -> None:
    """Apply one action as a server handler would: state, events, journal of the hand."""
    room.game, events = apply(room.game, action)
    room.hand_actions.append(action_to_json(action))
    fx = Effects()
    play.publish(room, events, fx)      # versioned and kept as the server keeps them
    FAN.prepare(fx)
    if not room.game.hand_running and room.hand_start is not None:
        room.finished.append(R.pack_hand({
            "number": room.game.hand_number, "start": room.hand_start,
            "actions": room.hand_actions, "names": dict(room.hand_names), "ended": now}))
        room.recent_pots.append(sum(e.amount for e in events if e.type == "award"))
        room.hands_played += 1
        room.hand_start, room.hand_actions = None, []


def _random_action(rng: random.Random, game):
    legal = legal_actions(game)
    verb = rng.choices(legal.actions, weights=[
        {"fold": 3, "check": 4, "call": 4, "bet": 2, "raise": 1, "all_in": 0.3,
         "show": 1, "muck": 1}[a] for a in legal.actions])[0]
    cls = ACTION_TYPES[verb]
    if verb in ("bet", "raise"):
        return cls(legal.seat, rng.randint(legal.min_to, max(legal.min_to, legal.max_to // 3)))
    return cls(legal.seat)


def _start(room: R.Room, rng: random.Random, now: float) -> None:
    deck = list(DECK)
    rng.shuffle(deck)
    room.hand_start = table_to_json(room.game)
    room.hand_actions = []
    room.hand_names = {s.player: s.player.upper() for s in room.game.seats if s}
    _act(room, StartHand(tuple(deck)), now)


def busy_root(n_tables: int, seed: int = 1, history: int = HISTORY) -> R.Root:
    """``n_tables`` six-seat tables mid-hand with ``history`` events behind them; chips add up."""
    rng = random.Random(seed)
    root = R.new_root()
    now = time.time()
    for _ in range(n_tables):
        room = R.add_table(root, "Six-max 1/2", CONFIG)
        for seat in range(6):
            p = R.add_player(root, f"bot{root.next_player}")
            buy_in = rng.randint(CONFIG.min_buy_in, CONFIG.max_buy_in)
            p.bankroll -= buy_in
            p.seats[room.id] = seat
            _act(room, SitDown(seat, p.id, buy_in, p.name), now)
        room.chat.extend({"player": "p1", "name": "bot1", "text": "nice hand " * rng.randint(1, 5)}
                         for _ in range(R.CHAT_LINES))
        # Enough finished hands to fill the event history, then stop mid-hand.
        while len(FAN.history(room.id)) < history or not room.game.hand_running:
            if not room.game.hand_running:
                if sum(1 for s in room.game.seats if s and s.stack) < 2:
                    break
                _start(room, rng, now)
                if len(FAN.history(room.id)) >= history:
                    break
            else:
                _act(room, _random_action(rng, room.game), now)
        for _ in range(rng.randint(0, 6)):
            if room.game.hand_running and legal_actions(room.game) is not None:
                _act(room, _random_action(rng, room.game), now)
        legal = legal_actions(room.game)
        if legal is not None:
            room.clock.seat, room.clock.hand = legal.seat, room.game.hand_number
            room.clock.deadline = now + 15.0
        room.clock.bank = [30.0] * 6
        room.clock.expiries = [0] * 6
        room.sat_out_since = [None] * 6
    return root


def one_action_everywhere(root: R.Root, rng: random.Random) -> None:
    """Every table changes by one action (a new hand where one has ended)."""
    now = time.time()
    for room in root.tables.values():
        if room.game.hand_running and legal_actions(room.game) is not None:
            _act(room, _random_action(rng, room.game), now)
        elif not room.game.hand_running and sum(1 for s in room.game.seats if s and s.stack) >= 2:
            _start(room, rng, now)


def check_image(root: R.Root) -> None:
    """The server's image encoder writes exactly what root_to_json describes."""
    frags = snap.Fragments()
    for _ in range(2):
        got = orjson.loads(orjson.dumps(L.root_image(root, frags)))
        got["lazy"] = L.lazy_image(root)
        got = L.with_lazy(got)
        if got != L.root_to_json(root):
            raise SystemExit("bench/snapshot.py: root_image and lazy_image no longer match "
                             "root_to_json")
        snap.turn_over(frags)
    assert L.root_to_json(L.root_from_json(got)) == got
    # From a snapshot: the hands stay raw until used, and are written back as they were.
    data = orjson.loads(orjson.dumps(L.root_image(root)))
    data["lazy"] = L.lazy_image(root)
    recovered = L.root_from_json(data)
    assert L.lazy_image(recovered) == data["lazy"]
    assert L.root_to_json(recovered) == L.root_to_json(root)


def timed(fn, repeat: int, clock=time.perf_counter):
    """Best and median of ``repeat`` calls on ``clock``, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = clock()
        result = fn()
        times.append(clock() - start)
    return min(times), statistics.median(times), result


# On a shared machine wall time mostly measures the neighbours: the loop-side
# figures are the process's CPU time (on a dedicated core, what the loop loses).
CPU = time.process_time

VARIANTS = {   # in the order measured: the fork first, before the others leave garbage behind
    "fork": "what the server does (--snapshot-fork 1): the loop only forks; the child "
            "serialises root_image and lazy_image and writes the image (loop blocked: wall "
            "time of the fork, which grows with the process's memory, not with what changed)",
    "root_image": "the same image serialised on the loop (--snapshot-fork 0): game tables and "
                  "clocks written by orjson itself, hand starts and finished hands cached as "
                  "fragments",
    "root_to_json": "plain root_to_json in the body (version 1's layout): Python builds every "
                    "dict of every table, on the loop",
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def measure(n_tables: int, repeat: int, directory: str, variants, history: int) -> list[dict]:
    t0 = time.perf_counter()
    root = busy_root(n_tables, history=history)
    build = time.perf_counter() - t0
    gc.collect()
    rows = []
    if "fork" in variants:
        # First, while the process holds the root and little else: a fork costs in
        # proportion to the memory mapped, and the checks below leave garbage behind.
        rows.append(measure_fork(root, n_tables, repeat, directory, build))
        print(f"  {n_tables} tables, fork: done", file=sys.stderr)
    problems = L.check_root(root, replay=True)
    assert not problems, problems[:3]
    check_image(root)
    for variant in variants:
        if variant == "fork":
            continue
        frags = snap.Fragments()

        def dump():
            # What snapshot.take does on the loop (GC off, fragments turned over).
            gc.disable()
            try:
                if variant == "root_to_json":   # the whole root in the body (version 1's way)
                    return orjson.dumps(L.root_to_json(root)), None
                # As run_server.py: the kept hands are joined by the writer's thread.
                return (orjson.dumps(L.root_image(root, frags)),
                        partial(L.join_lazy, L.lazy_parts(root)))
            finally:
                gc.enable()
                snap.turn_over(frags)

        dump()  # a previous image: warms the fragment cache
        idle_best, idle_median, body = timed(dump, repeat, CPU)
        rng = random.Random(2)
        changed = []
        for _ in range(repeat):
            one_action_everywhere(root, rng)
            start = CPU()
            body = dump()
            changed.append(CPU() - start)
        assert not L.check_root(root)

        seq = [0]

        def write():
            seq[0] += 1
            result = snap.write_snapshot(directory, seq[0], time.time(), body[0], keep=1,
                                         lazy=body[1], check=L.check_root)
            assert "error" not in result, result
            return result

        write_best, write_median, written = timed(write, max(1, min(repeat, 3)))
        size = written["bytes"]
        del body, frags, dump, write   # the next variant's process should not carry them
        gc.collect()
        rss = rss_mb()
        load_best, load_median = measure_load(directory, n_tables, repeat)
        floor = None
        rows.append({"tables": n_tables, "variant": variant, "bytes": size, "floor": floor,
                     "rss_mb": rss,
                     "build_s": build, "idle_best": idle_best, "idle_median": idle_median,
                     "changed_best": min(changed), "changed_median": statistics.median(changed),
                     "write_best": write_best, "write_median": write_median,
                     "load_best": load_best, "load_median": load_median})
        print(f"  {n_tables} tables, {variant}: done", file=sys.stderr)
    return rows


def measure_load(directory: str, n_tables: int, repeat: int) -> tuple[float, float]:
    """Read, checksum, parse, check_root and root_from_json the image in ``directory``,
    in a fresh process each time (``--load``): what a start does. (In this process the
    bench's own heap, the root it built, would weigh on the allocator.)"""
    times = []
    for _ in range(max(1, min(repeat, 3))):
        out = subprocess.run([sys.executable, __file__, "--load", directory], check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out.splitlines()[-1])
        assert result["tables"] == n_tables, result
        times.append(result["cpu_s"])
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    return min(times), statistics.median(times)


def load_once(directory: str) -> None:
    """``--load DIR``: recover the image in ``DIR`` as a start does; print the CPU time as JSON."""
    start = CPU()
    s = snap.open_dir(directory, keep=1)
    try:
        loaded = restore.recover(s, L.check_root, L.root_from_json)
    finally:
        snap.close_dir(s)
    cpu = CPU() - start
    assert isinstance(loaded.data, R.Root)
    print(json.dumps({"tables": len(loaded.data.tables), "cpu_s": cpu}))


def measure_fork(root: R.Root, n_tables: int, repeat: int, directory: str, build: float) -> dict:
    """What the server does: ``snapshot.take`` with ``fork=True`` (the loop blocks for the fork;
    the child serialises and writes). Wall times: the fork is system time in the kernel."""
    rss = rss_mb()   # what the fork copies the page tables of
    snaps = snap.open_dir(directory, keep=1)
    snaps.fork = True
    snaps.check = L.check_root   # as run_server.py: the child checks the image before writing

    def dump():   # what run_server.py gives snapshot.take
        return snap.Image(L.root_image(root), partial(L.join_lazy, L.lazy_parts(root)))

    checks = []

    def one() -> tuple[float, float, float]:
        assert snap.take(snaps, dump), snaps.last_error
        checks.append(snaps.last_check_s)
        return snaps.last_blocked_s, snaps.last_write_s, snaps.last_serialise_s

    one()
    idle = [one() for _ in range(repeat)]
    rng = random.Random(2)
    changed = []
    for _ in range(repeat):
        one_action_everywhere(root, rng)
        changed.append(one())
    assert not L.check_root(root)
    size = snaps.last_bytes
    snap.close_dir(snaps)
    load_best, load_median = measure_load(directory, n_tables, repeat)
    writes = [w for _, w, _ in idle + changed]
    return {"tables": n_tables, "variant": "fork", "bytes": size, "floor": None,
            "rss_mb": rss, "build_s": build,
            "idle_best": min(b for b, _, _ in idle),
            "idle_median": statistics.median(b for b, _, _ in idle),
            "changed_best": min(b for b, _, _ in changed),
            "changed_median": statistics.median(b for b, _, _ in changed),
            "changed_max": max(b for b, _, _ in changed),
            "serialise_median": statistics.median(s for _, _, s in idle + changed),
            "check_median": statistics.median(checks),
            "write_best": min(writes), "write_median": statistics.median(writes),
            "load_best": load_best, "load_median": load_median}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="100,1000,10000")  # about 5 minutes
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--full-max", type=int, default=1000,
                        help="above this many tables only root_image is measured, on "
                             "tables played for at most 64 events (memory)")
    parser.add_argument("--history", type=int, default=HISTORY,
                        help="events played per table before measuring (default: a full "
                             "history); images do not hold the history")
    parser.add_argument("--dir", default=None, help="folder for the images (default: ./.bench-*)")
    parser.add_argument("--load", metavar="DIR", help=argparse.SUPPRESS)   # see measure_load
    args = parser.parse_args()
    if args.load:
        load_once(args.load)
        return
    sizes = [int(x) for x in args.tables.split(",")]
    variants = args.variants.split(",")
    print(f"python {sys.version.split()[0]}, orjson {orjson.__version__}, "
          f"{os.cpu_count()} CPUs; tables played for {args.history} events (history keeps "
          f"{HISTORY}), up to {R.FINISHED_HANDS} finished hands kept per table")
    rows = []
    skipped = []
    for n in sizes:
        directory = args.dir or tempfile.mkdtemp(prefix=".bench-snapshots-", dir=".")
        todo, history = variants, args.history
        if n > args.full_max:
            # The full images need the whole history in memory (10,000 tables: > 13 GB).
            todo = [v for v in variants if v in ("root_image", "fork")]
            history = min(history, 64)
            skipped += [(n, v) for v in variants if v not in todo]
        try:
            gc.collect()
            rows += measure(n, args.repeat, directory, todo, history)
        finally:
            if args.dir is None:
                shutil.rmtree(directory, ignore_errors=True)
    print()
    for v in variants:
        print(f"- `{v}`: {VARIANTS[v]}")
    print()
    print("| tables | image | image MB | process RSS MB | loop blocked, nothing changed "
          "| loop blocked, every table changed | same, per 1,000 tables | write + fsync "
          "| load + validate |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        write = f"{r['write_median'] * 1e3:.0f} ms"
        if r["variant"] == "fork":
            write += (f" (child: serialise {r['serialise_median'] * 1e3:.0f} ms + check "
                      f"{r['check_median'] * 1e3:.0f} ms + write)")
        print(f"| {r['tables']:,} | {r['variant']} | {r['bytes'] / 1e6:.1f} "
              f"| {r['rss_mb']:,.0f} "
              f"| {r['idle_best'] * 1e3:.1f} ms "
              f"| {r['changed_best'] * 1e3:.1f} ms "
              f"| {r['changed_best'] * 1e3 / r['tables'] * 1000:.1f} ms "
              f"| {write} "
              f"| {r['load_best'] * 1e3:.0f} ms |")
    for n, v in skipped:
        print(f"| {n:,} | {v} | skipped: above --full-max {args.full_max} tables | | | | | |")
    print()
    for r in rows:
        if r["floor"] is not None:
            print(f"floor, {r['tables']:,} tables: joining per-table JSON kept current as tables "
                  f"change: {r['floor'] * 1e3:.1f} ms ({r['floor'] * 1e6 / r['tables']:.1f} ms "
                  "per 1,000 tables)")
    print(f"loop blocked and load: best of {args.repeat} (load: of up to 3), CPU time of the "
          "process, except fork: wall time of the fork (kernel time, best of "
          f"{args.repeat}); write + fsync: median wall time")
    for r in rows:
        if r["variant"] == "fork":
            print(f"fork, {r['tables']:,} tables: loop blocked median "
                  f"{r['changed_median'] * 1e3:.1f} ms, worst {r['changed_max'] * 1e3:.1f} ms "
                  f"({r['rss_mb'] / 1e3:.2f} GB resident)")
    print("targets: loop blocked <= 5 ms per 1,000 tables; 10,000 tables loaded in < 1 s")
    directory = args.dir or tempfile.mkdtemp(prefix=".bench-journal-", dir=".")
    try:
        print(measure_rotate(directory))
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)


def measure_rotate(directory: str, rotations: int = 40) -> str:
    """The loop's part of ``journal.rotate`` (``--journal always``, a turn's lines pending):
    write them, create the next segment with its header; the fsyncs run in the thread pool."""
    import gevent

    from persistence import journal
    j = journal.open_journal(os.path.join(directory, "journal"), "always", 1)
    times = []
    for seq in range(2, rotations + 2):
        for n in range(20):
            journal.append(j, {"k": "act", "t": "t1", "a": {"type": "call", "seat": n % 6},
                               "at": time.time()})
        start = time.perf_counter()
        journal.rotate(j, seq)
        times.append(time.perf_counter() - start)
        while j.syncing or j.scheduled:     # the fsyncs, off the loop
            gevent.sleep(0.001)
    journal.close(j)
    return (f"journal rotate (--journal always, 20 lines pending), loop part: median "
            f"{statistics.median(times) * 1e3:.2f} ms, worst {max(times) * 1e3:.2f} ms "
            f"over {rotations} rotations (fsyncs in the thread pool)")


if __name__ == "__main__":
    main()
