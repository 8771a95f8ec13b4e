// Convex document ids (version 0 of the "id v6" format), decoded inside the worker so that
// the synchronous syscall `1.0/db/normalizeId` needs no round trip to Python.
//
//   binary = VInt(table number) ‖ internal id (16 bytes) ‖ footer (2 bytes, little-endian)
//   footer = fletcher16(VInt ‖ internal id) XOR 0
//   string = Crockford base32, lowercase alphabet "0123456789abcdefghjkmnpqrstvwxyz", no padding
//
// Only the canonical string of an id decodes (the same rule as bayou/values/ids.py).

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;

const VALID_LENGTHS = new Set([31, 32, 34, 36, 37]);
const INTERNAL_ID_LEN = 16;
const MAX_TABLE_NUMBER = 2 ** 32 - 1;

function fletcher16(bytes, end) {
  let c0 = 0;
  let c1 = 0;
  for (let i = 0; i < end; i++) {
    c0 = (c0 + bytes[i]) & 0xff;
    c1 = (c1 + c0) & 0xff;
  }
  return (c1 << 8) | c0;
}

/** Base32 (Crockford, lowercase, unpadded) of `bytes`, bits taken most significant first. */
export function base32Encode(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function base32Decode(text) {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let pos = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? DIGITS[code] : -1;
    if (digit < 0) return null;
    buffer = ((buffer << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}

/** The id string of `internalId` (16 bytes) in table `tableNumber`. */
export function encodeId(tableNumber, internalId) {
  const body = [];
  let n = tableNumber;
  while (n >= 0x80) {
    body.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  body.push(n);
  for (const byte of internalId) body.push(byte);
  const footer = fletcher16(body, body.length);
  body.push(footer & 0xff, footer >>> 8);
  return base32Encode(body);
}

/** `{tableNumber, internalId}` of a canonical id string, or null for anything else. */
export function decodeId(text) {
  if (typeof text !== "string" || !VALID_LENGTHS.has(text.length)) return null;
  const raw = base32Decode(text);
  if (raw === null) return null;
  let tableNumber = 0;
  let pos = 0;
  for (;;) {
    if (pos >= 5 || pos >= raw.length) return null;
    const byte = raw[pos];
    tableNumber += (byte & 0x7f) * 2 ** (7 * pos);
    pos += 1;
    if (byte < 0x80) break;
  }
  if (tableNumber === 0 || tableNumber > MAX_TABLE_NUMBER) return null;
  if (raw.length !== pos + INTERNAL_ID_LEN + 2) return null;
  const footer = raw[pos + INTERNAL_ID_LEN] | (raw[pos + INTERNAL_ID_LEN + 1] << 8);
  if (footer !== fletcher16(raw, pos + INTERNAL_ID_LEN)) return null;
  const internalId = raw.slice(pos, pos + INTERNAL_ID_LEN);
  // Non-zero padding bits and overlong VInts decode too; only the canonical form is an id.
  if (encodeId(tableNumber, internalId) !== text) return null;
  return { tableNumber, internalId };
}

/** The answer to `1.0/db/normalizeId`: the id when it belongs to `table`, else null. */
export function normalizeId(table, idString, tableNumbers) {
  if (typeof table !== "string" || !Object.hasOwn(tableNumbers, table)) return { id: null };
  const tableNumber = tableNumbers[table];
  const decoded = decodeId(idString);
  if (decoded === null || decoded.tableNumber !== tableNumber) return { id: null };
  return { id: idString };
}
