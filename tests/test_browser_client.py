"""The browser client's fixes for a new player's report (issue 13), in a real browser.

Same setup as tests/test_browser.py (whose fixtures and helpers these tests share): a
real server on 127.0.0.1, Debian's Chromium driven by Playwright. Every wait is on a
condition (expect, wait_for_function), never a fixed sleep.
"""

from __future__ import annotations

import json
import re

import pytest
import websocket
from test_browser import (ROOT, TIMEOUT_MS, Player, browser, create_table, expect,  # noqa: F401
                          players, server, whose_turn)
from test_server_helpers import start_server, wait_for

PHONE = (390, 844)
LONG_TABLE = "W" * 40          # the longest name POST /api/tables allows, no spaces
LONG_PLAYER = "W" * 20         # the longest nickname


def no_sideways_scroll(page) -> None:
    """The page is no wider than the window: nothing sits off screen to the right."""
    widths = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
        .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 8)""")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window: {wide}"


def on_screen(locator) -> None:
    box = locator.bounding_box()
    width = locator.page.evaluate("innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_long_names_never_scroll_a_phone_sideways(players, server):
    table = create_table(server, LONG_TABLE, seats=6)
    phone = players(LONG_PLAYER, viewport=PHONE)
    other = players("M" * 20)
    phone.login()
    row = phone.page.locator(f'.lobby-row[data-table="{table}"]')
    expect(row).to_be_visible()
    no_sideways_scroll(phone.page)
    on_screen(row.locator(".btn-join"))

    other.login()
    other.open_table(table)
    other.sit(1)
    phone.page.goto(f"{phone.base}/#/table/{table}")
    expect(phone.page.locator(".table-title")).to_have_text(LONG_TABLE)
    phone.page.click('.seat[data-seat="0"] .sit-btn')
    expect(phone.page.locator("#sit-dialog")).to_be_visible()
    no_sideways_scroll(phone.page)
    phone.page.click("#buyin-submit")
    expect(phone.page.locator(".seat-me")).to_have_attribute("data-seat", "0")
    phone.page.fill("#chat-input", "X" * 200)
    phone.page.press("#chat-input", "Enter")
    expect(phone.page.locator("#chat-list .chat-msg")).to_have_count(1)
    # A hand with both long names: cards, tags, the log.
    expect(phone.page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2)
    no_sideways_scroll(phone.page)
    on_screen(phone.page.locator("#act-fold, #action-status").first)

    phone.page.click("#btn-lobby")
    expect(phone.page.locator(".notice")).to_contain_text(LONG_TABLE)
    no_sideways_scroll(phone.page)
    on_screen(row.locator(".btn-watch"))


def pot_preset(p: Player) -> str:
    p.page.click('.preset[data-preset="pot"]')
    return p.page.input_value("#amount")


def test_pot_and_pot_preset_survive_a_reload_and_show_to_a_spectator(players, server):
    # Heads-up 1/2: the button calls, the big blind checks (4 in the middle), then
    # bets 2 on the flop: the pot is 6, and a pot-sized raise goes to 2 + (6 + 2) = 10.
    table = create_table(server, "Pot after reload")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    whose_turn([ann, bob]).page.click("#act-call")
    whose_turn([ann, bob]).page.click("#act-call")
    better = whose_turn([ann, bob])
    expect(better.page.locator("#board .card[data-card]")).to_have_count(3)
    better.page.fill("#amount", "2")
    better.page.click("#act-raise")
    facing = whose_turn([ann, bob])
    assert facing is not better
    expect(facing.page.locator("#pot-total")).to_have_text("Pot 6")
    assert pot_preset(facing) == "10"

    facing.page.reload()
    assert whose_turn([facing]) is facing
    expect(facing.page.locator("#pot-total")).to_have_text("Pot 6")
    expect(facing.page.locator("#pots .pot-amount")).to_have_text(["4"])
    assert pot_preset(facing) == "10"

    cat = players("cat")
    cat.login()
    cat.open_table(table)
    expect(cat.page.locator("#pot-total")).to_have_text("Pot 6")
    expect(cat.page.locator(".bet.show .bet-amount")).to_have_text(["2"])


def test_errors_are_told_in_words_a_player_understands(players, server):
    table = create_table(server, "Error words")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    page = bob.page
    # A buy-in outside the limits: the dialog says what is allowed.
    page.click('.seat[data-seat="1"] .sit-btn')
    page.fill("#buyin-amount", "5")
    page.click("#buyin-submit")
    expect(page.locator("#sit-dialog .modal-error")).to_have_text(
        re.compile(r"^Buy in for 40 to 200 chips, and no more than your bankroll \(10,000\)\.$"))
    page.keyboard.press("Escape")
    # Codes the page did not expect (a taken seat, acting without a seat) become sentences,
    # not the server's words for developers.
    page.evaluate(f"window.__poker.conn.send({{type: 'sit', table: '{table}', seat: 0, buy_in: 100}})")
    expect(page.locator(".toast").last).to_have_text("!That seat is taken, or you already sit at this table.")
    page.evaluate(f"window.__poker.conn.send({{type: 'act', table: '{table}', action: 'check'}})")
    expect(page.locator(".toast").last).to_have_text("!You need a seat at this table to do that.")
    assert page.locator(".toast", has_text="seat 0 is taken").count() == 0
    # `illegal` keeps the rules' own words, written for players.
    bob.sit(1)
    actor = whose_turn([ann, bob])
    actor.page.evaluate(f"window.__poker.conn.send({{type: 'act', table: '{table}', action: 'bet', amount: 4}})")
    expect(actor.page.locator(".toast").last).to_contain_text("Cannot bet facing a bet of 2: raise instead.")


CARD_NAME = re.compile(r"^(two|three|four|five|six|seven|eight|nine|ten|jack|queen|king|ace) "
                       r"of (spades|hearts|diamonds|clubs)$")


def test_cards_actions_and_turns_are_read_out_and_legible_on_a_phone(players, server):
    table = create_table(server, "Read aloud")
    ann, bob = players("ann", viewport=PHONE), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    # Every player's time bank shows beside their stack, in seconds, and is read out.
    banks = ann.page.locator(".seat-bank")
    expect(banks).to_have_count(2)
    expect(banks.first).to_have_text(re.compile(r"^\d+s$"))
    expect(banks.first).to_have_attribute("aria-label", re.compile(r"^time bank \d+ seconds$"))
    # Cards have names with their suits ("five of hearts"), for screen readers too.
    mine = ann.page.locator(".seat-me").get_by_role("img", name=CARD_NAME)
    expect(mine).to_have_count(2)
    expect(ann.page.get_by_role("group", name="Your cards").get_by_role("img", name=CARD_NAME)).to_have_count(2)
    first = whose_turn([ann, bob])
    other = bob if first is ann else ann
    # A live region says whose turn it is and what everyone does.
    expect(first.page.locator("#announcer")).to_contain_text(re.compile(r"Your turn: call 1, or raise to 4 to \d+\."))
    first.page.click("#act-call")
    expect(other.page.locator("#announcer")).to_contain_text(f"{first.name} calls 1")
    expect(other.page.locator("#announcer")).to_contain_text("Your turn: check")
    other.page.click("#act-call")
    board = ann.page.get_by_role("group", name="Board").get_by_role("img", name=CARD_NAME)
    expect(board).to_have_count(3)
    expect(ann.page.locator("#announcer")).to_contain_text(re.compile(r"Flop: \w+ of \w+, \w+ of \w+, \w+ of \w+"))
    # Names, stacks, tags, bets, empty seats: at least 12 px on a phone.
    small = ann.page.evaluate("""() => [...document.querySelectorAll(
        '.seat-name, .seat-stack, .seat-bank, .seat-tag, .bet-amount, .pot-total, .pot-amount, .act-label, .preset, #action-status')]
        .filter(e => e.offsetParent !== null && e.textContent.trim())
        .map(e => [e.className, parseFloat(getComputedStyle(e).fontSize)])
        .filter(([, size]) => size < 12)""")
    assert small == []


def test_omaha_shows_four_cards_and_a_pot_button_at_the_limit_and_fixed_limit_one_size(
        players, server):
    plo = create_table(server, "Omaha", game="PO")
    fixed = create_table(server, "Fixed", game="FT")
    ann, bob = players("ann", viewport=PHONE), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(plo)
    ann.sit(0)
    bob.sit(1)
    expect(ann.page.locator(".table-sub")).to_contain_text("PLO")
    expect(ann.page.get_by_role("group", name="Your cards").get_by_role(
        "img", name=CARD_NAME)).to_have_count(4)
    no_sideways_scroll(ann.page)
    # Heads-up 1/2: the button (small blind) faces 2; the pot after calling is 4, so
    # the most it may raise to is 2 + 4 = 6, and the Pot button is exactly that.
    sb = whose_turn([ann, bob])
    expect(sb.page.locator("#amount-range")).to_have_text("Min 4 \u00b7 Max 6")
    assert pot_preset(sb) == "6"
    expect(sb.page.locator("#act-raise .act-label")).to_have_text("Raise to 6 (pot)")
    sb.page.click("#act-raise")
    other = bob if sb is ann else ann
    # Facing 6: a call of 4 makes the pot 12, so at most 6 + 12 = 18.
    expect(other.page.locator("#amount-range")).to_contain_text("Max 18")
    # Fixed limit 2/4: one Bet/Raise button of the one size, no amount box or slider.
    for p in (ann, bob):
        p.open_table(fixed)
    ann.sit(0)
    bob.sit(1)
    expect(ann.page.locator(".table-sub")).to_contain_text("FL Hold'em")
    first = whose_turn([ann, bob])
    expect(first.page.locator(".raise-box")).to_be_hidden()
    expect(first.page.locator("#act-raise .act-label")).to_have_text("Raise to 4")
    first.page.click("#act-raise")
    second = bob if first is ann else ann
    expect(second.page.locator("#act-raise .act-label")).to_have_text("Raise to 6")


def test_run_it_twice_and_posting_to_come_back_have_buttons(players, server):
    # Coming back from sitting out: post now and play (not wait for the big blind).
    solo = create_table(server, "Come back")
    ann = players("ann")
    ann.login()
    ann.open_table(solo)
    ann.sit(0)
    expect(ann.page.locator("#btn-post-in")).to_be_hidden()
    ann.page.click("#btn-sitout")
    expect(ann.page.locator(".seat-me .seat-tag")).to_have_text("Sitting out")
    ann.page.click("#btn-post-in")
    expect(ann.page.locator("#btn-post-in")).to_be_hidden()
    expect(ann.page.locator(".seat-me .seat-tag", has_text="Sitting out")).to_have_count(0)
    # Run it twice: both agree, both all in: two boards, each shown.
    twice = create_table(server, "Twice", run_it_twice=True)
    bob = players("bob")
    bob.login()
    for p in (ann, bob):
        p.open_table(twice)
    ann.sit(0)
    button = ann.page.locator("#btn-run-twice")
    expect(button).to_have_text("Run it twice: no")
    button.click()
    expect(button).to_have_text("Run it twice: yes")
    expect(button).to_have_attribute("aria-pressed", "true")
    bob.sit(1)
    bob.page.click("#btn-run-twice")
    expect(bob.page.locator("#btn-run-twice")).to_have_attribute("aria-pressed", "true")
    first = whose_turn([ann, bob])
    first.page.click('.preset[data-preset="max"]')
    first.page.click("#act-raise")
    second = bob if first is ann else ann
    expect(second.page.locator("#act-call")).to_be_enabled()
    second.page.click("#act-call")
    for p in (ann, bob):
        expect(p.page.locator("#board-second .card")).to_have_count(5, timeout=30_000)
        expect(p.page.locator("#board .card[data-card]")).to_have_count(5)


def amount(p: Player) -> str:
    return p.page.input_value("#amount")


def test_amount_box_clamps_steps_and_sizes_bets_from_the_pot(players, server):
    # Heads-up 1/2, buy-ins 200: the button (small blind) acts first preflop.
    table = create_table(server, "Amounts")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    sb = whose_turn([ann, bob])
    page = sb.page
    expect(page.locator("#amount-range")).to_have_text("Min 4 \u00b7 Max 200")
    assert amount(sb) == "4"
    # Typed out of range: clamped when the box is left, and when raising (nothing sent).
    page.fill("#amount", "100000")
    page.locator("#amount").blur()
    expect(page.locator("#amount")).to_have_value("200")
    page.fill("#amount", "3")
    page.click("#act-raise")
    expect(page.locator("#amount")).to_have_value("4")
    expect(page.locator("#amount-hint")).to_have_text("The minimum raise is to 4: the amount is now 4.")
    assert sb.my_turn()
    # A big blind per step: the + and - buttons, the arrow keys, the mouse wheel.
    page.click("#amount-plus")
    expect(page.locator("#amount")).to_have_value("6")
    page.click("#amount-minus")
    page.click("#amount-minus")
    expect(page.locator("#amount")).to_have_value("4")   # never below the minimum
    page.locator("#amount").press("ArrowUp")
    expect(page.locator("#amount")).to_have_value("6")
    page.locator("#amount").hover()
    page.mouse.wheel(0, -100)
    expect(page.locator("#amount")).to_have_value("8")
    # Preflop sizes: 2.5x and 3x the bet, and the pot (3 in the middle + our call of 1 = 4: to 6).
    expect(page.locator('.preset[data-preset="third"]')).to_be_hidden()
    page.click('.preset[data-preset="x2.5"]')
    expect(page.locator("#amount")).to_have_value("5")
    page.click('.preset[data-preset="x3"]')
    expect(page.locator("#amount")).to_have_value("6")
    page.click('.preset[data-preset="pot"]')
    expect(page.locator("#amount")).to_have_value("6")
    page.click('.preset[data-preset="max"]')
    expect(page.locator("#amount")).to_have_value("200")
    page.click("#act-call")
    whose_turn([ann, bob]).page.click("#act-call")   # the big blind checks: 4 in the middle
    flop = whose_turn([ann, bob])
    expect(flop.page.locator("#board .card[data-card]")).to_have_count(3)
    fp = flop.page
    expect(fp.locator('.preset[data-preset="x3"]')).to_be_hidden()
    for key, value in (("third", "2"), ("half", "2"), ("two-thirds", "2"), ("three-quarters", "3"),
                       ("pot", "4")):
        fp.click(f'.preset[data-preset="{key}"]')
        expect(fp.locator("#amount")).to_have_value(value)
    fp.click('.preset[data-preset="pot"]')
    fp.click("#act-raise")   # bets 4: the pot is 8, a pot raise is to 4 + (8 + 4) = 16
    other = whose_turn([ann, bob])
    assert other is not flop
    other.page.click('.preset[data-preset="pot"]')
    expect(other.page.locator("#amount")).to_have_value("16")
    other.page.click('.preset[data-preset="half"]')
    expect(other.page.locator("#amount")).to_have_value("10")


def test_pre_actions_act_when_the_turn_comes_and_drop_when_the_bet_changes(players, server):
    table = create_table(server, "Pre-actions")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    sb = whose_turn([ann, bob])
    bb = bob if sb is ann else ann
    hand = bb.hand_number()
    # The big blind picks "Check" while the button thinks; the button raises: it is dropped.
    expect(bb.page.locator("#pre-actions")).to_be_visible()
    bb.page.click("#pre-check")
    expect(bb.page.locator("#pre-check")).to_have_attribute("aria-pressed", "true")
    sb.page.fill("#amount", "6")
    sb.page.click("#act-raise")
    assert whose_turn([ann, bob]) is bb           # asked, not checked for them
    expect(bb.page.locator("#act-call")).to_contain_text("Call 4")
    expect(bb.page.locator("#announcer")).to_contain_text("Check cancelled")
    # "Call any" picked by the button before the big blind re-raises: it calls by itself.
    expect(sb.page.locator("#pre-actions")).to_be_visible()
    sb.page.click("#pre-call")
    bb.page.fill("#amount", "12")
    bb.page.click("#act-raise")
    expect(sb.page.locator("#board .card[data-card]")).to_have_count(3)
    expect(sb.page.locator("#hand-log")).to_contain_text(f"{sb.name} calls 6")
    # On the flop the big blind acts first; the button's "Check/Fold" folds facing a bet.
    assert whose_turn([ann, bob]) is bb
    sb.page.click("#pre-checkfold")
    bb.page.fill("#amount", "10")
    bb.page.click("#act-raise")
    expect(sb.page.locator("#hand-log")).to_contain_text(f"{sb.name} folds")
    assert sb.hand_number() == hand


def test_turn_alerts_across_tables_and_sounds_with_a_remembered_mute(players, server):
    one = create_table(server, "Alert one")
    two = create_table(server, "Alert two")
    ann, bob, cat = players("ann"), players("bob"), players("cat")
    for p in (ann, bob, cat):
        p.login()
    for table, rival in ((one, bob), (two, cat)):
        ann.open_table(table)
        ann.sit(0)
        rival.open_table(table)
        rival.sit(1)
        expect(ann.page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2)
    page = ann.page
    # The table on screen dealt (a sound); wait for a turn of ann's somewhere.
    page.wait_for_function("() => window.__poker.sounds.includes('deal')")
    page.goto(f"{ann.base}/#/")
    page.wait_for_function("() => window.__poker.turnTables.size > 0")
    turns = page.evaluate("() => [...window.__poker.turnTables]")
    names = {one: "Alert one", two: "Alert two"}
    for table in (one, two):
        badge = page.locator(f'.lobby-row[data-table="{table}"] .turn-badge')
        expect(badge).to_have_count(1 if table in turns else 0)
    expect(page).to_have_title(re.compile(r"^\(!\) Your turn \u2014 Alert (one|two) \u2014 Pokerserver$"))
    alert = page.locator("#turn-alert")
    expect(alert).to_be_visible()
    # With a turn at both tables the link goes to the first the page follows (not
    # necessarily the first id in order: "t10" sorts before "t9").
    expect(alert).to_have_attribute("href", re.compile(
        "^#/table/(" + "|".join(re.escape(t) for t in turns) + ")$"))
    first = alert.get_attribute("href").rsplit("/", 1)[1]
    assert "turn" in page.evaluate("() => window.__poker.sounds")
    # Opening that table: its own turn is on screen, the link points elsewhere or hides.
    alert.click()
    expect(page.locator("#action-bar.my-turn")).to_be_visible()
    expect(page).to_have_title(f"(!) Your turn \u2014 {names[first]} \u2014 Pokerserver")
    if len(turns) == 1:
        expect(alert).to_be_hidden()

    # The mute switch is remembered: after a reload no sound plays, the turn still shows.
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "false")
    page.click("#mute")
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#action-bar.my-turn")).to_be_visible()
    assert page.evaluate("() => window.__poker.sounds") == []
    page.click("#mute")
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("() => localStorage.getItem('poker.muted')") == "0"
    # Notifications (for a hidden page) are asked for on a click, never on their own.
    expect(page.locator("#alerts")).to_have_attribute("aria-pressed", "false")
    ann.ctx.grant_permissions(["notifications"])
    page.click("#alerts")
    expect(page.locator("#alerts")).to_have_attribute("aria-pressed", "true")


def test_hand_history_survives_a_reload_replays_and_downloads_phh(players, server):
    table = create_table(server, "History")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    whose_turn([ann, bob]).page.click("#act-fold")   # hand 1: the button folds
    page = ann.page
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.click("#tab-history")
    row = page.locator('#history-list .history-hand[data-hand="1"]')
    expect(row.locator(".history-result")).to_have_text(
        re.compile(rf"^({re.escape(ann.name)}|{re.escape(bob.name)}) wins 2$"))
    expect(row.locator(".history-replay")).to_be_enabled()

    page.reload()
    expect(page.locator(".seat-me")).to_have_attribute("data-seat", "0")
    page.click("#tab-history")
    expect(row.locator(".history-replay")).to_be_enabled()   # recorded in this tab's session
    row.locator(".history-replay").click()
    dialog = page.locator("#replay-dialog")
    expect(dialog.locator("#replay-what")).to_contain_text("Dealt to you")
    expect(dialog.locator("#replay-seats .replay-seat").first.get_by_role("img", name=CARD_NAME)).to_have_count(2)
    steps = []
    while True:
        steps.append(dialog.locator("#replay-what").inner_text())
        if dialog.locator("#replay-next").is_disabled():
            break
        page.keyboard.press("ArrowRight")
        expect(dialog.locator("#replay-step")).to_have_text(re.compile(rf"^Step {len(steps) + 1} of \d+$"))
    assert any("posts the small blind" in s for s in steps), steps
    assert any("folds" in s for s in steps), steps
    assert "wins 2" in steps[-1]
    page.click("#replay-close")

    # The PHH file of a hand ann played, fetched with her token in a header.
    with page.expect_download() as got:
        row.locator(".history-phh").click()
    text = open(got.value.path()).read()
    assert "actions" in text and "ann" in text
    assert not any("token=" in u for u in urls), urls


# Makes a page believe it is hidden (another tab or window in front of it).
HIDDEN = "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"


def rows(page) -> list[dict]:
    return page.locator("#lobby-list .lobby-row").evaluate_all(
        "els => els.map(e => ({id: e.dataset.table, bb: +e.dataset.bb, taken: +e.dataset.taken,"
        " full: !!e.querySelector('.btn-wait'), blinds: e.querySelector('.blinds').textContent}))")


def test_lobby_browses_without_a_name_sorts_filters_and_keeps_a_waiting_list(players, server):
    full = create_table(server, "Full house")
    ann, bob, cat = players("ann"), players("bob"), players("cat")
    for p, seat in ((ann, 0), (bob, 1)):
        p.login()
        p.open_table(full)
        p.sit(seat)
    # cat's page is hidden behind another window (as far as the page can tell), and
    # notifications are allowed.
    cat.ctx.add_init_script(HIDDEN)
    cat.ctx.grant_permissions(["notifications"])
    # cat browses the lobby before choosing a name.
    page = cat.page
    page.goto(cat.base + "/")
    expect(page.locator(f'.lobby-row[data-table="{full}"]')).to_be_visible()
    expect(page.locator("#name-dialog")).to_have_count(0)
    page.select_option("#lobby-sort", "stakes")
    bbs = [r["bb"] for r in rows(page)]
    assert bbs == sorted(bbs, reverse=True) and len(set(bbs)) > 1, bbs
    page.select_option("#lobby-sort", "players")
    taken = [r["taken"] for r in rows(page)]
    assert taken == sorted(taken, reverse=True), taken
    page.select_option("#lobby-stakes", "5/10")
    expect(page.locator("#lobby-list .lobby-row")).not_to_have_count(0)
    assert {r["blinds"] for r in rows(page)} == {"NL 5/10"}
    page.select_option("#lobby-stakes", "")
    page.check("#lobby-free")
    expect(page.locator(f'.lobby-row[data-table="{full}"]')).to_have_count(0)
    assert not any(r["full"] for r in rows(page))
    page.uncheck("#lobby-free")
    # Watching needs no name either.
    page.locator(f'.lobby-row[data-table="{full}"] .btn-watch').click()
    expect(page.locator(".seat .seat-name")).to_have_count(2)
    expect(page.locator("#name-dialog")).to_have_count(0)
    page.click("#btn-lobby")

    # The full table's waiting list, kept by the server: a name is asked first; the page
    # shows her place on it, and the list can be left.
    page.locator(f'.lobby-row[data-table="{full}"] .btn-wait').click()
    page.fill("#nickname", "cat")
    page.click("#name-submit")
    expect(page.locator("#me .me-name")).to_have_text(re.compile(r"^cat( \d+)?$"))
    cat.name = page.locator("#me .me-name").inner_text().strip()   # "cat 3" on a shared server
    notice = page.locator(f'.waiting-notice[data-table="{full}"]')
    expect(notice).to_contain_text("You are number 1 of 1 on the waiting list at Full house")
    expect(page.locator("#lobby-screen")).not_to_contain_text("This page keeps the list")
    expect(page.locator(f'.lobby-row[data-table="{full}"] .btn-unwait')).to_have_text("#1 \u00b7 Leave list")
    # The lobby row counts the list (the server's lobby, refreshed every few seconds).
    expect(page.locator(f'.lobby-row[data-table="{full}"] .t-waiting')).to_have_text(
        " \u00b7 1 waiting", timeout=TIMEOUT_MS * 2)
    notice.locator(".btn-leave-list").click()
    expect(notice).to_have_count(0)
    page.locator(f'.lobby-row[data-table="{full}"] .btn-wait').click()
    expect(notice).to_be_visible()
    page.click("#alerts")     # the bell: notifications while the page is hidden
    expect(page.locator("#alerts")).to_have_attribute("aria-pressed", "true")
    # bob leaves. Mid-hand his seat frees when the hand ends: at once when his turn
    # comes (he folds), or after ann's turn clock (30 s, she does not act) when it is hers.
    bob.page.click("#btn-leave")
    bob.page.click("#leave-confirm")
    # ann plays her turns (check or call: bob's hand folds when its turn comes), so the
    # hand ends without waiting out her clock and time bank.
    turn = f"""() => {{ const st = window.__poker.tables.get('{full}');
        return !!(st && st.legal && st.legal.seat === st.you); }}"""

    def seat_held() -> bool:
        if ann.page.evaluate(turn):
            ann.page.keyboard.press("c")    # check or call; nothing once her turn is over
        return page.locator("#seat-offer-notice").count() > 0
    wait_for(seat_held, TIMEOUT_MS * 5 / 1000, "the seat held for cat", step=0.2)
    # The server holds the seat for cat: she is alerted (a sound, a notification, the
    # buy-in dialog) and not bought in for her.
    offer = page.locator("#seat-offer-notice")
    expect(offer).to_have_text(re.compile(
        r"^A seat is yours at Full house for (29|30) s: after that it goes to the next player "
        r"on the list\.$"), timeout=TIMEOUT_MS * 5)
    assert "seat" in page.evaluate("() => window.__poker.sounds")
    notes = page.evaluate("() => window.__poker.notes")
    assert len(notes) == 1 and notes[0]["title"] == "A seat is yours" \
        and notes[0]["tag"] == f"seat-{full}", notes
    assert re.fullmatch(r"Full house: it is held for you for (29|30) s\.", notes[0]["body"]), notes
    assert page.evaluate(f"() => window.__poker.tables.get('{full}').you") is None
    expect(notice).to_contain_text("A seat is yours at Full house")
    # Anyone else who tries to sit is told the seat is held.
    reply = bob.page.evaluate("""(table) => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.onopen = () => ws.send(JSON.stringify({type: "hello", protocol: 2, token: localStorage.getItem("poker.token")}));
        ws.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m.type === "welcome") ws.send(JSON.stringify({type: "sit", table, seat: 1, buy_in: 100, rid: 1}));
          else if (m.rid === 1) { ws.close(); resolve(m); }
        };
    })""", full)
    assert reply["type"] == "error" and reply["code"] == "seat_reserved", reply
    # She takes it at the amount she chooses.
    page.fill("#buyin-amount", "120")
    page.click("#buyin-submit")
    expect(page.locator(".seat-me")).to_have_attribute("data-seat", "1")
    expect(page.locator("#hand-log")).to_contain_text(f"{cat.name} sits down with 120")
    expect(page.locator(".toast").last).to_contain_text("You sit at Full house.")
    assert page.evaluate("() => window.__poker.waiting.size") == 0


# Watches a table page: every change of the screen, with what the page's real
# state holds at that moment, and each chip that flies.
RECORDER = """() => {
  window.__rec = [];
  window.__flying = 0;
  const t0 = performance.now();
  new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes) if (n.classList && n.classList.contains('flying-chip')) window.__flying++;
    const st = window.__poker.tables.get(window.__poker.route.table);
    window.__rec.push({
      t: performance.now() - t0,
      board: document.querySelectorAll('#board .card[data-card]').length,
      shown: document.querySelectorAll('.seat .seat-cards .card[data-card]').length,
      real_board: st && st.hand ? st.hand.board.length : 0,
      real_street: st && st.hand ? st.hand.street : null,
    });
  }).observe(document.getElementById('table-screen'), {subtree: true, childList: true});
}"""


@pytest.fixture
def paused_server(tmp_path):
    # The default pause between hands (3 s): a paced run-out fits in it.
    s = start_server(str(tmp_path), "--hand-pause", "3", "--turn-seconds", "30")
    yield s.url
    s.stop()


def test_all_in_run_out_is_tabled_first_and_dealt_at_a_readable_pace(browser, paused_server):
    table = create_table(paused_server, "Run-out")
    made = [Player(browser, paused_server, name) for name in ("ann", "bob", "cat", "dan")]
    ann, bob, cat, dan = made
    try:
        for p in made:
            p.login()
            p.open_table(table)
        dan.page.emulate_media(reduced_motion="reduce")
        ann.sit(0)
        bob.sit(1)
        first = whose_turn([ann, bob])
        for p in (cat, dan):
            p.page.evaluate(RECORDER)
        for p in (ann, bob):        # no next hand clears the result: both sit out after it
            p.page.click("#btn-sitout")
            expect(p.page.locator("#btn-sitout")).to_have_text("Stay in")
        first.page.click('.preset[data-preset="max"]')
        first.page.click("#act-raise")
        whose_turn([ann, bob]).page.click("#act-call")
        for p in (cat, dan):
            expect(p.page.locator("#result .result-line").first).to_be_visible()
            expect(p.page.locator("#board .card[data-card]")).to_have_count(5)
        rec = cat.page.evaluate("window.__rec")
        # Both hands are face up before the first card of the run-out.
        first_flop = next(r for r in rec if r["board"] >= 3)
        assert any(r["shown"] == 4 and r["board"] == 0 for r in rec), rec
        # ... while the page's state had the whole hand already (only the drawing waits).
        assert first_flop["real_board"] == 5 and first_flop["real_street"] == "complete", first_flop
        # Then a card at a time, at a readable pace.
        t3, t4, t5 = (next(r["t"] for r in rec if r["board"] >= n) for n in (3, 4, 5))
        assert t4 - t3 >= 500 and t5 - t4 >= 500, (t3, t4, t5)
        # Chips fly to the pot and to the winner, unless the player asked for reduced motion.
        assert cat.page.evaluate("window.__flying") > 0
        assert dan.page.evaluate("window.__flying") == 0
        for p in made:
            assert not p.errors, f"JavaScript errors in {p.name}'s page: {p.errors}"
    finally:
        for p in made:
            p.close()


def protocol_error_codes() -> list[str]:
    """The codes of docs/protocol.md's error table."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    table = text.split("### error", 1)[1].split("###", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, re.M)


