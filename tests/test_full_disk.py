"""A real full disk: images and the journal on a 400 KB tmpfs (needs root and mount(2);
skipped cleanly where the sandbox does not allow it).

Images fill it until writes fail with ENOSPC: the folder keeps only good images and
recovery loads the newest. The journal fills it: it fails cleanly (no line is ever
appended after a half-written one), and re-opens once there is room and an image.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import gevent
import pytest

from persistence import image, journal, restore, segments
from persistence import snapshot as snap
from test_snapshot import check, make_root


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k,mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def free_bytes(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@pytest.mark.parametrize("fork", [False, True], ids=["loop", "fork"])
def test_images_on_a_full_disk_leave_only_good_ones(small_disk, fork):
    s = snap.open_dir(str(small_disk / "snaps"), keep=3)
    s.fork, s.check = fork, check
    roots, written = {}, []
    n = 1
    while s.failures < 3:            # bigger and bigger roots until the disk is full
        root = make_root(n, seed=n)
        if snap.take(s, lambda: root):
            roots[s.last_ok_seq] = root
            written.append(s.last_ok_seq)
        else:
            assert "No space left on device" in s.last_error, s.last_error
        n += 2
    assert written and s.last_ok_seq == written[-1]
    on_disk = sorted(seq for seq, _ in image.list_images(s.directory))
    assert on_disk == written[-3:]                       # the newest good generations
    assert sorted(os.listdir(s.directory)) == [".lock"] + [image.image_name(q) for q in on_disk]
    for seq, path in image.list_images(s.directory):
        assert check(restore.decode_file(path, seq)[1]) == []
    snap.close_dir(s)
    s = snap.open_dir(str(small_disk / "snaps"), keep=3)
    loaded = restore.recover(s, check)
    assert loaded.seq == written[-1] and loaded.data == roots[written[-1]]
    snap.close_dir(s)


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_the_journal_fails_cleanly_on_a_full_disk_and_reopens(small_disk, policy):
    folder = str(small_disk / "journal")
    failures, told = [], []
    j = journal.open_journal(folder, policy, 1, on_failure=failures.append)
    n = 0
    with gevent.Timeout(60):
        while not failures:
            n += 1
            journal.append(j, {"n": n, "text": "x" * 1000})
            journal.when_durable(j, lambda n=n: told.append(n))
            if n % 20 == 0:
                gevent.sleep(0)          # let the group commit run
    assert isinstance(j.failed, OSError) and j.failed.errno == 28
    path = os.path.join(folder, segments.segment_name(1))
    size = os.path.getsize(path)
    for m in range(n + 1, n + 10):       # nothing is appended after the failure
        journal.append(j, {"n": m})
    gevent.sleep(0.01)
    assert os.path.getsize(path) == size and j.lost >= 9
    segment = segments.read_segment(path, 1)
    good = [e["n"] for e in segment.entries]
    assert good == list(range(1, len(good) + 1))       # whole, sound lines, in order
    assert segment.stopped is None or segment.stopped.startswith("torn last line")
    if policy == "always":
        assert told and told == good[:len(told)]         # only what is whole on disk
    # Room again (an operator freed some), and an image: the journal re-opens.
    os.unlink(path)
    assert free_bytes(folder) > 100_000
    journal.rotate(j, 2)
    journal.append(j, {"n": "after"})
    assert journal.image_written(j, 2)
    journal.sync(j)
    journal.close(j)
    assert [[e["n"] for e in s.entries] for s in segments.entries_after(folder, 2)] == [["after"]]
