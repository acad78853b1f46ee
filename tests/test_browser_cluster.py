"""The browser client in a cluster (docs/scaling.md): real Chromium through HAProxy to two
shards with the wallet in Redis. One person plays at tables on both shards from one page:
each shard's tables on a socket of their own (client/static/net.js ``Links``)."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import (TIMEOUT_MS, Player, browser, check_or_call_until,  # noqa: F401
                                expect, players)
from tests.test_cluster import Cluster, wallet


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("browser-cluster")), shards=2)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def server(cl):
    """What test_browser's ``players`` open: here HAProxy's URL."""
    return f"http://127.0.0.1:{cl.port}"


def shard_sockets(p: Player) -> list[int]:
    return p.page.evaluate("() => [...window.__poker.conn.shards.keys()].sort()")


def test_one_page_plays_at_tables_on_two_shards(players, cl):  # noqa: F811
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
    # Both shards' tables are in the lobby, whichever shard the page's socket reached.
    lobby = ann.page.locator(".lobby-row, [data-table]")
    expect(ann.page.locator('[data-table="t1-2"]').first).to_be_visible()
    expect(ann.page.locator('[data-table="t2-2"]').first).to_be_visible()
    assert lobby.count() >= 2
    start = ann.page.evaluate("() => window.__poker.me.bankroll")

    for p in (ann, bob):
        p.open_table("t2-2")
    ann.sit(0, 100)
    bob.sit(1, 100)
    first = check_or_call_until([ann, bob], 3)      # a hand on shard 2, played by clicking
    assert first in (ann, bob)

    ann.open_table("t1-2")                          # and a table on shard 1, same page
    ann.sit(0, 150)
    assert shard_sockets(ann) == [1, 2]
    expect(ann.page.locator("#me")).to_contain_text(re.compile(f"{start - 250:,}|{start - 250}"))
    player = ann.page.evaluate("() => window.__poker.me.player")
    assert wallet(cl, player) == start - 250

    # A reload resumes: the page finds its seat at the table it shows, and opens the
    # other shard again to follow its seat there (a turn there is noticed from here).
    ann.page.reload()
    expect(ann.page.locator(".seat-me")).to_have_attribute("data-seat", "0")
    ann.page.wait_for_function("() => window.__poker.seats['t1-2'] === 0"
                               " && window.__poker.seats['t2-2'] === 0"
                               " && window.__poker.tables.has('t2-2')", timeout=TIMEOUT_MS,
                               polling=100)
    ann.page.evaluate("() => window.__poker.conn.drop()")
    expect(ann.page.locator("#conn")).to_have_class(re.compile("conn-online"))
    expect(ann.page.locator(".seat-me")).to_have_attribute("data-seat", "0")