FALLBACK = "Something went wrong. Please try again."


def test_every_error_code_has_a_sentence_and_a_paused_or_unreachable_server_is_told(players, server):
    codes = protocol_error_codes()
    assert {"paused", "unavailable", "illegal", "internal"} <= set(codes), codes
    table = create_table(server, "Error codes")
    ann, bob = players("ann"), players("bob")
    ann.login()
    said = ann.page.evaluate("""async (codes) => {
        const { errorText } = await import('/static/errors.js');
        return Object.fromEntries(codes.map((code) => [code, errorText({ code, message: 'developer words' })]));
    }""", codes)
    generic = sorted(code for code, text in said.items() if text == FALLBACK or "developer" in text)
    assert generic == [], f"codes told with no sentence of their own: {generic}"
    # The server refuses while paused (it cannot save) or when the table's server is
    # unreachable (a cluster): the page says what that means for the player. The page's
    # socket goes through a proxy that answers a sit and a chat as such a server would.
    refuse = {"sit": ("paused", "play is paused: the journal cannot be written; ..."),
              "chat": ("unavailable", "the cluster's players cannot be reached")}

    def proxy(ws):
        real = ws.connect_to_server()

        def from_page(message):
            msg = json.loads(message)
            if msg.get("type") in refuse:
                code, text = refuse[msg["type"]]
                ws.send(json.dumps({"type": "error", "code": code, "message": text, "rid": msg.get("rid")}))
            else:
                real.send(message)
        ws.on_message(from_page)
        real.on_message(ws.send)

    page = bob.page
    page.route_web_socket(re.compile(r"/ws"), proxy)
    bob.login()
    bob.open_table(table)
    page.click('.seat[data-seat="0"] .sit-btn')
    page.click("#buyin-submit")
    expect(page.locator("#sit-dialog .modal-error")).to_have_text(
        "Play is paused: the server cannot save the game just now. Your seat and chips are safe, "
        "and play resumes by itself.")
    page.keyboard.press("Escape")
    page.fill("#chat-input", "hello")
    page.press("#chat-input", "Enter")
    expect(page.locator(".toast").last).to_contain_text("The table's server cannot be reached just now")
    assert page.locator(".toast", has_text=FALLBACK).count() == 0


