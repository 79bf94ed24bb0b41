import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCron, nextCronTime, previousCronTime } from './cron.js';
import { verifyHookSignature } from './signatures.js';

const now = new Date('2026-03-02T10:15:30.250Z');

describe('checkCron', () => {
  it.each([
    ['0 9 * * 1-5', 'Europe/Paris', 60, null],
    ['*/5 * * * *', 'UTC', 300, null],
    ['@daily', 'UTC', 60, null],
    ['* * * * * *', 'UTC', 1, null],
    ['* * * * * *', 'UTC', 2, '/cron'],
    ['*/5 * * * *', 'UTC', 301, '/cron'],
    ['61 * * * *', 'UTC', 60, '/cron'],
    ['* * *', 'UTC', 60, '/cron'],
    ['0 0 30 2 *', 'UTC', 60, '/cron'],
    ['0 * * * *', 'Not/AZone', 60, '/timezone'],
  ])('%s in %s, at most every %i s → %s', (cron, timezone, minIntervalSeconds, path) => {
    expect(checkCron({ cron, timezone, minIntervalSeconds, now })?.path ?? null).toBe(path);
  });

  it('marks a valid pattern that fires too often, and finds a short gap on one weekday', () => {
    expect(checkCron({ cron: '*/10 * * * * *', timezone: 'UTC', minIntervalSeconds: 60, now })).toMatchObject({ tooFrequent: true });
    expect(checkCron({ cron: '*/5 * * * 1', timezone: 'UTC', minIntervalSeconds: 600, now })).toMatchObject({ tooFrequent: true });
    expect(checkCron({ cron: '61 * * * *', timezone: 'UTC', minIntervalSeconds: 60, now })?.tooFrequent).toBeUndefined();
  });
});

describe('cron times', () => {
  it('reads the pattern in its time zone', () => {
    expect(nextCronTime({ cron: '0 9 * * *', timezone: 'Europe/Paris', after: now }).toISOString()).toBe('2026-03-03T08:00:00.000Z');
    expect(previousCronTime({ cron: '0 9 * * *', timezone: 'Europe/Paris', at: now })?.toISOString()).toBe('2026-03-02T08:00:00.000Z');
  });

  it('counts a tick at the given instant as the previous one', () => {
    const at = new Date('2026-03-02T10:00:00.000Z');
    expect(previousCronTime({ cron: '0 * * * *', timezone: 'UTC', at })?.toISOString()).toBe(at.toISOString());
    expect(nextCronTime({ cron: '0 * * * *', timezone: 'UTC', after: at }).toISOString()).toBe('2026-03-02T11:00:00.000Z');
  });
});

describe('verifyHookSignature', () => {
  const secret = 'shh-secret';
  const body = Buffer.from('{"a":1}');
  const github = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const stripeAt = (t: number) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body.toString()}`).digest('hex')}`;
  const nowMs = 1_767_000_000_000;

  it.each([
    ['github', github, true],
    ['github', github.toUpperCase().replace('SHA256=', 'sha256='), true],
    ['github', `sha256=${'0'.repeat(64)}`, false],
    ['github', 'sha1=abc', false],
    ['github', undefined, false],
    ['stripe', stripeAt(nowMs / 1000), true],
    ['stripe', `v1=${'0'.repeat(64)},${stripeAt(nowMs / 1000 - 10)}`, true],
    ['stripe', stripeAt(nowMs / 1000 - 301), false],
    ['stripe', stripeAt(nowMs / 1000 + 301), false],
    ['stripe', 't=abc,v1=00', false],
    ['stripe', '', false],
  ] as const)('%s %s → %s', (scheme, header, ok) => {
    expect(verifyHookSignature({ scheme, secret, header, body, nowMs }).ok).toBe(ok);
  });

  it('covers the exact bytes', () => {
    expect(verifyHookSignature({ scheme: 'github', secret, header: github, body: Buffer.from('{"a": 1}'), nowMs }).ok).toBe(false);
  });
});
