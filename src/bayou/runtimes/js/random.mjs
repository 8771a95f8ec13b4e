// Deterministic randomness for queries and mutations: `Math.random`, `crypto.getRandomValues`
// and `crypto.randomUUID` all draw from one generator seeded per call (sfc32, seeded through
// splitmix32 so that nearby seeds give unrelated sequences).

function splitmix32(state) {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator of 32-bit words from `seed` (any safe integer). */
export function makeWords(seed) {
  const low = Number(seed) % 2 ** 32;
  const high = Math.floor(Number(seed) / 2 ** 32);
  const mix = splitmix32((low ^ Math.imul(high, 0x27d4eb2d)) >>> 0);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix() | 1;
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Math.random over `words`: 53 random bits in [0, 1). */
export function floatFrom(words) {
  return ((words() >>> 5) * 67108864 + (words() >>> 6)) / 9007199254740992;
}

/** Fill an integer typed array from `words`, byte by byte (any element width). */
export function fillFrom(words, array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let i = 0; i < bytes.length; i += 4) {
    let word = words();
    for (let j = i; j < Math.min(i + 4, bytes.length); j++) {
      bytes[j] = word & 0xff;
      word >>>= 8;
    }
  }
  return array;
}

/** A version-4 UUID from `words`. */
export function uuidFrom(words) {
  const bytes = fillFrom(words, new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