def test_new_table_form_checks_what_the_server_checks_in_sentences(players, server):
    eve = players("eve")
    eve.login()
    page = eve.page
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.click("#btn-create")
    error = page.locator("#create-dialog .modal-error")

    def refused(fields: dict, sentence: str):
        for key, value in fields.items():
            if key == "#new-game":
                page.select_option(key, value)
            elif key == "#new-seats":
                page.select_option(key, value)
            else:
                page.fill(key, value)
        page.click("#create-submit")
        expect(error).to_have_text(sentence)

    refused({"#new-sb": "0"}, "The small blind must be at least 1 chip.")
    refused({"#new-sb": "5", "#new-bb": "2"}, "The big blind must be at least the small blind (5).")
    refused({"#new-sb": "1", "#new-bb": "2", "#new-min": "500", "#new-max": "100"},
            "The maximum buy-in must be at least the minimum buy-in (500).")
    refused({"#new-min": "40", "#new-max": "5000"},
            "The maximum buy-in can be at most 1,000 big blinds (2,000 chips).")
    refused({"#new-max": "200", "#new-min": "0"}, "The minimum buy-in must be at least 1 chip.")
    refused({"#new-min": "40", "#new-game": "PO5", "#new-seats": "10"},
            "One deck deals this game to at most 9 players: choose 9 seats or fewer.")
    refused({"#new-seats": "9", "#new-name": "   "}, "Give the table a name.")
    assert posts == [], posts       # none of these reached the server
    # What only the server knows (here: the player's quota of tables) is a sentence too.
    page.route("**/api/tables", lambda route: route.fulfill(
        status=429, content_type="application/json",
        body=json.dumps({"error": "you already have 3 tables open: at most 3 (an unused table ...)"}))
        if route.request.method == "POST" else route.fallback())
    page.fill("#new-name", "Quota")
    page.click("#create-submit")
    expect(error).to_have_text("You have as many tables open as one player may: an unused table closes "
                               "by itself after a while, then try again.")


