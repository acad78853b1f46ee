"""A Hypothesis state machine over whole sessions at one table.

Random tables of every game (No-Limit Hold'em most often, Pot-Limit Omaha with
four and five cards, Fixed-Limit Hold'em; 2 to 10 seats, blinds 1/2 or 5/10,
sometimes an ante for everyone or a big-blind ante, sometimes a straddle or run
twice, stacks from 1 chip to 500 big blinds, so multi-way all-ins and side pots
are common) play
hands with random legal actions, random bet sizes, timeouts, players leaving
mid-hand (all in or not), sitting out and coming back (posting what they
missed or waiting), agreeing to run twice, and seat changes between hands.
After every step the invariants below must hold, and every finished hand,
written as PHH, replays to the same stacks in our reader and in pokerkit's
strict one (but 5-card PLO, which pokerkit lacks, and the fixed-limit hands
where pokerkit's short all-in rule differs: see test_pokerkit_diff).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from game.cards import DECK
from game.phh import dumps_phh, hand_to_phh, loads_phh, replay
from game.table import SIT_OUT_WHEN
from game.table import (AllIn, Bet, Call, Check, Fold, IllegalAction, Muck, Raise, RunTwice,
                        Show, SitDown, SitIn, SitOut, StandUp, StartHand, Timeout, TopUp, apply,
                        legal_actions, new_table, table_from_json, table_to_json)
from game.variants import GAMES, LIMIT, deck_fits
from game.views import event_view, table_view
from hands import stacked_deck
from pokerkit_reader import strict_stacks
from test_phh import check_export, pokerkit_paid, raised_after_a_short_all_in, real_stacks

NAMES = [f"player-{c}" for c in "abcdefghijklmnopqrstuvwxyz"]


def strings(value):
    """Every string anywhere in a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


