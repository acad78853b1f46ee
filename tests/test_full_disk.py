"""A real full disk: images on a 400 KB tmpfs (needs root and mount(2); skipped cleanly
where the sandbox does not allow it).

Images fill it until writes fail with ENOSPC: the folder keeps only good images and
recovery loads the newest.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from persistence import image, restore
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