@pytest.fixture
def own_server(browser, tmp_path):
    """start(*flags) -> (url, players): a server of the test's own pace, and a players()
    for it (its pages are checked for JavaScript errors and closed at the end)."""
    started, made = [], []

    def start(*flags, prelude=""):
        s = start_server(str(tmp_path), *flags, prelude=prelude)
        started.append(s)

        def make(name, **kw):
            p = Player(browser, s.url, name, **kw)
            made.append(p)
            return p
        return s.url, make
    try:
        yield start
        for p in made:
            assert not p.errors, f"JavaScript errors in {p.name}'s page: {p.errors}"
    finally:
        for p in made:
            p.close()
        for s in started:
            s.stop()


def stacks(p: Player) -> list:
    return p.page.evaluate(
        "() => window.__poker.tables.get(window.__poker.route.table).seats.map(s => s && s.stack)")


def rewrite_first(page, kind: str, change: dict) -> None:
    """The page's socket goes through a proxy that changes the first ``kind`` message
    it sends (as a page with stale numbers would send it)."""
    done = []

    def proxy(ws):
        real = ws.connect_to_server()

        def from_page(message):
            msg = json.loads(message)
            if msg.get("type") == kind and not done:
                done.append(msg)
                message = json.dumps({**msg, **change})
            real.send(message)
        ws.on_message(from_page)
        real.on_message(ws.send)
    page.route_web_socket(re.compile(r"/ws"), proxy)


