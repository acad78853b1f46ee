"""A start never hangs (issue "faults that break the promise", item 3): from any folder a
crash can leave, the server either serves within a bounded time or exits with code 2
and says why, never a traceback.

The folders: copies of a live folder taken while bots play and images and journal
segments are being written (a copy is not atomic, so it holds torn writes too), the
folder of a ``kill -9``, and each of those damaged the ways a disk or an operator
damages one (a torn newest image or segment, a flipped byte, a lost file, a stray
temporary file, an empty file). Every start is bounded in time; a server that serves
must pass its own chip count.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from test_server_helpers import PYTHON, REPO, Server, get_json, metrics, start_server, wait_for

START_BOUND = 45.0       # seconds: serve or exit by then (a loaded 2-core machine)
FLAGS = ("--journal", "everysec", "--no-default-tables")


def copies_while_playing(tmp_path, count: int) -> list[str]:
    """``count`` copies of a live folder while bots play, then the folder of a kill -9."""
    snaps = str(tmp_path / "live")
    server = start_server(str(tmp_path), "--snapshot-dir", snaps, "--snapshot-every", "0.3",
                          "--hand-pause", "0.05", *FLAGS)
    bots = subprocess.Popen(
        [PYTHON, "-m", "client.bots", "--url", server.ws_url, "--bots", "6", "--tables", "1",
         "--duration", "120", "--think", "0.01", "--quiet", "--seed", "3"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folders = []
    try:
        wait_for(lambda: metrics(server).get("poker_hands_total", 0) >= 3, 60,
                 "the bots dealing")
        rng = random.Random(7)
        for i in range(count):
            hands = metrics(server)["poker_hands_total"]
            wait_for(lambda: metrics(server)["poker_hands_total"] > hands, 60, "another hand")
            time.sleep(rng.random() * 0.3)   # (a random instant to copy at, not a wait)
            folders.append(copy(snaps, str(tmp_path / f"copy{i}")))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        folders.append(copy(snaps, str(tmp_path / "killed")))
    finally:
        bots.kill()
        bots.wait(10)
        server.stop()
    return folders


def copy(src: str, dst: str) -> str:
    """Copy what is there now, file by file (files may come and go while copying)."""
    os.makedirs(dst, mode=0o700)
    for name in os.listdir(src):
        try:
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
        except (FileNotFoundError, IsADirectoryError):
            pass
    return dst


def damaged(folder: str, how: str, rng: random.Random) -> str:
    """A copy of ``folder`` damaged ``how``."""
    out = folder + "-" + how
    shutil.copytree(folder, out)
    names = sorted(os.listdir(out))
    images = [n for n in names if n.startswith("snapshot-")]
    segments = [n for n in names if n.startswith("journal-")]
    path = lambda n: os.path.join(out, n)  # noqa: E731
    if how == "torn-image" and images:
        size = os.path.getsize(path(images[-1]))
        os.truncate(path(images[-1]), rng.randrange(size))
    elif how == "torn-segment" and segments:
        size = os.path.getsize(path(segments[-1]))
        os.truncate(path(segments[-1]), rng.randrange(size) if size else 0)
    elif how == "flipped-segment" and segments:
        with open(path(segments[-1]), "r+b") as f:
            data = f.read()
            if data:
                at = rng.randrange(len(data))
                f.seek(at)
                f.write(bytes([data[at] ^ 0x04]))
    elif how == "no-newest-image" and images:
        os.unlink(path(images[-1]))
    elif how == "no-oldest-segment" and segments:
        os.unlink(path(segments[0]))
    elif how == "stray-temp":
        with open(path(".snapshot-000000000999-123.tmp"), "wb") as f:
            f.write(b'{"format":"pokerserver-snapshot","ver')
    elif how == "empty-image" and images:
        open(path(images[-1]), "wb").close()
    return out


DAMAGE = ("torn-image", "torn-segment", "flipped-segment", "no-newest-image",
          "no-oldest-segment", "stray-temp", "empty-image")


def start(folder: str, log_dir: str) -> tuple[str, str]:
    """Start a server on ``folder``; ``("served", log)`` or ``("exit <code>", log)``."""
    log_path = os.path.join(log_dir, os.path.basename(folder) + ".log")
    with open(log_path, "w") as out:
        proc = subprocess.Popen([PYTHON, "run_server.py", "--host", "127.0.0.1", "--port", "0",
                                 "--snapshot-dir", folder, *FLAGS],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_BOUND
    try:
        while time.monotonic() < deadline:
            log = open(log_path, errors="replace").read()
            if proc.poll() is not None:
                return f"exit {proc.returncode}", log
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", log)
            if m:
                try:
                    get_json(f"http://127.0.0.1:{m.group(1)}/healthz")
                except OSError:
                    pass
                else:
                    m_ = metrics(Server(proc, int(m.group(1)), log_path))
                    assert m_["poker_chips_total"] == m_["poker_chips_issued"], (folder, m_)
                    return "served", log
            time.sleep(0.1)        # (polling a process that is starting)
        return "hung", open(log_path, errors="replace").read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_a_start_from_any_crash_left_folder_serves_or_says_why(tmp_path):
    rng = random.Random(11)
    folders = copies_while_playing(tmp_path, 4)
    folders += [damaged(f, how, rng) for f in folders for how in DAMAGE]
    outcomes = {}
    with ThreadPoolExecutor(4) as pool:        # four starts at a time (each one bounded)
        results = list(pool.map(lambda f: start(f, str(tmp_path)), folders))
    for folder, (outcome, log) in zip(folders, results):
        outcomes[os.path.basename(folder)] = outcome
        assert outcome in ("served", "exit 2"), (folder, outcome, log[-3000:])
        assert "Traceback" not in log, (folder, log[-3000:])
        if outcome == "exit 2":
            assert re.search(r"^pokerserver: .+", log, re.M), (folder, log[-3000:])
    served = [f for f, o in outcomes.items() if o == "served"]
    assert "killed" in served and len(served) >= len(folders) // 2, outcomes