class TableSessions(RuleBasedStateMachine):
    """One table, many hands; ``brought_in - taken_away`` chips must always be on it."""

    @initialize(size=st.integers(2, 10), blinds=st.sampled_from([(1, 2), (5, 10)]),
                ante=st.sampled_from([0, 0, 1, 2]),
                ante_kind=st.sampled_from(["each", "each", "big_blind"]),
                straddle=st.booleans(), run_it_twice=st.booleans(),
                game=st.sampled_from(("NT",) + GAMES), data=st.data())
    def open_table(self, size, blinds, ante, ante_kind, straddle, run_it_twice, game, data):
        size = min(size, 9) if game == "PO5" else size
        event(f"game {game}")
        self.table = new_table(size, *blinds, ante=ante, ante_kind=ante_kind,
                               straddle=2 * blinds[1] if straddle and game != "FT" else 0,
                               run_it_twice=run_it_twice and deck_fits(game, size, 2),
                               game=game)
        self.big = blinds[1]
        self.brought_in = self.taken_away = 0
        self.names = iter(NAMES)
        self.hand_log: list[dict] = []   # per hand: big blind, who was dealt in, fresh start
        self.hand_start, self.hand_actions = None, []   # to write the hand as PHH
        self.exported = 0
        for seat in range(size):
            if data.draw(st.integers(0, 4)):
                self.sit_down_at(seat, data.draw(self.stacks()))

    def stacks(self):
        big = self.big
        return st.one_of(st.integers(1, 3 * big), st.integers(1, 500 * big),
                         st.sampled_from([big, 20 * big, 100 * big, 500 * big]))

    def sit_down_at(self, seat: int, stack: int) -> None:
        name = next(self.names, None)
        if name is None:
            return
        self.table, _ = apply(self.table, SitDown(seat, name, stack))
        self.brought_in += stack

    def apply(self, action) -> list[dict]:
        running = self.table.hand_running
        table, events = apply(self.table, action)
        for e in events:
            if e.type == "left":   # a player who left mid-hand may take chips twice
                self.taken_away += e.stack
        self.table = table
        if self.table.hand is not None:
            self.events += events
            self.steps += 1
        if running or isinstance(action, StartHand):
            self.hand_actions.append(action)
            if not self.table.hand_running:
                self.check_export()
        return events

    def check_export(self):
        """The finished hand as PHH replays to its stacks in both readers."""
        phh = hand_to_phh(self.hand_start, self.hand_actions)
        assert phh["finishing_stacks"] == real_stacks(phh, self.table, self.events)
        check_export(phh, self.table, self.events)
        if "_inexact" in phh:  # a stack below the ante and a dead small blind: see hand_to_phh
            event("hand not exactly expressible in PHH")
            return
        text = dumps_phh(phh)
        assert replay(loads_phh(text)).finishing_stacks == phh["finishing_stacks"], text
        if phh["variant"] == "PO5" or (phh["variant"] == "FT"
                                       and raised_after_a_short_all_in(self.events)):
            event("hand pokerkit cannot read strictly (5-card PLO, or a fixed-limit "
                  "raise after a short all-in)")
            return
        expected = pokerkit_paid(phh, phh["finishing_stacks"], self.events)
        assert strict_stacks(text) == expected, text
        self.exported += 1

    def occupied(self):
        return [i for i, s in enumerate(self.table.seats) if s is not None]

    @rule(data=st.data())
    def step(self, data):
        """One rule that looks at the table (rules with preconditions make Hypothesis retry)."""
        if self.table.hand_running:
            self.play(data)
            return
        kind = data.draw(st.integers(0, 10))
        if kind <= 5:
            self.start_hand(data.draw(st.permutations(DECK)))
        else:
            [self.sit_down, self.stand_up, self.sit_out_or_in, self.top_up,
             self.run_twice][kind - 6](data)

    # -- between hands ------------------------------------------------------------------------

    def sit_down(self, data):
        empty = [i for i, s in enumerate(self.table.seats) if s is None]
        if empty:
            self.sit_down_at(data.draw(st.sampled_from(empty)), data.draw(self.stacks()))

    def stand_up(self, data):
        if self.occupied():
            self.apply(StandUp(data.draw(st.sampled_from(self.occupied()))))

    def sit_out_or_in(self, data):
        if self.occupied():
            seat = data.draw(st.sampled_from(self.occupied()))
            out = self.table.seats[seat].sitting_out
            self.apply(SitIn(seat, post=data.draw(st.booleans())) if out
                       else SitOut(seat, data.draw(st.sampled_from(SIT_OUT_WHEN))))

    def run_twice(self, data):
        present = [i for i in self.occupied() if not self.table.seats[i].leaving]
        if present and self.table.run_it_twice:
            seat = data.draw(st.sampled_from(present))
            self.apply(RunTwice(seat, data.draw(st.booleans())))

    def top_up(self, data):
        if self.occupied():
            seat = data.draw(st.sampled_from(self.occupied()))
            amount = data.draw(st.integers(1, 100 * self.big))
            self.apply(TopUp(seat, amount))
            self.brought_in += amount

    def start_hand(self, deck):
        before = self.table
        eligible = [i for i, s in enumerate(before.seats)
                    if s and s.stack > 0 and not s.sitting_out]
        ready = [i for i in eligible if not before.seats[i].waiting]
        self.events, self.steps, self.raises = [], 0, 0
        self.hand_start, self.hand_actions = before, []
        try:
            self.apply(StartHand(tuple(deck)))
        except IllegalAction:
            assert len(eligible) < 2 and self.table == before
            return
        hand = self.table.hand
        dealt = {self.table.seats[i].player for i, s in enumerate(self.table.seats)
                 if s and s.in_hand}
        self.hand_log.append({
            "big": self.table.seats[hand.big_blind_seat].player, "big_seat": hand.big_blind_seat,
            "dealt": dealt, "dealt_seats": {i for i, s in enumerate(self.table.seats)
                                            if s and s.in_hand},
            "fresh": len(ready) < 2 or before.big_blind_pos is None,
            "waited": {s.player for s in before.seats if s and s.waiting},
            "size": len(self.table.seats)})
        self.check_blinds_rotation()

    def check_blinds_rotation(self):
        """Dead button rule: the big blind moves to the next player in line every hand."""
        if len(self.hand_log) < 2:
            return
        last, now = self.hand_log[-2], self.hand_log[-1]
        # Nobody posts the big blind twice in a row while others are dealt in.
        assert now["big"] != last["big"] or len(now["dealt"]) == 1
        # Nobody dealt in both hands is skipped: no such player sits strictly
        # between the last big blind and this one, clockwise.
        size = now["size"]
        gap = (now["big_seat"] - last["big_seat"]) % size
        between = {(last["big_seat"] + k) % size for k in range(1, gap)}
        for seat in between & now["dealt_seats"] & last["dealt_seats"]:
            player = self.table.seats[seat].player
            assert player not in (last["dealt"] & now["dealt"]), f"{player} skipped the big blind"
        # A player who waits for the big blind comes in on it (a busted one
        # too: test_a_busted_player_who_tops_up_waits_for_the_big_blind below),
        # unless too few players were ready and everyone was dealt in. (One
        # back from sitting out who missed no big blind, or who posts what
        # they missed, does not wait.)
        if now["fresh"]:
            return
        for player in (now["dealt"] - last["dealt"] - {now["big"]}) & now["waited"]:
            raise AssertionError(f"{player} was dealt in without waiting for the big blind")

    # -- during a hand ------------------------------------------------------------------------

    def play(self, data):
        legal = legal_actions(self.table)
        kind = data.draw(st.integers(0, 39))
        if kind == 0:  # somebody leaves (their turn or not, all in or not): their stack goes
            in_hand = [i for i, s in enumerate(self.table.seats)
                       if s and s.in_hand and not s.leaving]
            self.apply(StandUp(data.draw(st.sampled_from(in_hand))))
            return
        if kind == 1 and self.table.run_it_twice:
            self.run_twice(data)
            return
        if kind == 2:  # somebody plans to sit out (when the hand ends, or at the big blind)
            present = [i for i, s in enumerate(self.table.seats)
                       if s and not s.leaving and not s.sitting_out]
            seat = data.draw(st.sampled_from(present))
            self.apply(SitOut(seat, data.draw(st.sampled_from(("hand", "big_blind")))))
            return
        if kind <= 3:
            self.apply(Timeout(legal.seat))
            return
        self.check_offered_and_refused(legal)
        self.apply(data.draw(self.offered(legal)))

    def offered(self, legal):
        seat, hand = legal.seat, self.table.hand
        if hand.street == "showdown":
            return st.sampled_from([Show(seat)] + [Muck(seat)] * ("muck" in legal.actions))
        # Mostly check or call, so that hands reach showdowns.
        passive = Check(seat) if "check" in legal.actions else Call(seat)
        choices = [st.just(Fold(seat)), st.just(passive), st.just(passive), st.just(passive)]
        if "bet" in legal.actions or "raise" in legal.actions:
            cls = Bet if "bet" in legal.actions else Raise
            choices.append(st.builds(cls, st.just(seat),
                                     st.integers(legal.min_to, legal.max_to)))
        if "all_in" in legal.actions:
            choices.append(st.just(AllIn(seat)))
        return st.one_of(choices)

    def check_offered_and_refused(self, legal):
        """Every kind of action offered is accepted; a sample of others is refused."""
        table, seat, hand = self.table, legal.seat, self.table.hand
        accepted = []
        if hand.street == "showdown":
            accepted += [Show(seat)] + [Muck(seat)] * ("muck" in legal.actions)
            refused = [Fold(seat), Check(seat), Call(seat), Raise(seat, hand.current_bet + 1)]
            refused += [Muck(seat)] * ("muck" not in legal.actions)
        else:
            accepted += [Fold(seat), Check(seat) if "check" in legal.actions else Call(seat)]
            refused = [Call(seat) if "check" in legal.actions else Check(seat),
                       Show(seat), Muck(seat)]
            cls = Raise if hand.current_bet else Bet
            refused.append((Bet if cls is Raise else Raise)(seat, max(legal.max_to, 1)))
            if legal.max_to:
                accepted += [cls(seat, legal.min_to), cls(seat, legal.max_to)]
                # Pot and fixed limit: no all-in above the most.
                (accepted if "all_in" in legal.actions else refused).append(AllIn(seat))
                refused += [cls(seat, legal.max_to + 1), cls(seat, legal.min_to - 1),
                            cls(seat, hand.current_bet)]
            else:
                # Betting is not reopened (or nobody could answer): no raise of any size.
                seat_ = table.seats[seat]
                refused += [cls(seat, seat_.bet + seat_.stack), cls(seat, hand.current_bet + 1)]
                if "all_in" not in legal.actions:
                    refused.append(AllIn(seat))
        others = [i for i, s in enumerate(table.seats) if s and i != seat]
        for other in others:
            refused += [Fold(other), Check(other), Call(other), Show(other)]
        for action in accepted:
            apply(table, action)  # raises if refused
        for action in refused:
            try:
                apply(table, action)
            except IllegalAction:
                pass
            else:
                raise AssertionError(f"{action} was accepted; offered {legal}")
            assert self.table == table

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def chips_are_conserved(self):
        assert self.table.chips() + self.taken_away == self.brought_in

    @invariant()
    def cards_are_all_there_once(self):
        hand = self.table.hand
        if not self.table.hand_running:
            return
        holes = [c for s in self.table.seats if s and s.in_hand for c in s.cards]
        second = [c for c in hand.second_board if c not in hand.board]  # run twice
        cards = holes + list(hand.board) + second + list(hand.deck)
        assert len(cards) == 52 and set(cards) == set(DECK)

    @invariant()
    def exactly_one_player_to_act(self):
        if not self.table.hand_running:
            assert legal_actions(self.table) is None
            return
        legal = legal_actions(self.table)
        assert legal is not None and legal.seat == self.table.hand.to_act
        seat = self.table.seats[legal.seat]
        if self.table.hand.street == "showdown":
            assert seat.live and not seat.shown and not seat.mucked
        else:
            assert seat.can_act and legal.min_to <= legal.max_to
            if LIMIT[self.table.game] == "fixed":
                assert legal.min_to == legal.max_to   # one size: no choosing
            # No bet or raise when nobody else still in could call any part of it.
            hand = self.table.hand
            if not any(s and s.live and s.stack + s.bet > hand.current_bet
                       for i, s in enumerate(self.table.seats) if i != legal.seat):
                assert legal.max_to == 0 and legal.actions[:2] in (("fold", "call"),
                                                                   ("fold", "check"))
        # A hand cannot go on forever: a betting round takes at most one
        # action per player plus one per raise.
        players = len(self.hand_log[-1]["dealt"])
        raises = sum(1 for e in self.events
                     if e.type == "action" and e.action in ("bet", "raise"))
        assert self.steps <= 4 * players * (raises + 2) + players

    @invariant()
    def finished_hands_paid_every_chip(self):
        hand = self.table.hand
        if hand is None or hand.running or not getattr(self, "events", None):
            return
        if not any(e.type == "hand_ended" for e in self.events):
            return
        put_in = sum(e.amount for e in self.events if e.type in ("blind", "action"))
        back = sum(e.amount for e in self.events if e.type == "uncalled")
        awards = [e for e in self.events if e.type == "award"]
        event(f"hand ended: {len(awards)} pot(s)")
        if any(e.type == "show" for e in self.events):
            event("hand ended: showdown")
        assert sum(a.amount for a in awards) == put_in - back
        for a in awards:
            # (An award can be 0: everyone folds to a big blind with a dead
            # small blind and no ante; the blind comes back as uncalled.)
            assert a.amount >= 0
            assert sum(w.amount for w in a.winners) == a.amount
        assert all(s.bet == 0 for s in self.table.seats if s)

    @invariant()
    def json_round_trip(self):
        data = table_to_json(self.table)
        assert table_from_json(json.loads(json.dumps(data))) == self.table

    @invariant()
    def views_hide_what_they_must(self):
        table, hand = self.table, self.table.hand
        if hand is None:
            return
        deck = set(hand.deck)
        for viewer in [None, *range(len(table.seats))]:
            hidden = set(deck)
            for i, s in enumerate(table.seats):
                if s and i != viewer and not s.shown:
                    hidden.update(s.cards)
            seen = set(strings(table_view(table, viewer)))
            assert not seen & hidden
            for e in getattr(self, "events", [])[-12:]:
                if e.type == "hole_cards":
                    assert (event_view(e, viewer).cards is not None) == (e.seat == viewer)
                    assert (event_view(e, viewer).player is not None) == (e.seat == viewer)


