"""Start the poker server: ``python run_server.py [--host 127.0.0.1] [--port 8080] ...``.

Every flag can also come from the environment: ``--turn-seconds`` is
``POKER_TURN_SECONDS``, ``--port`` is ``POKER_PORT``, and so on. A fresh
server opens with a few tables ready. See ``docs/server.md``.
"""

import gevent
from gevent import monkey

# gevent keeps, for every greenlet, the stack that spawned it and its parent (a
# debugging aid): about a dozen tracked objects and a few KiB per connection,
# which every garbage collection walks (docs/benchmarks.md, idle connections).
gevent.config.track_greenlet_tree = False
monkey.patch_all()

import logging  # noqa: E402 - after patch_all, as gevent asks
import os  # noqa: E402
import sys  # noqa: E402
from functools import partial  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from persistence import image, journal, segments  # noqa: E402
from server import app, config, play, recovery  # noqa: E402
from server.root import Root, TableConfig, add_table, new_root  # noqa: E402

DEFAULT_TABLES = [
    ("Six-max 1/2", TableConfig(seats=6, small_blind=1, big_blind=2, ante=0,
                                min_buy_in=40, max_buy_in=200)),
    ("Heads-up 1/2", TableConfig(seats=2, small_blind=1, big_blind=2, ante=0,
                                 min_buy_in=40, max_buy_in=200)),
    ("Nine-max 5/10", TableConfig(seats=9, small_blind=5, big_blind=10, ante=0,
                                  min_buy_in=200, max_buy_in=1000)),
]


def parse_args(argv=None) -> config.Settings:
    """The settings from the command line and the environment (see ``server.config``)."""
    return config.parse_args(argv)


def open_snapshots(args: config.Settings) -> Root:
    """Recover the root from ``args.snapshot_dir`` (a fresh one if it holds no image) and
    start writing snapshots: periodically, a final one on stop, figures in /metrics.
    Exits with a message when images exist but none is valid. See docs/snapshots.md."""
    import gevent

    from persistence import restore, snapshot
    from persistence.layout import check_root, join_lazy, lazy_parts, root_from_json, root_image

    try:
        snaps = snapshot.open_dir(args.snapshot_dir, keep=args.snapshot_keep)
        loaded = restore.recover(snaps, check_root, root_from_json,
                                 allow_empty=args.snapshot_allow_empty)
    except (restore.RecoveryError, snapshot.FolderInUse, OSError, ValueError) as e:
        print(f"pokerserver: {e}", file=sys.stderr)
        sys.exit(2)
    snaps.fork = bool(args.snapshot_fork) and hasattr(os, "fork")
    snaps.check = check_root     # an image that fails it is never written
    root = loaded.data if loaded is not None else _fill(new_root(), args)
    if root.shard != args.shard:
        print(f"pokerserver: the snapshots in {args.snapshot_dir} are shard {root.shard}'s, "
              f"not shard {args.shard}'s", file=sys.stderr)
        sys.exit(2)
    recovered, after = loaded is not None, None
    if args.journal:
        applied, after = replay_journal(root, snaps, loaded)
        recovered |= applied
    if recovered:
        # Clients may hold versions the crash lost: make them all resync.
        recovery.fresh_versions(root)
        play.restart_clocks(root, app.now())

    # A forked child starts with no cache worth keeping: fragments only serve the loop.
    fragments = None if snaps.fork else snaps.fragments

    def dump():   # root_to_json(root), cheaper, with the finished hands apart
        # The kept hands are decompressed and joined off the loop (lazy_parts).
        return snapshot.Image(root_image(root, fragments), partial(join_lazy, lazy_parts(root)))

    if args.journal:
        start_journal(args, snaps, dump, after)
    gevent.spawn(snapshot.run_every, snaps, dump, args.snapshot_every)
    app.runtime.shutdown_hooks.append(lambda: snapshot.final(snaps, dump))
    if args.journal:
        app.runtime.shutdown_hooks.append(lambda: journal.close(JOURNAL))
        app.runtime.metrics_hooks.append(lambda: journal.metrics_lines(JOURNAL))
    app.runtime.metrics_hooks.append(lambda: snapshot.metrics_lines(snaps))
    app.runtime.health_hooks.append(lambda: snapshot.health(snaps))
    return root


# The open journal (--journal), once the first image is written.
JOURNAL: journal.Journal | None = None


def journal_port(j: journal.Journal):
    """The journal as :func:`server.effects.commit` uses it."""
    return SimpleNamespace(append=partial(journal.append, j),
                           when_durable=partial(journal.when_durable, j))