def test_a_busted_player_tops_up_from_the_tables_minimum_buy_in(own_server):
    base, players = own_server("--hand-pause", "0.3", "--turn-seconds", "30")
    table = create_table(base, "Top-up from zero")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        rewrite_first(p.page, "top_up", {"amount": 39})
        p.login()
        p.open_table(table)
    ann.sit(0, buy_in=40)
    bob.sit(1, buy_in=40)
    # Equal stacks, all in and called: the showdown busts one of them (a split pot: again).
    for _ in range(20):
        if 0 in stacks(ann):
            break
        hand = ann.hand_number()
        first = whose_turn([ann, bob])
        first.page.click('.preset[data-preset="max"]')
        first.page.click("#act-raise")
        whose_turn([ann, bob]).page.click("#act-call")
        ann.page.wait_for_function(
            "(n) => { const s = window.__poker.tables.get(window.__poker.route.table);"
            " return s.hand && (s.hand.number > n || s.hand.street === 'complete'); }", arg=hand)
    busted = ann if stacks(ann)[0] == 0 else bob
    page = busted.page
    expect(page.locator(".seat-me .seat-stack")).to_have_text(re.compile(r"^0"))
    expect(page.locator("#action-status")).to_have_text("You are out of chips: add chips to play on.")
    page.click("#btn-topup")
    rule = page.locator("#topup-rule")
    expect(rule).to_have_text("With no chips left you buy in again: add at least the table's minimum "
                              "buy-in of 40, and up to 200 (the table maximum is 200). Chips are added "
                              "between hands.")
    expect(page.locator("#topup-limits")).to_have_text(re.compile(r"Min 40.*Max 200"))
    error = page.locator("#topup-dialog .modal-error")
    # Below the minimum, above the maximum: put back in range, said so, nothing sent.
    page.fill("#topup-amount", "39")
    page.click("#topup-submit")
    expect(error).to_have_text("The least you can add now is 40: the amount is now 40.")
    expect(page.locator("#topup-amount")).to_have_value("40")
    page.fill("#topup-amount", "500")
    page.locator("#topup-amount").blur()
    expect(page.locator("#topup-amount")).to_have_value("200")
    # The server refuses 39 (what a page with stale limits would send): said in those terms.
    page.fill("#topup-amount", "45")
    page.click("#topup-submit")
    expect(error).to_have_text("The server refused that amount. With no chips left you buy in again: add "
                               "at least the table's minimum buy-in of 40, and up to 200 (the table "
                               "maximum is 200).")
    page.click("#topup-submit")
    expect(page.locator("#topup-dialog")).to_have_count(0)
    expect(page.locator(".seat-me .seat-stack")).to_have_text(re.compile(r"^45"))


