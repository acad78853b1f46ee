"""The browser client's fixes for a new player's report (issue 13), in a real browser.

Same setup as tests/test_browser.py (whose fixtures and helpers these tests share): a
real server on 127.0.0.1, Debian's Chromium driven by Playwright. Every wait is on a
condition (expect, wait_for_function), never a fixed sleep.
"""

from __future__ import annotations

import re

from test_browser import (TIMEOUT_MS, Player, browser, create_table, expect, players,  # noqa: F401
                          server, whose_turn)

PHONE = (390, 844)
LONG_TABLE = "W" * 40          # the longest name POST /api/tables allows, no spaces
LONG_PLAYER = "W" * 20         # the longest nickname


def no_sideways_scroll(page) -> None:
    """The page is no wider than the window: nothing sits off screen to the right."""
    widths = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


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
        '.seat-name, .seat-stack, .seat-tag, .bet-amount, .pot-total, .pot-amount, .act-label, .preset, #action-status')]
        .filter(e => e.offsetParent !== null && e.textContent.trim())
        .map(e => [e.className, parseFloat(getComputedStyle(e).fontSize)])
        .filter(([, size]) => size < 12)""")
    assert small == []
