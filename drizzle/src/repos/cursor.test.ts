import { describe, expect, it } from 'vitest';
import { newId } from '@weft/shared/ids';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('keyset cursor', () => {
  it('round trips and is url-safe', () => {
    const c = { createdAt: new Date('2026-01-02T03:04:05.678Z'), id: newId() };
    const raw = encodeCursor(c);
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw)).toEqual(c);
  });

  it('rejects junk with INVALID_REQUEST', () => {
    const bad = ['', 'abc', Buffer.from('[1,2]').toString('base64url'), Buffer.from('["x","y"]').toString('base64url'),
      Buffer.from(JSON.stringify(['not a date', newId()])).toString('base64url')];
    for (const raw of bad) expect(() => decodeCursor(raw)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});
