/**
 * Signature checks of inbound webhooks, over the raw request bytes, before anything runs. Two
 * schemes, as their senders define them:
 * - github: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`;
 * - stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=…]`,
 *   refused when `t` is further than the tolerance from now (a replayed call).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HOOK_SIGNATURE_SCHEMES = ['github', 'stripe'] as const;
export type HookSignatureScheme = (typeof HOOK_SIGNATURE_SCHEMES)[number];

/** Stripe's own default tolerance. */
export const STRIPE_TOLERANCE_SECONDS = 300;

/** The header each scheme's signature comes in (lowercase, as Node gives headers). */
export const SIGNATURE_HEADERS: Readonly<Record<HookSignatureScheme, string>> = {
  github: 'x-hub-signature-256',
  stripe: 'stripe-signature',
};

export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

function hmacHex(secret: string, parts: readonly (string | Buffer)[]): string {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
}

function hexEqual(presented: string, expected: string): boolean {
  if (!/^[0-9a-f]+$/i.test(presented) || presented.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(presented.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}

/** Checks a call's signature header against the raw body; `nowMs` for Stripe's tolerance. */
export function verifyHookSignature(input: {
  scheme: HookSignatureScheme;
  secret: string;
  header: string | undefined;
  body: Buffer;
  nowMs: number;
  toleranceSeconds?: number;
}): SignatureVerdict {
  const { header } = input;
  if (header === undefined || header === '') return { ok: false, reason: `missing ${SIGNATURE_HEADERS[input.scheme]} header` };
  switch (input.scheme) {
    case 'github': {
      const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
      if (!match?.[1]) return { ok: false, reason: 'malformed signature: expected sha256=<hex>' };
      return hexEqual(match[1], hmacHex(input.secret, [input.body])) ? { ok: true } : { ok: false, reason: 'signature does not match' };
    }
    case 'stripe': {
      let timestamp: string | null = null;
      const signatures: string[] = [];
      for (const item of header.split(',')) {
        const eq = item.indexOf('=');
        if (eq < 0) continue;
        const key = item.slice(0, eq).trim();
        const value = item.slice(eq + 1).trim();
        if (key === 't') timestamp = value;
        else if (key === 'v1') signatures.push(value);
      }
      if (timestamp === null || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return { ok: false, reason: 'malformed signature: expected t=<seconds>,v1=<hex>' };
      const tolerance = input.toleranceSeconds ?? STRIPE_TOLERANCE_SECONDS;
      if (Math.abs(input.nowMs / 1000 - Number(timestamp)) > tolerance) return { ok: false, reason: `timestamp outside the tolerance of ${tolerance} s` };
      const expected = hmacHex(input.secret, [timestamp, '.', input.body]);
      return signatures.some((s) => hexEqual(s, expected)) ? { ok: true } : { ok: false, reason: 'signature does not match' };
    }
  }
}
