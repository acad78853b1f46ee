// Replays transcripts through client/static/state.js and checks that the
// events give the same picture as a full `table` message at the same version.
//
// stdin: {"transcripts": [{"viewer": "p3", "messages": [table | event, ...]}, ...]}
// (every `table` and `event` message one socket received for one table, in order).
// stdout: {"compared": n, "with_bets": n, "side_pots": n, "waits_for_big_blind": n, "mismatches": [...]}
//
// Node's standard library only (no npm): `make test` needs nothing new.

import { fromTable, applyEvent, potTotal, middlePot } from "../../client/static/state.js";

// What the table screen shows of a state, as comparable plain data.
export function picture(st) {
  const hand = st.hand;
  return {
    v: st.v,
    you: st.you,
    seats: st.seats.map((s) => s && {
      player: s.player, name: s.name, stack: s.stack, bet: s.bet, folded: s.folded,
      all_in: s.all_in, in_hand: s.in_hand, has_cards: s.has_cards, cards: s.cards,
      mucked: s.mucked, sitting_out: s.sitting_out, waiting: s.waiting, leaving: s.leaving,
      connected: s.connected, time_bank_ms: s.time_bank_ms, run_twice: s.run_twice,
      waits_for_big_blind: s.waits_for_big_blind,
    }),
    hand: hand && {
      number: hand.number, street: hand.street, board: hand.board, button: hand.button,
      second_board: hand.second_board,
      small_blind: hand.small_blind, big_blind: hand.big_blind, to_act: hand.to_act,
      current_bet: hand.current_bet,
      pots: hand.pots.map((p) => ({ amount: p.amount, eligible: [...p.eligible].sort((a, b) => a - b) })),
    },
    middle: middlePot(st),
    total: potTotal(st),
    clock: st.clock && { seat: st.clock.seat, deadline_ms: st.clock.deadline_ms },
  };
}

function diff(a, b, path = "") {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diff(a[k], b[k], `${path}.${k}`));
  }
  return [`${path || "."}: events give ${JSON.stringify(a)}, the table message ${JSON.stringify(b)}`];
}

export function check(transcripts) {
  const out = { compared: 0, with_bets: 0, side_pots: 0, waits_for_big_blind: 0, mismatches: [] };
  for (const { viewer, messages } of transcripts) {
    let st = null;
    let lastEvent = null;
    for (const msg of messages) {
      if (msg.type === "table") {
        const full = fromTable(msg, st);
        if (st !== null) {
          if (st.v !== msg.v) {
            out.mismatches.push({ viewer, v: msg.v, after: lastEvent, problems: [`the events reached v ${st.v}`] });
          } else {
            const problems = diff(picture(st), picture(full));
            out.compared += 1;
            if (full.seats.some((s) => s && s.bet > 0)) out.with_bets += 1;
            if (full.hand && full.hand.pots.length > 1) out.side_pots += 1;
            if (full.seats.some((s) => s && s.waits_for_big_blind)) out.waits_for_big_blind += 1;
            if (problems.length) out.mismatches.push({ viewer, v: msg.v, after: lastEvent, problems });
          }
        }
        // Go on from the events, not from the table: any drift keeps showing.
        if (st === null) st = full;
      } else if (msg.type === "event" && st !== null) {
        if (msg.v <= st.v) continue;
        st = applyEvent(st, msg.event, msg.v, viewer);
        lastEvent = msg.event;
      }
    }
  }
  return out;
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const result = check(JSON.parse(input).transcripts);
result.mismatches = result.mismatches.slice(0, 20);
process.stdout.write(JSON.stringify(result));
