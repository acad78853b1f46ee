"""The few file calls the image writer and the journal share.

``close`` is the operating system's own ``close``, even in a monkey-patched
process: gevent's patched ``os.close`` defers closing anything that is not a
regular file (a pipe, a folder) to a later turn of the loop, so a pipe's
reader may never see end-of-file if nothing else wakes the loop, and in a
forked snapshot child (whose loop never runs) it would touch gevent's loop.

Everything else goes through ``os.`` at the call, so that tests can inject a
failure at the real call (``os.write``, ``os.fsync``, ``os.replace``...).
"""

from __future__ import annotations

import errno
import os

try:   # the system's own close, whoever has patched os.close (gevent does, in patch_all)
    from posix import close
except ImportError:  # pragma: no cover - not POSIX
    from gevent import monkey
    close = monkey.get_original("os", "close")


def fsync_dir(directory: str) -> None:
    """Make the folder's entries (a new name, a rename, a removal) durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        close(fd)


def write_all(fd: int, data: bytes) -> int:
    """Write every byte of ``data`` (completing short writes); return how many.

    On an error the exception is raised and some prefix of ``data`` may be in
    the file: the caller must not append to that file again.
    """
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover - os.write raises rather than returning 0
            raise OSError(errno.EIO, "short write")
        view = view[n:]
    return len(data)


def same_file(fd: int, path: str, what: str) -> None:
    """Raise ``OSError`` (ESTALE) unless ``path`` names the file open as ``fd``: a file
    replaced or removed under the server takes writes that no start would read."""
    mine = os.fstat(fd)
    try:
        there = os.stat(path)
    except FileNotFoundError:
        there = None
    if there is None or (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino):
        raise OSError(errno.ESTALE, f"the {what} {path} was "
                      f"{'removed' if there is None else 'replaced'} under the server")
