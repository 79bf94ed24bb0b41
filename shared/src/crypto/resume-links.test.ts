import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResumeLinks } from './resume-links.js';

const masterKey = randomBytes(32);
const links = new ResumeLinks({ masterKey, publicUrl: 'https://weft.example.com/', defaultTtlSeconds: 3600 });
const claims = {
  workspaceId: 'ws-1', executionId: 'ex-1', nodeId: 'approve', waitingSince: '2026-12-02T12:00:00.000Z', expiresAtMs: Date.parse('2026-12-03T12:00:00.000Z'),
};

describe('ResumeLinks', () => {
  it('makes an absolute link under the public URL whose claims verify', () => {
    const link = links.link(claims);
    expect(link.url).toBe(`https://weft.example.com/v1/resume/${link.token}`);
    expect(link.expiresAt).toBe('2026-12-03T12:00:00.000Z');
    expect(links.verify(link.token)).toEqual(claims);
  });

  it('refuses an altered payload, an altered signature, another key and junk', () => {
    const { token } = links.link(claims);
    const [payload = '', signature = ''] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ w: 'ws-1', e: 'ex-1', n: 'other', s: claims.waitingSince, x: claims.expiresAtMs })).toString('base64url');
    expect(links.verify(`${forged}.${signature}`)).toBeNull();
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    expect(links.verify(`${payload}.${flipped}`)).toBeNull();
    const otherDeployment = new ResumeLinks({ masterKey: randomBytes(32), publicUrl: 'http://x', defaultTtlSeconds: 1 });
    expect(otherDeployment.verify(token)).toBeNull();
    for (const junk of ['', '.', 'abc', `${payload}.`, `.${signature}`, `${token}.x`, 'x'.repeat(5000)]) expect(links.verify(junk)).toBeNull();
  });

  it('derives the wait token from the spell: same spell same token, another spell or key another token', () => {
    const spell = { executionId: 'ex-1', nodeId: 'hook', waitingSince: claims.waitingSince };
    const token = links.waitToken(spell);
    expect(token.length).toBeGreaterThan(40);
    expect(new ResumeLinks({ masterKey, publicUrl: 'http://elsewhere', defaultTtlSeconds: 5 }).waitToken(spell)).toBe(token);
    expect(links.waitToken({ ...spell, waitingSince: '2026-12-02T12:00:00.001Z' })).not.toBe(token);
    expect(links.waitToken({ ...spell, nodeId: 'hook2' })).not.toBe(token);
    expect(new ResumeLinks({ masterKey: randomBytes(32), publicUrl: 'http://x', defaultTtlSeconds: 1 }).waitToken(spell)).not.toBe(token);
  });

  it('expires at the wait timeout, else after the default TTL', () => {
    expect(links.expiryOf({ waitingSince: claims.waitingSince, timeoutMs: 5000 })).toBe(Date.parse(claims.waitingSince) + 5000);
    expect(links.expiryOf({ waitingSince: claims.waitingSince, timeoutMs: undefined })).toBe(Date.parse(claims.waitingSince) + 3_600_000);
  });
});
