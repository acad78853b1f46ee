"""The browser client's tournaments (issue 16), in a real browser.

Same setup as tests/test_browser.py (whose fixtures and helpers these tests share):
Debian's Chromium driven by Playwright, a real server on 127.0.0.1. This module runs
its own server: a short pause between hands, and a seat draw in registration order
(a prelude replaces the server's random draw) so that the multi-table test knows
which table breaks. Every wait is on a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import websocket
from test_browser import TIMEOUT_MS, Player, browser, expect, players  # noqa: F401
from test_server_helpers import start_server

WAIT = TIMEOUT_MS / 1000 * 3    # seconds: a hand with a run-out on a busy machine

# The seat draw in registration order: tables are filled in turn (the rules' start),
# so with two tables the 1st, 3rd... registered sit at table 1 and the 2nd, 4th... at 2.
ORDERED_DRAW = "import server.app\nserver.app.draw = lambda players: tuple(players)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(str(tmp_path_factory.mktemp("tournament-server")),
                       "--turn-seconds", "30", "--hand-pause", "2", prelude=ORDERED_DRAW)
    yield srv.url
    srv.stop()


def bankroll(p: Player) -> int:
    return int(p.page.locator("#me .me-bankroll").inner_text().replace(",", ""))


def open_tournaments(p: Player) -> None:
    p.page.click("#tab-tournaments")
    expect(p.page.locator("#lobby-tournaments")).to_be_visible()


def row(p: Player, tid: str):
    return p.page.locator(f'.tourney-row[data-tournament="{tid}"]')


def create_tournament(p: Player, name: str, seats: int, *, buy_in: int, stack: int,
                      seconds: int, turbo: bool = False, multi: bool = False,
                      register: bool = True) -> str:
    """Fill in and send the New tournament dialog; returns the new tournament's id."""
    page = p.page
    page.click("#btn-create-tournament")
    page.fill("#tn-name", name)
    if multi:
        page.select_option("#tn-kind", "multi")
    page.select_option("#tn-seats", str(seats))
    page.fill("#tn-buyin", str(buy_in))
    page.fill("#tn-stack", str(stack))
    page.fill("#tn-seconds", str(seconds))
    if turbo:
        page.select_option("#tn-levels", "turbo")
    if not register:
        page.uncheck("#tn-register")
    page.click("#tn-submit")
    expect(page.locator("#tournament-dialog")).to_have_count(0)
    made = page.locator(".tourney-row", has_text=name)
    expect(made).to_have_count(1)
    return made.get_attribute("data-tournament")


def act_now(players, stop, timeout: float = WAIT) -> Player | None:
    """The player whose action buttons are showing (and enabled); None once ``stop()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in players:
            if p.my_turn():
                return p
        if stop():
            return None
        players[0].page.wait_for_timeout(50)
    raise AssertionError("nobody's action buttons appeared")


def acted(p: Player, click) -> None:
    """``click()`` an action, then wait until the table has moved on (a newer version of
    it, or another table on screen): the next turn may be this player's again at once."""
    before = p.page.evaluate("() => { const a = window.__poker;"
                             " return [a.route.table, a.tables.get(a.route.table).v]; }")
    click()
    p.page.wait_for_function(
        "([table, v]) => { const a = window.__poker; const s = a.tables.get(a.route.table);"
        " return a.route.table !== table || !s || s.v > v; }", arg=before, timeout=TIMEOUT_MS * 3)


def shove(p: Player) -> None:
    """All in by clicking: the largest raise (the Max preset), or a call when no raise is
    left (all in already covered), or the lone All in button."""
    page = p.page

    def click():
        raise_btn = page.locator("#act-raise")
        if raise_btn.is_visible() and raise_btn.is_enabled():
            most = page.locator('.preset[data-preset="max"]')
            if most.is_visible() and most.is_enabled():
                most.click()
            raise_btn.click()
        else:
            page.click("#act-call")
    acted(p, click)