def replay_journal(root: Root, snaps, loaded) -> tuple[bool, tuple[int, int] | None]:
    """Re-apply the journal written after the loaded image. Returns whether anything was
    applied, and where the replay left off (``(segment, bytes)``: the journal's next
    segment names it as the one it continues; None: it starts a new chain). Without a
    loaded image the journal follows an image that is gone (or the folder was new):
    nothing to apply on an empty root.
    """
    args_dir = snaps.directory
    found = segments.list_segments(args_dir)
    if found:
        # Image numbers must pass every segment, so a new image never shares
        # a number with a segment that holds entries from before it.
        snaps.seq = max(snaps.seq, found[-1][0])
    if loaded is None:
        if found:
            print(f"pokerserver: ignoring {len(found)} journal segment(s) in {args_dir}: "
                  "no snapshot image to apply them to", file=sys.stderr)
        return False, None
    chain = segments.entries_after(args_dir, loaded.seq)
    applied, notes = recovery.replay(root, chain)
    for note in notes:
        print(f"pokerserver: journal: {note}", file=sys.stderr)
    end = segments.chain_end(chain, applied)
    left = segments.left_over(args_dir, loaded.seq, end)
    if left:
        # Whole entries that were journaled (and maybe acknowledged) but cannot be
        # applied: starting would lose them for good once the segments are pruned.
        lines = sum(n for _, n in left)
        what = ", ".join(f"{os.path.basename(p)} ({n})" for p, n in left)
        if not config.settings.journal_set_aside:
            print(f"pokerserver: refusing to start: {lines} journal entries cannot be applied "
                  f"on image {loaded.seq} ({what}); see the notes above. Keep a copy of "
                  f"{args_dir}, then start with --journal-set-aside to move those segments "
                  "to aside/ and go on without them", file=sys.stderr)
            sys.exit(2)
        set_aside(args_dir, [p for p, _ in left])
        print(f"pokerserver: journal: {lines} entries that cannot be applied set aside in "
              f"{os.path.join(args_dir, 'aside')}: {what}", file=sys.stderr)
    print(f"pokerserver: recovered snapshot {loaded.seq} + {applied} journal entries",
          file=sys.stderr)
    return applied > 0, end


def set_aside(directory: str, paths: list[str]) -> None:
    """Move journal segments into ``directory/aside`` (never deleted: an operator may want
    them), durably."""
    aside = os.path.join(directory, "aside")
    os.makedirs(aside, mode=0o700, exist_ok=True)
    for path in paths:
        os.replace(path, os.path.join(aside, os.path.basename(path)))
    for folder in (aside, directory):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def start_journal(args: config.Settings, snaps, dump, after: tuple[int, int] | None) -> None:
    """Take an image of the recovered root now and open the journal in the same loop turn.

    Each later image starts a new segment (``on_serialised``) and old segments
    go with the old images (``on_written``). A failed journal write or fsync
    pauses play (``app.pause``: changes refused, clocks stopped, reads served)
    and holds every acknowledgement (``always``); the pause retries
    ``save_again`` until an image is durable: the journal re-opens in that
    image's loop turn, the held messages go out, and play resumes.
    """
    import gevent

    from persistence import snapshot

    def save_again() -> bool:
        """While paused: an image now; True once it is durable and the journal healthy."""
        return (snapshot.take(snaps, dump) and JOURNAL is not None
                and journal.image_written(JOURNAL, snaps.last_ok_seq))

    def on_failure(error):
        app.pause(f"the journal cannot write to {snaps.directory} ({error}); "
                  "play resumes once an image is written")

    app.runtime.resume_hook = save_again

    def on_serialised(seq):
        global JOURNAL
        if JOURNAL is None:
            JOURNAL = journal.open_journal(snaps.directory, args.journal, seq,
                                           on_failure=on_failure, after=after,
                                           guard=partial(snapshot.lock_held, snaps))
            app.ports.journal = journal_port(JOURNAL)
        else:
            journal.rotate(JOURNAL, seq)   # (re-opens a failed journal)

    def on_written(seq):
        if JOURNAL is not None:
            journal.image_written(JOURNAL, seq)
        images = image.list_images(snaps.directory)
        if images:
            journal.prune(snaps.directory, min(s for s, _ in images))

    snaps.on_serialised = on_serialised
    snaps.on_written = on_written
    if not snapshot.take(snaps, dump) and JOURNAL is None:
        print(f"pokerserver: cannot start the journal: {snaps.last_error}", file=sys.stderr)
        sys.exit(2)
    if args.journal == "everysec":
        gevent.spawn(journal.run_everysec, JOURNAL)


def join_cluster(root: Root, args: config.Settings) -> None:
    """A shard: connect to the cluster's Redis, and send again the transfers a crash left
    pending (docs/scaling.md)."""
    from server import cluster

    try:
        cluster.start(args.redis)
    except Exception as e:  # noqa: BLE001 - any failure to reach Redis: say it, exit
        print(f"pokerserver: cannot reach the cluster's Redis at {args.redis}: {e}",
              file=sys.stderr)
        sys.exit(2)
    app.run(cluster.resume(root))


def _fill(root: Root, args: config.Settings) -> Root:
    """A fresh root gets the default tables (unless --no-default-tables); a cluster's
    shard numbers its tables after itself."""
    root.shard = args.shard
    if not args.no_default_tables:
        for name, cfg in DEFAULT_TABLES:
            add_table(root, name, cfg)
    return root


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config.configure(args)
    if args.journal and (args.journal not in ("always", "everysec", "no")
                         or not args.snapshot_dir):
        print("pokerserver: --journal needs --snapshot-dir and one of always, everysec, no",
              file=sys.stderr)
        return 2
    if bool(args.shard) != bool(args.redis) or (args.shard and args.journal != "always"):
        print("pokerserver: a cluster's shard needs --shard N (1 and up), --redis URL, "
              "--snapshot-dir and --journal always (docs/scaling.md)", file=sys.stderr)
        return 2
    if args.snapshot_dir:
        root = open_snapshots(args)
    else:
        root = _fill(new_root(), args)
    server = app.serve(root, args.host, args.port, access_log=args.access_log)
    if args.shard:
        join_cluster(root, args)
    server.start()
    host, port = server.address[:2]
    app.restart_house_bots(host, port)
    print(f"pokerserver listening on http://{host}:{port}/ (WebSocket ws://{host}:{port}/ws)",
          flush=True)
    server.serve_forever()
    print("pokerserver stopped", flush=True)
    return app.runtime.exit_code


if __name__ == "__main__":
    sys.exit(main())
