import { describe, expect, it } from 'vitest';
import { judgeHost } from './judge-host.js';

const strict = {};
const open = { allowPrivateNetworks: true };

describe('judgeHost', () => {
  it('judges IP literals in every spelling, bracketed or not', () => {
    for (const host of ['127.0.0.1', '127.1', '0x7f000001', '2130706433', '0177.0.0.1', '[::1]', '::1', '[::ffff:127.0.0.1]']) {
      expect(judgeHost(host, strict)?.kind, host).toBe('loopback');
      expect(judgeHost(host, open), host).toBeUndefined();
    }
    expect(judgeHost('10.1.2.3', strict)?.kind).toBe('private');
  });

  it('refuses cloud metadata whatever the workspace allows', () => {
    for (const host of ['169.254.169.254', '[::ffff:a9fe:a9fe]', '[fd00:ec2::254]', 'metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.']) {
      expect(judgeHost(host, open)?.kind, host).toBe('metadata');
    }
  });

  it('refuses localhost names, and leaves other names to the lookup', () => {
    expect(judgeHost('localhost', strict)?.kind).toBe('loopback');
    expect(judgeHost('api.localhost', strict)?.kind).toBe('loopback');
    expect(judgeHost('localhost', open)).toBeUndefined();
    expect(judgeHost('api.openai.com', strict)).toBeUndefined();
    expect(judgeHost('8.8.8.8', strict)).toBeUndefined();
  });
});