def test_a_sit_and_go_from_the_lobby_to_the_result(players):
    ann, bob, cat = players("ann"), players("bob"), players("cat")
    for p in (ann, bob, cat):
        p.login()
        open_tournaments(p)
        assert bankroll(p) == 10_000
    tid = create_tournament(ann, "Turbo three", 3, buy_in=100, stack=500, seconds=120, turbo=True)
    # The creator is registered ("Register me"): the buy-in left her bankroll.
    expect(row(ann, tid).locator(".t-registered")).to_have_text("1/3")
    expect(row(ann, tid).locator(".t-pool")).to_have_text("Pool 100")
    expect(ann.page.locator("#me .me-bankroll")).to_have_text("9,900")
    expect(row(ann, tid).locator(".btn-unregister")).to_be_visible()

    # Bob registers, unregisters (the buy-in comes back) and registers again.
    expect(row(bob, tid)).to_be_visible()
    row(bob, tid).locator(".btn-register").click()
    expect(bob.page.locator("#me .me-bankroll")).to_have_text("9,900")
    expect(row(bob, tid).locator(".t-registered")).to_have_text("2/3")
    expect(row(bob, tid).locator(".t-payouts")).not_to_have_text(re.compile("\u2014"))
    row(bob, tid).locator(".btn-unregister").click()
    expect(bob.page.locator("#me .me-bankroll")).to_have_text("10,000")
    row(bob, tid).locator(".btn-register").click()
    expect(bob.page.locator("#me .me-bankroll")).to_have_text("9,900")
    # A second registration is refused by the server: its reason is shown like any error.
    bob.page.evaluate(f"window.__poker.conn.send({{type: 'register', tournament: {json.dumps(tid)}}})")
    expect(bob.page.locator(".toast", has_text="already registered")).to_be_visible()

    # Cat's registration fills it: it starts, and everyone is taken to the table.
    expect(row(cat, tid).locator(".t-registered")).to_have_text("2/3")
    row(cat, tid).locator(".btn-register").click()
    for p in (ann, bob, cat):
        expect(p.page).to_have_url(re.compile(r"#/table/"))
        expect(p.page.locator(".seat-me")).to_be_visible()
        bar = p.page.locator("#tourney-bar")
        expect(bar).to_be_visible()
        expect(bar.locator(".tb-name")).to_have_text("Turbo three")
        expect(p.page.locator("#tb-level")).to_have_text("Level 1")
        expect(p.page.locator("#tb-blinds")).to_have_text("Blinds 25/50")
        expect(p.page.locator("#tb-left")).to_have_text("3 left")
        expect(p.page.locator("#tb-avg")).to_have_text("Avg stack 500")
        # No cash-table controls at a tournament table.
        for control in ("#btn-sitout", "#btn-sitout-bb", "#btn-post-in", "#btn-topup", "#btn-leave"):
            expect(p.page.locator(control)).to_be_hidden()
        expect(p.page.locator(".sit-btn")).to_have_count(0)
    assert len({p.page.url for p in (ann, bob, cat)}) == 1
    # A reload keeps it a tournament table (the page remembers which tables are).
    bob.page.reload()
    expect(bob.page.locator(".seat-me")).to_be_visible()
    expect(bob.page.locator("#tb-level")).to_have_text("Level 1")
    expect(bob.page.locator("#btn-leave")).to_be_hidden()
    expect(bob.page.locator(".sit-btn")).to_have_count(0)
    # The clock to the next level counts down on its own.
    clock = ann.page.locator("#tb-clock")
    expect(clock).to_have_text(re.compile(r"^Next level in [12]:\d\d$"))
    first = clock.inner_text()
    expect(clock).not_to_have_text(first)
    expect(clock).to_have_text(re.compile(r"^Next level in [12]:\d\d$"))

    # Everyone shoves or calls by clicking until one player has all the chips.
    def over():
        return all(p.page.locator("#tournament-result").count() for p in (ann, bob, cat))
    left = [ann, bob, cat]
    while (p := act_now(left, stop=over)) is not None:
        shove(p)
        left = [q for q in left if not q.page.locator("#tournament-result").count()]

    results = []
    for p in (ann, bob, cat):
        dialog = p.page.locator("#tournament-result")
        expect(dialog).to_be_visible()
        place = int(re.match(r"\d+", dialog.locator("#result-place").inner_text()).group())
        prize_text = dialog.locator("#result-prize").inner_text()
        prize = int(prize_text.replace(",", "")) if re.fullmatch(r"[\d,]+", prize_text) else 0
        if prize == 0:
            assert prize_text == "No prize this time."
        results.append((place, prize))
        # The prize was paid into the bankroll (shown in the header).
        expect(p.page.locator("#me .me-bankroll")).to_have_text(f"{10_000 - 100 + prize:,}")
    # One winner; two players out in the same hand with the same stack tie (and share).
    results.sort()
    assert [place for place, _ in results][0] == 1 and {place for place, _ in results[1:]} <= {2, 3}
    assert sum(prize for _, prize in results) == 300 and results[0][1] == max(p for _, p in results)
    winner = next(p for p in (ann, bob, cat)
                  if p.page.locator("#result-place").inner_text() == "1st")
    expect(winner.page.locator("#tournament-result .modal-title")).to_have_text("You won the tournament!")
    expect(winner.page.locator("#tb-place")).to_have_text(re.compile(r"^You finished 1st"))

    # Back to the lobby: the finished tournament is no longer listed.
    for p in (ann, bob, cat):
        p.page.click("#result-lobby")
        expect(p.page.locator("#lobby-screen")).to_be_visible()
        expect(row(p, tid)).to_have_count(0)


