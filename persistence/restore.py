"""Recovery at start: load the newest snapshot image that is sound, falling back to older ones.

An image is passed over (and the reason logged) when it does not decode
(:func:`persistence.image.decode`: truncated, a flipped byte, a foreign file),
when the server's invariant check finds a problem, or when the server cannot
rebuild its root from it. ``docs/snapshots.md`` describes the steps.
"""

from __future__ import annotations

import gc
import logging
import mmap
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from persistence.image import BadImage, check_problems, decode, list_images, seq_of

log = logging.getLogger("persistence.restore")


class RecoveryError(RuntimeError):
    """Images exist but none is usable: the server must not start (the message says why)."""


@dataclass
class Loaded:
    """The image recovery chose, and why any newer ones were passed over."""

    seq: int
    path: str
    header: dict
    data: Any
    rejected: list[tuple[str, str]]   # (file name, reason), newest first


def decode_file(path: str, seq: int) -> tuple[dict, Any]:
    """:func:`~persistence.image.decode` of the file at ``path``, read through ``mmap``:
    the page cache's pages are checked and parsed where they are, not first copied
    (92 MB for 10,000 tables: a copy and some 20,000 page faults of a start)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return decode(b"", expect_seq=seq)
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return decode(mapped, expect_seq=seq)
    finally:
        try:
            mapped.close()
        except BufferError:   # a view still held by an exception's traceback: freed with it
            pass


def load_newest(directory: str, check: Callable[[Any], list[str]] | None = None,
                convert: Callable[[Any], Any] | None = None) -> tuple[Loaded | None, list]:
    """The newest image that decodes, matches its checksum and passes ``check``.

    ``check(data)`` returns a list of invariant problems (empty when sound);
    ``convert(data)`` (e.g. ``root_from_json``) is applied too, and an image
    it raises on is rejected like any other. Returns ``(loaded or None,
    rejected)`` where ``rejected`` lists ``(name, reason)`` of images passed over.
    """
    rejected: list[tuple[str, str]] = []
    for seq, path in list_images(directory):
        name = os.path.basename(path)
        try:
            header, data = decode_file(path, seq)
            if check is not None:
                problem = check_problems(check, data)
                if problem:
                    raise BadImage(problem)
            if convert is not None:
                try:
                    data = convert(data)
                except Exception as e:  # noqa: BLE001 - any failure to rebuild rejects it
                    raise BadImage(f"cannot rebuild the root: {e!r}") from None
        except (BadImage, OSError) as e:
            log.warning("snapshot: skipping %s: %s", name, e)
            rejected.append((name, str(e)))
            continue
        return Loaded(seq, path, header, data, rejected), rejected
    return None, rejected


def recover(snaps, check: Callable[[Any], list[str]] | None = None,
            convert: Callable[[Any], Any] | None = None, allow_empty: bool = False) -> Loaded | None:
    """Load the newest good image of an opened folder (a :class:`persistence.snapshot.Snapshots`),
    falling back to older generations.

    Returns ``None`` when there is nothing to load (no images, or none valid
    and ``allow_empty``): the server starts empty. Raises
    :class:`RecoveryError` when images exist but none is valid. The images
    passed over are remembered (``snaps.bad``): they never count as one of the
    generations kept, so pruning never deletes a good image for them.
    """
    start = time.perf_counter()
    was_enabled = gc.isenabled()
    gc.disable()  # building a big root trips the cyclic GC over and over; nothing cycles here
    try:
        loaded, rejected = load_newest(snaps.directory, check, convert)
        # Every object made while the collector was off is still in its youngest
        # generation: the first allocation after gc.enable() would scan them all
        # (half a second for 10,000 tables), and every full collection after that
        # again. The recovered root lives as long as the server, so move what is
        # alive now out of the collector's sight (freed by reference counts as usual;
        # it also spares a forked snapshot child from copying those pages).
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    snaps.bad |= {seq_of(name) for name, _ in rejected} - {None}
    if loaded is None:
        if not rejected:
            log.info("snapshot: no image in %s: starting empty", snaps.directory)
            return None
        reasons = "\n".join(f"  {name}: {why}" for name, why in rejected)
        if allow_empty:
            log.error("snapshot: no valid image in %s; starting EMPTY as "
                      "--snapshot-allow-empty says:\n%s", snaps.directory, reasons)
            return None
        raise RecoveryError(
            f"refusing to start: {len(rejected)} snapshot image(s) in {snaps.directory} "
            f"but none is valid:\n{reasons}\n"
            "Inspect or move them away, or pass --snapshot-allow-empty to start with an empty "
            "server (the images stay on disk; new ones get higher sequence numbers).")
    if rejected:
        log.warning("snapshot: fell back to %s (seq %d); newer image(s) rejected: %s",
                    os.path.basename(loaded.path), loaded.seq,
                    "; ".join(f"{n}: {w}" for n, w in rejected))
    log.info("snapshot: recovered %s (seq %d, taken %s) in %.0f ms",
             os.path.basename(loaded.path), loaded.seq, loaded.header.get("utc"),
             (time.perf_counter() - start) * 1e3)
    snaps.seq = max(snaps.seq, loaded.seq)
    snaps.last_ok_seq = loaded.seq
    snaps.last_ok_time = loaded.header.get("time")
    return loaded