def test_waiting_for_the_big_blind_is_the_servers_word(players, server):
    table = create_table(server, "Big blind wait", seats=4)
    ann, bob, cat, dan = players("ann"), players("bob"), players("cat"), players("dan")
    for p in (ann, bob, cat, dan):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    expect(ann.page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2)
    # bob sits out once this hand is over: only ann is ready for the next one, so a
    # newcomer is dealt in at once then (a fresh start), not at the big blind.
    bob.page.click("#btn-sitout")
    expect(bob.page.locator("#btn-sitout")).to_have_text("Stay in")
    hand = ann.hand_number()
    cat.sit(2)
    expect(cat.page.locator("#action-status")).to_have_text("Waiting for the next hand\u2026")
    expect(ann.page.locator('.seat[data-seat="2"] .seat-tag')).to_have_count(0)
    whose_turn([ann, bob]).page.click("#act-fold")
    expect(cat.page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2, timeout=TIMEOUT_MS * 2)
    assert cat.hand_number() == hand + 1
    # Now ann and cat play on without dan: he waits for the big blind, and everyone sees it.
    dan.sit(3)
    expect(dan.page.locator("#action-status")).to_have_text("You will be dealt in at the big blind.")
    for p in (ann, dan):
        expect(p.page.locator('.seat[data-seat="3"] .seat-tag')).to_have_text("Waiting for BB")
    dan.page.reload()    # a full view says the same
    expect(dan.page.locator('.seat[data-seat="3"] .seat-tag')).to_have_text("Waiting for BB")
    assert dan.page.evaluate(
        "() => window.__poker.tables.get(window.__poker.route.table).seats[3].waits_for_big_blind") is True


