import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_PREFIX = 'wk_';
const API_KEY_RANDOM_CHARS = 32;
/** Characters of the key kept in clear to recognise it in listings and logs. */
const API_KEY_PREFIX_LENGTH = 10;

/** Uniform base62: bytes of 248 and above are rejected so that `% 62` has no bias. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}

export interface GeneratedApiKey {
  /** Shown once to the user; never stored. */
  key: string;
  prefix: string;
  /** sha-256 hex of the key: what the database stores. */
  hash: string;
}

/** A workspace API key: `wk_` and 32 base62 characters (~190 bits). */
export function generateApiKey(): GeneratedApiKey {
  const key = API_KEY_PREFIX + randomBase62(API_KEY_RANDOM_CHARS);
  return { key, prefix: key.slice(0, API_KEY_PREFIX_LENGTH), hash: hashApiKey(key) };
}

/** sha-256 hex of a UTF-8 string. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** sha-256 hex. Keys are high-entropy random strings, so a fast unsalted hash is enough. */
export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

/** Random bytes as base64url (tokens, admin tokens, resume tokens). */
export function generateToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time string comparison (different lengths compare unequal, without early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
