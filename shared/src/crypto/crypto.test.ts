import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, generateToken, hashApiKey, safeEqual } from './api-keys.js';
import { credentialAad, decryptSecret, encryptSecret, secretAad } from './secret-box.js';

const masterKey = randomBytes(32);

describe('encryptSecret / decryptSecret', () => {
  const aad = credentialAad({ workspaceId: 'ws-1', provider: 'openai', keyVersion: 1 });

  it('round trips, with a fresh 96-bit nonce and a 128-bit tag each time', () => {
    const a = encryptSecret({ masterKey, plaintext: 'sk-secret-ünïcode', aad });
    const b = encryptSecret({ masterKey, plaintext: 'sk-secret-ünïcode', aad });
    expect(a.iv).toHaveLength(12);
    expect(a.tag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.ciphertext.toString('utf8')).not.toContain('sk-secret');
    expect(decryptSecret({ masterKey, ...a, aad })).toBe('sk-secret-ünïcode');
  });

  it('fails with another AAD (a ciphertext copied to another workspace or provider)', () => {
    const sealed = encryptSecret({ masterKey, plaintext: 'sk-1', aad });
    const otherWorkspace = credentialAad({ workspaceId: 'ws-2', provider: 'openai', keyVersion: 1 });
    const otherProvider = credentialAad({ workspaceId: 'ws-1', provider: 'anthropic', keyVersion: 1 });
    const otherVersion = credentialAad({ workspaceId: 'ws-1', provider: 'openai', keyVersion: 2 });
    for (const wrong of [otherWorkspace, otherProvider, otherVersion]) {
      expect(() => decryptSecret({ masterKey, ...sealed, aad: wrong })).toThrow();
    }
  });

  it('fails with another key, a tampered ciphertext or a truncated tag', () => {
    const sealed = encryptSecret({ masterKey, plaintext: 'sk-1', aad });
    expect(() => decryptSecret({ masterKey: randomBytes(32), ...sealed, aad })).toThrow();
    const tampered = Buffer.from(sealed.ciphertext);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(() => decryptSecret({ masterKey, ...sealed, ciphertext: tampered, aad })).toThrow();
    expect(() => decryptSecret({ masterKey, ...sealed, tag: sealed.tag.subarray(0, 8), aad })).toThrow();
  });

  it('rejects a master key that is not 32 bytes', () => {
    expect(() => encryptSecret({ masterKey: randomBytes(16), plaintext: 'x', aad })).toThrow(/32 bytes/);
  });

  it('keeps credential and secret AADs apart', () => {
    expect(secretAad({ workspaceId: 'ws-1', name: 'openai', keyVersion: 1 })).not.toBe(aad);
  });
});

describe('api keys and tokens', () => {
  it('generates wk_ keys with 32 base62 characters, a 10-char prefix and a sha-256 hash', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^wk_[0-9A-Za-z]{32}$/);
    expect(prefix).toBe(key.slice(0, 10));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hash);
    expect(generateApiKey().key).not.toBe(key);
  });

  it('generates base64url tokens of the requested size', () => {
    const token = generateToken(24);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(24);
  });

  it('compares strings in constant time', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