def test_sit_out_at_the_big_blind_plays_on_until_the_big_blind_comes(players, server):
    table = create_table(server, "Sit out at BB")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    expect(ann.page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2)
    hand = ann.hand_number()
    big = ann.page.evaluate("() => window.__poker.tables.get(window.__poker.route.table).hand.big_blind")
    # Heads-up the big blind alternates: the other player's is the next hand's.
    leaver, seat = (bob, 1) if big == 0 else (ann, 0)
    page = leaver.page
    page.click("#btn-sitout-bb")
    expect(page.locator("#btn-sitout")).to_have_text("Stay in")
    expect(page.locator("#btn-sitout")).to_have_attribute("title", "You sit out at the big blind: stay in instead")
    expect(page.locator("#btn-sitout-bb")).to_be_hidden()
    expect(page.locator("#hand-log")).to_contain_text(f"{leaver.name} will sit out at the big blind")
    # This hand plays on with them in it.
    expect(page.locator(".seat-me .seat-cards .card[data-card]")).to_have_count(2)
    expect(page.locator(".seat-me .seat-tag", has_text="Sitting out")).to_have_count(0)
    whose_turn([ann, bob]).page.click("#act-fold")
    # The big blind would reach them now: they sit out instead of posting it, and the
    # other player, alone, waits.
    for p in (ann, bob):
        expect(p.page.locator(f'.seat[data-seat="{seat}"] .seat-tag')).to_have_text("Sitting out")
    expect(page.locator("#hand-log")).to_contain_text(f"{leaver.name} sits out")
    expect(page.locator("#btn-sitout")).to_have_text("I'm back")
    assert ann.hand_number() == hand and bob.hand_number() == hand
    assert not any(p.page.locator("#hand-log").inner_text().count(f"Hand #{hand + 1}") for p in (ann, bob))


