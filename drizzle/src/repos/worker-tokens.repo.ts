import { timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { generateToken, hashApiKey } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { isUuid, newId } from '@weft/shared/ids';
import type { WorkerTokenRow, WorkerTokensRepo } from '@weft/shared/ports';
import { workerTokens, workspaces } from '../schema/index.js';
import type { WeftDb } from './db.js';
import type { TenantScope } from './tenant.js';

/** Worker tokens start with it, so that a leaked one is recognisable (and never taken for an API key). */
export const WORKER_TOKEN_PREFIX = 'wt_';
const PREFIX_LENGTH = 10;
const MAX_TOKEN_LENGTH = 100;

const columns = {
  id: workerTokens.id, workspaceId: workerTokens.workspaceId, name: workerTokens.name, prefix: workerTokens.prefix,
  handlers: workerTokens.handlers, createdAt: workerTokens.createdAt, lastUsedAt: workerTokens.lastUsedAt,
};

export class PgWorkerTokensRepo implements WorkerTokensRepo {
  constructor(
    /** Authentication: the token is what finds its workspace. */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async create(input: { workspaceId: string; name: string; handlers: string[]; maxTokens: number }): Promise<{ token: WorkerTokenRow; secret: string } | null> {
    if (!isUuid(input.workspaceId)) return null;
    const secret = WORKER_TOKEN_PREFIX + generateToken(32);
    const token: WorkerTokenRow = {
      id: newId(), workspaceId: input.workspaceId, name: input.name, prefix: secret.slice(0, PREFIX_LENGTH),
      handlers: input.handlers, createdAt: new Date(), lastUsedAt: null,
    };
    return this.tenant(input.workspaceId, async (tx) => {
      const [workspace] = await tx.select({ id: workspaces.id }).from(workspaces)
        .where(and(eq(workspaces.id, input.workspaceId), isNull(workspaces.deletingAt))).for('share');
      if (!workspace) return null;
      const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(workerTokens).where(eq(workerTokens.workspaceId, input.workspaceId));
      if ((held?.n ?? 0) >= input.maxTokens) {
        throw new WeftError('WORKER_TOKEN_LIMIT_REACHED', `the workspace holds ${input.maxTokens} worker tokens already: revoke one first`);
      }
      await tx.insert(workerTokens).values({ ...token, tokenHash: hashApiKey(secret) });
      return { token, secret };
    });
  }

  async list(workspaceId: string): Promise<WorkerTokenRow[]> {
    if (!isUuid(workspaceId)) return [];
    return this.tenant(workspaceId, (tx) => tx.select(columns).from(workerTokens)
      .where(eq(workerTokens.workspaceId, workspaceId)).orderBy(asc(workerTokens.createdAt), asc(workerTokens.id)));
  }

  async revoke(input: { workspaceId: string; tokenId: string }): Promise<boolean> {
    if (!isUuid(input.workspaceId) || !isUuid(input.tokenId)) return false;
    const deleted = await this.tenant(input.workspaceId, (tx) => tx.delete(workerTokens)
      .where(and(eq(workerTokens.id, input.tokenId), eq(workerTokens.workspaceId, input.workspaceId))).returning({ id: workerTokens.id }));
    return deleted.length > 0;
  }

  async authenticate(secret: string): Promise<WorkerTokenRow | null> {
    if (!secret.startsWith(WORKER_TOKEN_PREFIX) || secret.length > MAX_TOKEN_LENGTH) return null;
    const hash = hashApiKey(secret);
    const [row] = await this.system.select({ ...columns, tokenHash: workerTokens.tokenHash }).from(workerTokens).where(eq(workerTokens.tokenHash, hash));
    if (!row || !timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    const { tokenHash: _hash, ...token } = row;
    return token;
  }
}
