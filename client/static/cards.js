// Playing cards drawn with CSS and inline SVG suits ("As" = ace of spades).

import { el, svg } from "./ui.js";

const SUIT_PATHS = {
  s: "M50 4C36 24 4 40 4 62c0 15 12 24 24 24 9 0 16-4 19-10-1 9-6 16-14 21h34c-8-5-13-12-14-21 3 6 10 10 19 10 12 0 24-9 24-24C96 40 64 24 50 4z",
  h: "M50 92C22 70 3 52 3 30 3 15 14 5 28 5c10 0 18 6 22 15 4-9 12-15 22-15 14 0 25 10 25 25 0 22-19 40-47 62z",
  d: "M50 3 88 50 50 97 12 50z",
  c: "M50 6a20 20 0 1 1 0 40a20 20 0 1 1 0-40zM28 38a20 20 0 1 1 0 40a20 20 0 1 1 0-40zM72 38a20 20 0 1 1 0 40a20 20 0 1 1 0-40zM38 42h24v22H38zM45 50h10c0 20 5 33 15 45H30c10-12 15-25 15-45z",
};

const SUIT_NAMES = { s: "spades", h: "hearts", d: "diamonds", c: "clubs" };
const SUIT_CHARS = { s: "\u2660", h: "\u2665", d: "\u2666", c: "\u2663" };
const RANK_NAMES = {
  A: "ace", K: "king", Q: "queen", J: "jack", T: "ten", 9: "nine", 8: "eight",
  7: "seven", 6: "six", 5: "five", 4: "four", 3: "three", 2: "two",
};

export function suitIcon(suit, cls = "suit") {
  return svg("svg", { viewBox: "0 0 100 100", class: cls, "aria-hidden": "true" },
    svg("path", { d: SUIT_PATHS[suit] || "" }));
}

export function rankLabel(rank) {
  return rank === "T" ? "10" : rank;
}

export function cardName(card) {
  return `${RANK_NAMES[card[0]] || card[0]} of ${SUIT_NAMES[card[1]] || card[1]}`;
}

// Short text form for logs: "A♠".
export function cardText(card) {
  return rankLabel(card[0]) + (SUIT_CHARS[card[1]] || card[1]);
}

// A face-up card, or a back when `card` is null.
export function cardEl(card, { size = "", deal = false, dim = false } = {}) {
  const cls = ["card", size && `card-${size}`, deal && "card-deal", dim && "card-dim"];
  if (!card) {
    return el("div", { class: [...cls, "card-back"].filter(Boolean).join(" "), role: "img", "aria-label": "hidden card" });
  }
  const rank = card[0];
  const suit = card[1];
  return el("div", {
    class: [...cls, `suit-${suit}`].filter(Boolean).join(" "),
    // role img: a screen reader says "five of hearts", not "5".
    role: "img", "aria-label": cardName(card), title: cardName(card), dataset: { card },
  },
  el("span", { class: "card-rank" }, rankLabel(rank)),
  suitIcon(suit, "card-suit-small"),
  suitIcon(suit, "card-suit-big"));
}

// Inline cards for the hand log: small coloured text.
export function cardsInline(cards) {
  return cards.map((c) => el("span", { class: `inline-card suit-${c[1]}`, role: "img", "aria-label": cardName(c) }, cardText(c)));
}

// Cards as words, for announcements: "five of hearts, jack of spades".
export function cardsSpoken(cards) {
  return cards.map(cardName).join(", ");
}