def test_names_in_any_script_go_through_the_name_dialog_onto_the_seats(players, server):
    table = create_table(server, "Names of the world", seats=4)
    made = [players(name) for name in ("José", "Zoë", "李", "שלום")]
    for seat, p in enumerate(made):
        p.login()          # through the name dialog (Choose a name, type, Play)
        p.open_table(table)
        p.sit(seat)
    for p in made:
        expect(p.page.locator("#me .me-name")).to_have_text(p.name)
    names = made[0].page.locator(".seat .seat-name")
    expect(names).to_have_text([p.name for p in made])
    assert [p.name.split(" ")[0] for p in made] == ["José", "Zoë", "李", "שלום"]


def test_chips_check_and_clock_warning_sounds(own_server):
    # A short turn: the clock warns 5 s before the end of it.
    base, players = own_server("--hand-pause", "1", "--turn-seconds", "8")
    table = create_table(base, "Sounds")
    ann, bob = players("ann"), players("bob")
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.sit(0)
    bob.sit(1)
    sounds = "() => window.__poker.sounds"
    first = whose_turn([ann, bob])
    other = bob if first is ann else ann
    first.page.click("#act-call")            # the button calls: chips
    for p in (ann, bob):
        p.page.wait_for_function("() => window.__poker.sounds.includes('chips')")
    expect(other.page.locator("#act-call")).to_contain_text("Check")
    other.page.click("#act-call")            # the big blind checks: a knock
    for p in (ann, bob):
        p.page.wait_for_function("() => window.__poker.sounds.includes('check')")
    # The flop: whoever is to act lets the clock run: their page warns, once.
    flop = whose_turn([ann, bob])
    expect(flop.page.locator("#board .card[data-card]")).to_have_count(3)
    flop.page.wait_for_function("() => window.__poker.sounds.includes('warning')")
    assert {"deal", "chips", "check", "warning"} <= set(flop.page.evaluate(sounds))
    flop.page.click("#act-call")


def test_a_hidden_page_with_the_bell_on_notifies_the_players_turn(players, server):
    table = create_table(server, "Notify")
    ann, bob = players("ann"), players("bob")
    ann.ctx.add_init_script(HIDDEN)
    ann.ctx.grant_permissions(["notifications"])
    for p in (ann, bob):
        p.login()
        p.open_table(table)
    ann.page.click("#alerts")
    expect(ann.page.locator("#alerts")).to_have_attribute("aria-pressed", "true")
    ann.sit(0)
    bob.sit(1)
    while (p := whose_turn([ann, bob])) is not ann:
        p.page.click("#act-call")
    ann.page.wait_for_function("() => window.__poker.notes.length > 0")
    assert ann.page.evaluate("() => window.__poker.notes")[0] == {
        "title": "Your turn", "body": "Notify", "tag": f"turn-{table}"}
    # A visible page (bob's), or one whose player did not turn the bell on, shows none.
    assert bob.page.evaluate("() => window.__poker.notes") == []


def test_a_paused_server_is_told_plainly_until_play_resumes(own_server, tmp_path):
    """The disk fails: every page says that play is paused (a page opened meanwhile too),
    and the banner goes when the server can save again."""
    from test_fault_soak import FULL_DISK
    gate, snaps = tmp_path / "gate", str(tmp_path / "snaps")
    gate.mkdir()
    url, make = own_server("--snapshot-dir", snaps, "--journal", "everysec",
                           "--snapshot-every", "3600",
                           prelude=FULL_DISK.format(gate=str(gate), snaps=snaps))
    ann = make("Ann")
    ann.login()
    banner = ann.page.locator("#paused-banner")
    expect(banner).to_be_hidden()
    (gate / "disk").touch()
    other = websocket.create_connection(url.replace("http", "ws") + "/ws", timeout=5)
    other.send(json.dumps({"type": "hello", "protocol": 2, "name": "Bob"}))  # journaled: fails
    other.close()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Play is paused")
    ann.page.reload()                          # a page opened during the pause hears of it
    expect(banner).to_be_visible()
    (gate / "disk").unlink()
    expect(banner).to_be_hidden(timeout=20_000)   # the next image, within a few seconds


def test_new_table_takes_its_game_and_omaha_cards_are_legible_on_a_phone(players, server):
    """The New table dialog's game goes to the server and the lobby row says it; four and
    five hole cards at a phone's width overlap by at most half a card each."""
    ann, bob = players("ann", viewport=PHONE), players("bob")
    ann.login()
    bob.login()
    for name, game, label, count in (("Omaha by click", "PO", "PLO 1/2", 4),
                                     ("Five by click", "PO5", "PLO5 1/2", 5)):
        ann.page.goto(ann.base + "/#/")
        ann.page.click("#btn-create")
        ann.page.fill("#new-name", name)
        ann.page.select_option("#new-seats", "2")
        ann.page.select_option("#new-game", game)
        ann.page.click("#create-submit")
        expect(ann.page.locator(".table-title")).to_have_text(name)
        table = ann.page.evaluate("() => window.__poker.route.table")
        ann.page.click("#btn-lobby")
        row = ann.page.locator(".lobby-row", has_text=name)
        expect(row.locator(".blinds")).to_have_text(label)
        ann.open_table(table)
        bob.open_table(table)
        ann.sit(0)
        bob.sit(1)
        cards = ann.page.get_by_role("group", name="Your cards").get_by_role(
            "img", name=CARD_NAME)
        expect(cards).to_have_count(count)
        boxes = [cards.nth(i).bounding_box() for i in range(count)]
        width = boxes[0]["width"]
        assert width >= 24, boxes                               # a card a finger can see
        for a, b in zip(boxes, boxes[1:]):
            assert b["x"] - a["x"] >= width * 0.45, boxes       # each shows its corner
        assert boxes[-1]["x"] + width <= PHONE[0], boxes        # all on the screen
        no_sideways_scroll(ann.page)