TableSessions.TestCase.settings = settings(
    max_examples=60, stateful_step_count=120, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                          HealthCheck.large_base_example])
test_table_sessions = TableSessions.TestCase


def test_a_busted_player_who_tops_up_waits_for_the_big_blind():
    table = new_table(4, 1, 2)
    for seat, stack in enumerate([100, 100, 100, 2]):
        table, _ = apply(table, SitDown(seat, f"p{seat}", stack))
    # Hand 1: button 0, blinds 1 and 2; seat 3 goes all in and busts.
    table, _ = apply(table, StartHand(stacked_deck([1, 2, 3, 0], {2: "AsAd", 3: "7c2d"},
                                                   "KhQh9s4c3c")))
    for action in [AllIn(3), Fold(0), Fold(1)]:
        table, _ = apply(table, action)
    assert table.seats[3].stack == 0
    # Hand 2 without seat 3: the big blind passes its seat (button 1, blinds 2 and 0).
    table, _ = apply(table, StartHand(DECK))
    assert (table.hand.button, table.hand.big_blind_seat) == (1, 0)
    while table.hand_running:
        table, _ = apply(table, Fold(table.hand.to_act))
    table, _ = apply(table, TopUp(3, 100))
    # Hand 3: button 2, blinds 0 and 1. Seat 3 sits between the button and the
    # small blind: dealt in now it would play without posting and first pay a
    # big blind in hand 5, having skipped the one that passed it in hand 2.
    table, _ = apply(table, StartHand(DECK))
    assert (table.hand.button, table.hand.big_blind_seat) == (2, 1)
    assert not table.seats[3].in_hand


def test_a_fresh_start_does_not_give_anyone_the_big_blind_twice():
    table = new_table(3, 1, 2)
    table, _ = apply(table, SitDown(0, "ann", 2))
    table, _ = apply(table, SitDown(2, "bob", 100))
    # Hand 1, heads-up: ann on the button posts the small blind, bob the big
    # blind. Ann goes all in and busts; cy sits down in between.
    table, _ = apply(table, StartHand(stacked_deck([2, 0], {0: "7c2d", 2: "AsAd"},
                                                   "KhQh9s4c3c")))
    assert table.hand.big_blind_seat == 2
    table, _ = apply(table, AllIn(0))
    assert table.seats[0].stack == 0 and not table.hand_running
    table, _ = apply(table, SitDown(1, "cy", 100))
    # Only bob is ready, so everyone is dealt in at once, and the button
    # moves on to cy: bob would post the big blind again.
    table, _ = apply(table, StartHand(DECK))
    assert table.hand.big_blind_seat != 2
