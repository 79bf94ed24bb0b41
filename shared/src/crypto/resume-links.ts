/**
 * Resume tokens and resume links of wait nodes, both derived from the master key (HKDF), so
 * that every api and worker of a deployment makes and checks the same ones without storing
 * a secret of their own.
 *
 * - The **wait token** (`node.waiting`'s `token`) is an HMAC of the waiting spell
 *   (execution, node, the instant the wait began): a wait that is suspended again after a
 *   restart, with the same spell, gets the same token back.
 * - A **resume link** (`POST /v1/resume/<token>`, no API key) is a signed claim
 *   `{w, e, n, s, x}` (workspace, execution, node, spell, expiry): only that node's wait, in
 *   that spell, until `x`. Its single use is enforced by a claim in hot state, not here.
 *
 * node:crypto's HKDF and HMAC rather than a JWT library: the payload is fixed and has one
 * algorithm, so there is no header or algorithm choice an attacker could play with.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export interface WaitSpell {
  executionId: string;
  nodeId: string;
  /** ISO time the wait began (the waiting node's startedAt). */
  waitingSince: string;
}

export interface ResumeLinkClaims extends WaitSpell {
  workspaceId: string;
  /** Epoch milliseconds after which the link answers 410. */
  expiresAtMs: number;
}

export interface ResumeLink {
  token: string;
  url: string;
  expiresAt: string;
}

const LINK_PREFIX = 'weft-resume-link.v1.';
/** Longest token the route looks at; anything longer is refused before any work. */
export const RESUME_LINK_MAX_LENGTH = 1024;

function derive(masterKey: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32));
}

function isClaims(v: unknown): v is { w: string; e: string; n: string; s: string; x: number } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.w === 'string' && typeof o.e === 'string' && typeof o.n === 'string' && typeof o.s === 'string'
    && typeof o.x === 'number' && Number.isSafeInteger(o.x);
}

export class ResumeLinks {
  private readonly waitKey: Buffer;
  private readonly linkKey: Buffer;
  private readonly baseUrl: string;
  readonly defaultTtlMs: number;

  constructor(options: { masterKey: Buffer; publicUrl: string; defaultTtlSeconds: number }) {
    this.waitKey = derive(options.masterKey, 'weft/wait-token/v1');
    this.linkKey = derive(options.masterKey, 'weft/resume-link/v1');
    this.baseUrl = options.publicUrl.replace(/\/+$/, '');
    this.defaultTtlMs = options.defaultTtlSeconds * 1000;
  }

  /** The token an event wait publishes in node.waiting: the same for the same spell. */
  waitToken(spell: WaitSpell): string {
    return createHmac('sha256', this.waitKey).update(`${spell.executionId}\n${spell.nodeId}\n${spell.waitingSince}`).digest('base64url');
  }

  /** Until when a wait's link is valid: its timeout, else the default TTL from the start of the wait. */
  expiryOf(input: { waitingSince: string; timeoutMs: number | undefined }): number {
    return Date.parse(input.waitingSince) + (input.timeoutMs ?? this.defaultTtlMs);
  }

  link(claims: ResumeLinkClaims): ResumeLink {
    const payload = Buffer.from(JSON.stringify({
      w: claims.workspaceId, e: claims.executionId, n: claims.nodeId, s: claims.waitingSince, x: claims.expiresAtMs,
    })).toString('base64url');
    const token = `${payload}.${this.sign(payload)}`;
    return { token, url: `${this.baseUrl}/v1/resume/${token}`, expiresAt: new Date(claims.expiresAtMs).toISOString() };
  }

  /** The link's claims when its signature holds (expiry not checked: the caller tells 410 apart); else null. */
  verify(token: string): ResumeLinkClaims | null {
    if (token.length > RESUME_LINK_MAX_LENGTH) return null;
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (!isClaims(parsed)) return null;
    return { workspaceId: parsed.w, executionId: parsed.e, nodeId: parsed.n, waitingSince: parsed.s, expiresAtMs: parsed.x };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.linkKey).update(LINK_PREFIX + payload).digest('base64url');
  }
}
