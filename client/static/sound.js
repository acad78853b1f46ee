// Table sounds made with WebAudio (no audio files): deal, chips, check, your
// turn, clock warning, a seat free at a table you wait for. A mute switch is kept in localStorage.
//
// Browsers let a page start audio only after a user gesture, so the audio
// context is made on the first click or key press; sounds before that are
// skipped. Every sound asked for while not muted is also recorded in `played`
// (the browser tests read it through window.__poker.sounds).

const MUTE_KEY = "poker.muted";
const MAX_PLAYED = 100;

export const played = [];
let ctx = null;

export function muted() {
  return localStorage.getItem(MUTE_KEY) === "1";
}

export function setMuted(on) {
  localStorage.setItem(MUTE_KEY, on ? "1" : "0");
}

function unlock() {
  if (ctx) {
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    return;
  }
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  try {
    ctx = new Ctx();
  } catch (err) {
    ctx = null;
  }
}
window.addEventListener("pointerdown", unlock, true);
window.addEventListener("keydown", unlock, true);

// A short tone: frequency (Hz), start offset and length (s), wave, loudness.
function tone(freq, at, length, type = "sine", gain = 0.15, slideTo = null) {
  const t = ctx.currentTime + at;
  const osc = ctx.createOscillator();
  const amp = ctx.createGain();
  osc.type = type;
  osc.frequency.setValueAtTime(freq, t);
  if (slideTo) osc.frequency.exponentialRampToValueAtTime(slideTo, t + length);
  amp.gain.setValueAtTime(0.0001, t);
  amp.gain.exponentialRampToValueAtTime(gain, t + 0.008);
  amp.gain.exponentialRampToValueAtTime(0.0001, t + length);
  osc.connect(amp).connect(ctx.destination);
  osc.start(t);
  osc.stop(t + length + 0.02);
}

// A burst of filtered noise: a card sliding on the felt.
function swish(at, length = 0.09, gain = 0.12) {
  const t = ctx.currentTime + at;
  const buffer = ctx.createBuffer(1, Math.ceil(ctx.sampleRate * length), ctx.sampleRate);
  const data = buffer.getChannelData(0);
  for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 2 - 1) * (1 - i / data.length);
  const src = ctx.createBufferSource();
  const filter = ctx.createBiquadFilter();
  const amp = ctx.createGain();
  src.buffer = buffer;
  filter.type = "bandpass";
  filter.frequency.value = 2400;
  amp.gain.value = gain;
  src.connect(filter).connect(amp).connect(ctx.destination);
  src.start(t);
}

const SOUNDS = {
  deal: () => { swish(0); swish(0.08); },
  chips: () => { tone(2600, 0, 0.05, "triangle", 0.08); tone(3200, 0.05, 0.05, "triangle", 0.07); tone(2900, 0.1, 0.06, "triangle", 0.06); },
  check: () => { tone(180, 0, 0.07, "sine", 0.25, 90); tone(180, 0.11, 0.07, "sine", 0.22, 90); },
  turn: () => { tone(660, 0, 0.14, "sine", 0.16); tone(990, 0.13, 0.22, "sine", 0.16); },
  seat: () => { tone(523, 0, 0.12, "sine", 0.15); tone(659, 0.12, 0.12, "sine", 0.15); tone(784, 0.24, 0.26, "sine", 0.16); },
  warning: () => { tone(880, 0, 0.09, "square", 0.06); tone(880, 0.16, 0.09, "square", 0.06); },
};

export function play(name) {
  if (muted() || !SOUNDS[name]) return;
  played.push(name);
  if (played.length > MAX_PLAYED) played.shift();
  if (!ctx || ctx.state !== "running") return;
  try {
    SOUNDS[name]();
  } catch (err) {
    // audio is a nicety: never let it break the table
  }
}
