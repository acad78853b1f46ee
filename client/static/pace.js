// What the table screen shows, paced: the client's state is always applied at
// once (state.js), but an all-in run-out arrives as one burst of events (the
// streets, the hands shown, the awards) and would flash past in half a second.
// The presenter keeps its own display state and replays the queued events into
// it at a readable pace, with the hands tabled first, as soon as the betting is
// over. It never holds anything back when it matters: on our turn, or when the
// next hand starts, it jumps to the real state at once.

import { applyEvent } from "./state.js";

const SETTLE_MS = 500;   // a street's burst comes in separate frames: wait for its end
const TABLED_MS = 600;   // the hands shown, before the run-out starts
const STREET_MS = 700;   // each card of the run-out (all of it fits in the default 3 s pause between hands)
const MAX_QUEUE = 80;

export class Presenter {
  // render(state): draws a state. real(): the table's real state now.
  constructor({ render, real, me }) {
    this.render = render;
    this.real = real;
    this.me = me;
    this.queue = [];
    this.display = null;
    this.holdUntil = 0;
    this.tabled = false;
    this.timer = null;
  }

  // A new table (or a full resync): show the real state, nothing queued.
  reset() {
    clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.display = null;
    this.holdUntil = 0;
    this.tabled = false;
  }

  busy() {
    return this.queue.length > 0;
  }

  // An event of the table on screen, just applied to the real state.
  event(ev, v, before) {
    const last = this.queue.length ? this.queue[this.queue.length - 1].v : this.display && this.display.v;
    if (last !== v - 1) {
      // Not in step (first event, a resync): start from the state before this event.
      this.reset();
      this.display = before;
    }
    this.queue.push({ ev, v, at: performance.now() });
  }

  // Draw: the real state, or the run-out in progress.
  show() {
    const real = this.real();
    if (!real) return;
    if (!this.queue.length || this.mustCatchUp(real)) {
      this.reset();
      this.display = real;
      this.drawn = real;
      this.render(real);
      return;
    }
    this.pump();
  }

  // Our turn, or a new hand: no more waiting.
  mustCatchUp(real) {
    const myTurn = real.legal && real.you !== null && real.legal.seat === real.you;
    return !!(myTurn || this.queue.length > MAX_QUEUE || this.queue.some((q) => q.ev.type === "hand_started"));
  }

  pump() {
    clearTimeout(this.timer);
    this.timer = null;
    const real = this.real();
    if (!real) { this.reset(); return; }
    while (this.queue.length) {
      if (this.mustCatchUp(real)) break;
      const now = performance.now();
      const item = this.queue[0];
      // A street ends in a burst of frames: the next turn, or (all in) the rest of
      // the board, the hands shown and the awards. Wait for its end to know which.
      const settled = this.queue.some((q) => q.ev.type === "to_act" || q.ev.type === "hand_ended");
      const wait = Math.max(this.holdUntil,
        (item.ev.type === "pots" || item.ev.type === "street") && !settled ? item.at + SETTLE_MS : 0);
      if (now < wait) {
        this.draw(this.display);
        this.timer = setTimeout(() => this.show(), wait - now);
        return;
      }
      if (item.ev.type === "street" && !this.tabled) {
        // The betting is over and hands will be shown: table them now (their
        // hand names wait for the last card), then deal the rest.
        const shows = this.queue.filter((q) => q.ev.type === "show");
        this.tabled = true;
        if (shows.length) {
          for (const q of shows) this.display = applyEvent(this.display, { ...q.ev, hand: null }, this.display.v, this.me());
          this.holdUntil = now + TABLED_MS;
          continue;
        }
      }
      this.queue.shift();
      this.display = applyEvent(this.display, item.ev, item.v, this.me());
      const more = this.queue.some((q) => q.ev.type === "street" || q.ev.type === "award");
      if (item.ev.type === "street" && more) this.holdUntil = now + STREET_MS;
    }
    // Done (or caught up): the real state, which has everything in its own order.
    this.reset();
    this.display = real;
    this.drawn = real;
    this.render(real);
  }

  // While holding, every frame of the burst asks to draw: once is enough.
  draw(state) {
    if (state === this.drawn) return;
    this.drawn = state;
    this.render(state);
  }
}
