import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from './retry-after.js';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds, milliseconds and HTTP dates', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '1' }), now)).toBe(1000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '2.5' }), now)).toBe(2500);
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '350' }), now)).toBe(350);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30_000);
  });

  it('prefers retry-after-ms, never goes negative, and ignores junk', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '5', 'retry-after-ms': '1200' }), now)).toBe(1200);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '-3' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });
});