class Bot:
    """A WebSocket player for the multi-table test, on its own thread: it registers when
    told, follows ``tournament_table`` / ``tournament_moved`` to its table, and acts on
    each ``turn``: ``"shove"`` goes all in (or calls), ``"call"`` checks or calls."""

    def __init__(self, base: str, name: str, style: str):
        self.style = style
        self.ws = websocket.create_connection(base.replace("http", "ws", 1) + "/ws", timeout=30)
        self.ws.send(json.dumps({"type": "hello", "protocol": 2, "name": name}))
        welcome = json.loads(self.ws.recv())
        assert welcome["type"] == "welcome", welcome
        self.player = welcome["player"]
        self.tables: list[str] = []
        self.moves: list[dict] = []
        self.errors: list[dict] = []
        self.stopped = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def send(self, msg: dict) -> None:
        with self.lock:
            self.ws.send(json.dumps(msg))

    def run(self) -> None:
        while not self.stopped:
            try:
                raw = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not raw:                 # closed
                return
            msg = json.loads(raw)
            kind = msg.get("type")
            if kind in ("tournament_table", "tournament_moved"):
                self.tables.append(msg["table"])
                if kind == "tournament_moved":
                    self.moves.append(msg)
                self.send({"type": "watch", "table": msg["table"]})
            elif kind == "turn":
                acts = msg["legal"]["actions"]
                if self.style == "shove" and "all_in" in acts:
                    action = "all_in"
                else:
                    action = "check" if "check" in acts else "call" if "call" in acts else "all_in"
                self.send({"type": "act", "table": msg["table"], "action": action})
            elif kind == "error" and msg.get("code") != "illegal":
                self.errors.append(msg)

    def close(self) -> None:
        self.stopped = True
        try:
            self.ws.close()
        except (websocket.WebSocketException, OSError):
            pass


def wait_until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_multi_table_move_is_followed_without_a_reload(players, server):
    """Four players at two tables of three seats (two a table). Two shovers at table 1
    bust one of them; three players then fit one table, so table 2 breaks when its hand
    is over, and its players (the browser player and a calling bot) move to table 1."""
    dee = players("dee")
    dee.login()
    open_tournaments(dee)
    tid = create_tournament(dee, "Freezeout", 3, buy_in=50, stack=1000, seconds=600,
                            multi=True, register=False)
    expect(row(dee, tid).locator(".t-registered")).to_have_text("0")
    expect(row(dee, tid).locator(".btn-start")).to_be_disabled()
    bots = []
    try:
        # The draw is in registration order: shove1, dee, shove2, caller -> table 1 gets
        # the shovers, table 2 dee and the caller.
        shove1 = Bot(server, "shove1", "shove")
        bots.append(shove1)
        shove1.send({"type": "register", "tournament": tid})
        expect(row(dee, tid).locator(".t-registered")).to_have_text("1")
        row(dee, tid).locator(".btn-register").click()
        expect(row(dee, tid).locator(".btn-unregister")).to_be_visible()
        shove2, caller = Bot(server, "shove2", "shove"), Bot(server, "caller", "call")
        bots += [shove2, caller]
        shove2.send({"type": "register", "tournament": tid})
        expect(row(dee, tid).locator(".t-registered")).to_have_text("3")   # in this order
        caller.send({"type": "register", "tournament": tid})
        start = row(dee, tid).locator(".btn-start")
        expect(row(dee, tid).locator(".t-registered")).to_have_text("4")
        expect(start).to_be_enabled()
        start.click()

        expect(dee.page).to_have_url(re.compile(r"#/table/"))
        first_table = dee.page.url.rsplit("/", 1)[1]
        assert wait_until(lambda: caller.tables, "the caller's table") == [first_table]
        wait_until(lambda: shove1.tables and shove2.tables, "the shovers' table")
        assert shove1.tables == shove2.tables and shove1.tables[0] != first_table
        expect(dee.page.locator("#tourney-bar .tb-name")).to_have_text("Freezeout")
        expect(dee.page.locator("#tb-left")).to_have_text("4 left")
        expect(dee.page.locator("#btn-leave")).to_be_hidden()
        dee.page.evaluate("window.__not_reloaded = true")

        # Dee checks or calls until the shovers' table has a loser and hers breaks.
        deadline = time.monotonic() + WAIT * 6
        while not caller.moves:
            assert time.monotonic() < deadline, "table 2 did not break"
            if dee.my_turn():
                acted(dee, lambda: dee.page.click("#act-call"))
            else:
                dee.page.wait_for_timeout(50)
        new_table = shove1.tables[0]
        assert caller.moves[0]["table"] == new_table and caller.moves[0]["from"] == first_table

        # Dee's page follows by itself to the new table, without a reload.
        expect(dee.page).to_have_url(re.compile(rf"#/table/{re.escape(new_table)}$"))
        assert dee.page.evaluate("window.__not_reloaded") is True
        expect(dee.page.locator(".seat-me")).to_be_visible()
        expect(dee.page.locator("#tb-left")).to_have_text("3 left")
        expect(dee.page.locator(".sit-btn")).to_have_count(0)
        assert dee.page.evaluate(f"window.__poker.tables.has({json.dumps(first_table)})") is False
        # ... and plays there: her turn comes at the new table, and she acts.
        p = act_now([dee], stop=lambda: False)
        assert p.page.url.endswith(new_table)
        acted(dee, lambda: dee.page.click("#act-call"))
        for bot in bots:
            assert not bot.errors, bot.errors
    finally:
        for bot in bots:
            bot.close()
