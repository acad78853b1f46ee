"""One name rule: the browser's (client/static/names.js, run under Node) and the server's
(``server.protocol.player_name``) agree on every assigned code point, in a name and
around one (what trimming takes off), and on the normalised name they keep."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata

import pytest

from server.protocol import ProtocolError, player_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = shutil.which("node") or "/usr/bin/node"


def server_verdict(name: str):
    try:
        return player_name(name)
    except ProtocolError:
        return None


def browser_verdicts(names: list[str]) -> list:
    if not os.path.exists(NODE):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is needed to run client/static/names.js")
        pytest.skip("node is not installed")
    done = subprocess.run([NODE, os.path.join(ROOT, "tests", "js", "check_names.mjs")],
                          input=json.dumps({"names": names}), capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_browser_and_the_server_keep_and_refuse_the_same_names():
    # Every code point both Unicode versions know (Python's database may be older than
    # Node's: a letter new to Node is unassigned to Python), inside a name and around one.
    chars = [chr(cp) for cp in range(sys.maxunicode + 1)
             if unicodedata.category(chr(cp)) not in ("Cn", "Cs")]
    names = [f"a{c}b" for c in chars] + [f"{c}ann{c}" for c in chars] + [
        "José", "Zoë", "李", "שלום", "Jose\u0301", "  ann ", "a" * 20, "a" * 21, "", " ",
        "<b>", "a\nb", "ann_1.-", "٣٤", "Ⅻ", "½"]
    expected = [server_verdict(n) for n in names]
    got = browser_verdicts(names)
    differ = [(n, e, g) for n, e, g in zip(names, expected, got) if e != g]
    assert not differ, [(ascii(n), e, g) for n, e, g in differ[:20]]
    # It is not vacuous: both keep names in other scripts and refuse markup.
    assert expected[-16:-12] == ["José", "Zoë", "李", "שלום"]
    assert expected[-12] == "José" and expected[-9] is None and expected[-6] is None
