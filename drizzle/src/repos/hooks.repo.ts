import { and, asc, eq } from 'drizzle-orm';
import { decryptSecret, encryptSecret, generateToken, sha256Hex, secretAad } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { isUuid, newId } from '@weft/shared/ids';
import { hooks } from '../schema/index.js';
import { assertBelowCap, lockLiveFlow } from './flow-owned.js';
import type { WeftDb } from './db.js';
import type { SealingKey } from './sealing-key.js';
import type { TenantScope } from './tenant.js';
import type { HookRow, HooksRepo } from './types.js';

/** A hook's token: `wh_` and 43 base64url characters (256 bits). */
const TOKEN_PREFIX = 'wh_';
const DISPLAY_PREFIX_LENGTH = 10;
/** last_used_at is a hint for people: written at most once a minute per hook. */
const LAST_USED_RESOLUTION_MS = 60_000;

type HookDbRow = typeof hooks.$inferSelect;

function toRow(r: HookDbRow): HookRow {
  return {
    id: r.id, workspaceId: r.workspaceId, flowId: r.flowId, name: r.name, prefix: r.prefix, headers: r.headers,
    signatureScheme: r.signatureScheme ?? null, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt,
  };
}

/** The AAD of a hook's signing secret: bound to its workspace, hook and key version. */
export function hookSecretAad(input: { workspaceId: string; hookId: string; keyVersion: number }): string {
  return secretAad({ workspaceId: input.workspaceId, name: `hook:${input.hookId}`, keyVersion: input.keyVersion });
}

/** Inbound webhooks (architecture.md, "Triggers"): only the token's hash is stored, the signing secret sealed. */
export class PgHooksRepo implements HooksRepo {
  constructor(
    /** For `resolve`: a presented token names its workspace, as an API key does. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
    private readonly sealing: SealingKey,
  ) {}

  async create(input: {
    workspaceId: string; flowId: string; name: string; headers: string[];
    signature: { scheme: HookRow['signatureScheme'] & string; secret: string } | null; maxHooks: number;
  }): Promise<{ hook: HookRow; token: string } | null> {
    if (!isUuid(input.workspaceId) || !isUuid(input.flowId)) return null;
    const id = newId();
    const token = TOKEN_PREFIX + generateToken(32);
    const sealed = input.signature
      ? {
        ...encryptSecret({
          masterKey: this.sealing.require('hook signing secrets'),
          plaintext: input.signature.secret,
          aad: hookSecretAad({ workspaceId: input.workspaceId, hookId: id, keyVersion: this.sealing.version }),
        }),
        keyVersion: this.sealing.version,
      }
      : null;
    return this.tenant(input.workspaceId, async (tx) => {
      if (!(await lockLiveFlow(tx, input))) return null;
      await assertBelowCap(tx, { table: hooks, workspaceId: input.workspaceId, max: input.maxHooks, code: 'HOOK_LIMIT_REACHED', what: 'hooks' });
      const [row] = await tx.insert(hooks).values({
        id, workspaceId: input.workspaceId, flowId: input.flowId, name: input.name,
        tokenHash: sha256Hex(token), prefix: token.slice(0, DISPLAY_PREFIX_LENGTH), headers: input.headers,
        signatureScheme: input.signature?.scheme ?? null,
        secretCiphertext: sealed?.ciphertext ?? null, secretIv: sealed?.iv ?? null, secretTag: sealed?.tag ?? null,
        secretKeyVersion: sealed?.keyVersion ?? null,
        createdAt: new Date(),
      }).returning();
      return row ? { hook: toRow(row), token } : null;
    });
  }

  async listByFlow(input: { workspaceId: string; flowId: string }): Promise<HookRow[]> {
    if (!isUuid(input.workspaceId) || !isUuid(input.flowId)) return [];
    const rows = await this.tenant(input.workspaceId, (tx) => tx
      .select()
      .from(hooks)
      .where(and(eq(hooks.workspaceId, input.workspaceId), eq(hooks.flowId, input.flowId)))
      .orderBy(asc(hooks.createdAt), asc(hooks.id)));
    return rows.map(toRow);
  }

  async delete(input: { workspaceId: string; flowId: string; hookId: string }): Promise<boolean> {
    if (!isUuid(input.workspaceId) || !isUuid(input.flowId) || !isUuid(input.hookId)) return false;
    const deleted = await this.tenant(input.workspaceId, (tx) => tx
      .delete(hooks)
      .where(and(eq(hooks.id, input.hookId), eq(hooks.flowId, input.flowId), eq(hooks.workspaceId, input.workspaceId)))
      .returning({ id: hooks.id }));
    return deleted.length > 0;
  }

  async resolve(token: string): Promise<{ hook: HookRow; secret: string | null } | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const [row] = await this.system.select().from(hooks).where(eq(hooks.tokenHash, sha256Hex(token)));
    if (!row) return null;
    let secret: string | null = null;
    if (row.secretCiphertext && row.secretIv && row.secretTag && row.secretKeyVersion !== null) {
      try {
        secret = decryptSecret({
          masterKey: this.sealing.require('hook signing secrets'),
          ciphertext: row.secretCiphertext, iv: row.secretIv, tag: row.secretTag,
          aad: hookSecretAad({ workspaceId: row.workspaceId, hookId: row.id, keyVersion: row.secretKeyVersion }),
        });
      } catch (err) {
        if (err instanceof WeftError) throw err;
        throw new WeftError('CONFIG_INVALID', `the signing secret of hook ${row.id} cannot be decrypted (wrong WEFT_MASTER_KEY or altered row)`, { cause: err });
      }
    }
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.system.update(hooks).set({ lastUsedAt: new Date(now) }).where(eq(hooks.id, row.id));
    }
    return { hook: toRow(row), secret };
  }
}
