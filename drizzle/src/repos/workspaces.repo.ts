import { timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { API_KEY_PREFIX, generateApiKey, hashApiKey } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { isUuid, newId } from '@weft/shared/ids';
import { apiKeys, workspaces } from '../schema/index.js';
import type { WeftDb } from './db.js';
import type { TenantScope } from './tenant.js';
import type { ApiKeyRow, WorkspaceRow, WorkspaceSettings, WorkspacesRepo } from './types.js';

const API_KEY_LENGTH = API_KEY_PREFIX.length + 32;

const settingsColumns = { httpAllowPrivateNetworks: workspaces.httpAllowPrivateNetworks, fallbackPrice: workspaces.fallbackPrice };

function toSettings(row: { httpAllowPrivateNetworks: boolean; fallbackPrice: WorkspaceSettings['fallbackPrice'] }): WorkspaceSettings {
  return { httpAllowPrivateNetworks: row.httpAllowPrivateNetworks, fallbackPrice: row.fallbackPrice ?? null };
}

export class PgWorkspacesRepo implements WorkspacesRepo {
  constructor(
    /**
     * For what precedes or outlives a workspace: creating one, resolving an API key by its hash,
     * recording a key's use, deleting a workspace.
     */
    private readonly system: WeftDb,
    private readonly tenant: TenantScope,
  ) {}

  async create(input: { name: string }): Promise<{ workspace: WorkspaceRow; apiKey: string }> {
    const key = generateApiKey();
    const now = new Date();
    const workspace: WorkspaceRow = { id: newId(), name: input.name, createdAt: now };
    await this.system.transaction(async (tx) => {
      await tx.insert(workspaces).values(workspace);
      await tx.insert(apiKeys).values({ id: newId(), workspaceId: workspace.id, prefix: key.prefix, name: 'default', keyHash: key.hash, createdAt: now });
    });
    return { workspace, apiKey: key.key };
  }

  async get(id: string): Promise<WorkspaceRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.tenant(id, (tx) => tx
      .select({ id: workspaces.id, name: workspaces.name, createdAt: workspaces.createdAt })
      .from(workspaces)
      .where(and(eq(workspaces.id, id), isNull(workspaces.deletingAt))));
    return row ?? null;
  }

  async getSettings(workspaceId: string): Promise<WorkspaceSettings | null> {
    if (!isUuid(workspaceId)) return null;
    const [row] = await this.tenant(workspaceId, (tx) => tx.select(settingsColumns).from(workspaces).where(eq(workspaces.id, workspaceId)));
    return row ? toSettings(row) : null;
  }

  async updateSettings(input: { workspaceId: string; patch: Partial<WorkspaceSettings> }): Promise<WorkspaceSettings | null> {
    if (!isUuid(input.workspaceId)) return null;
    const set: Partial<typeof workspaces.$inferInsert> = {};
    if (input.patch.httpAllowPrivateNetworks !== undefined) set.httpAllowPrivateNetworks = input.patch.httpAllowPrivateNetworks;
    if (input.patch.fallbackPrice !== undefined) set.fallbackPrice = input.patch.fallbackPrice;
    if (Object.keys(set).length === 0) return this.getSettings(input.workspaceId);
    const [row] = await this.tenant(input.workspaceId, (tx) => tx.update(workspaces).set(set).where(eq(workspaces.id, input.workspaceId)).returning(settingsColumns));
    return row ? toSettings(row) : null;
  }

  async authenticate(apiKey: string): Promise<{ workspaceId: string; keyId: string; lastUsedAt: Date | null } | null> {
    if (apiKey.length !== API_KEY_LENGTH || !apiKey.startsWith(API_KEY_PREFIX)) return null;
    const hash = hashApiKey(apiKey);
    const [row] = await this.system
      .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, keyHash: apiKeys.keyHash, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hash));
    // The index lookup finds the candidate; the final decision is a constant-time compare.
    if (!row || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    return { workspaceId: row.workspaceId, keyId: row.id, lastUsedAt: row.lastUsedAt };
  }

  async touchApiKey(input: { keyId: string; at: Date; staleBefore: Date }): Promise<void> {
    if (!isUuid(input.keyId)) return;
    await this.system
      .update(apiKeys)
      .set({ lastUsedAt: input.at })
      .where(and(eq(apiKeys.id, input.keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, input.staleBefore))));
  }

  async createApiKey(input: { workspaceId: string; name: string; maxKeys: number }): Promise<{ key: ApiKeyRow; apiKey: string } | null> {
    if (!isUuid(input.workspaceId)) return null;
    const generated = generateApiKey();
    const key: ApiKeyRow = { id: newId(), workspaceId: input.workspaceId, prefix: generated.prefix, name: input.name, createdAt: new Date(), lastUsedAt: null };
    // The workspace row is share-locked: a concurrent markDeleting waits, then deletes this key too.
    return this.tenant(input.workspaceId, async (tx) => {
      const [workspace] = await tx
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(and(eq(workspaces.id, input.workspaceId), isNull(workspaces.deletingAt)))
        .for('share');
      if (!workspace) return null;
      // Concurrent creations each hold the share lock, so the cap may be passed by a few; it bounds
      // minting keys in a loop, it is not an exact count.
      const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(apiKeys).where(eq(apiKeys.workspaceId, input.workspaceId));
      if ((held?.n ?? 0) >= input.maxKeys) {
        throw new WeftError('API_KEY_LIMIT_REACHED', `the workspace holds ${input.maxKeys} API keys already: revoke one first`);
      }
      await tx.insert(apiKeys).values({ ...key, keyHash: generated.hash });
      return { key, apiKey: generated.key };
    });
  }

  async listApiKeys(workspaceId: string): Promise<ApiKeyRow[]> {
    if (!isUuid(workspaceId)) return [];
    return this.tenant(workspaceId, (tx) => tx
      .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, prefix: apiKeys.prefix, name: apiKeys.name, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(eq(apiKeys.workspaceId, workspaceId))
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id)));
  }

  async revokeApiKey(input: { workspaceId: string; keyId: string }): Promise<'revoked' | 'missing' | 'last'> {
    if (!isUuid(input.workspaceId) || !isUuid(input.keyId)) return 'missing';
    // The workspace row is locked: two revocations of its last two keys cannot both pass the count.
    return this.tenant(input.workspaceId, async (tx) => {
      const [workspace] = await tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, input.workspaceId)).for('update');
      if (!workspace) return 'missing';
      const keys = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.workspaceId, input.workspaceId));
      if (!keys.some((k) => k.id === input.keyId)) return 'missing';
      if (keys.length === 1) return 'last';
      await tx.delete(apiKeys).where(and(eq(apiKeys.id, input.keyId), eq(apiKeys.workspaceId, input.workspaceId)));
      return 'revoked';
    });
  }

  async markDeleting(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.system.transaction(async (tx) => {
      const [row] = await tx
        .update(workspaces)
        .set({ deletingAt: sql`coalesce(${workspaces.deletingAt}, now())` })
        .where(eq(workspaces.id, id))
        .returning({ id: workspaces.id });
      if (!row) return false;
      await tx.delete(apiKeys).where(eq(apiKeys.workspaceId, id));
      return true;
    });
  }

  async listDeleting(): Promise<string[]> {
    const rows = await this.system.select({ id: workspaces.id }).from(workspaces).where(isNotNull(workspaces.deletingAt)).orderBy(asc(workspaces.deletingAt));
    return rows.map((r) => r.id);
  }

  async purge(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    // Every table with a workspace_id references workspaces ON DELETE CASCADE (node_runs and
    // flow_versions through executions and flows): one statement deletes what the workspace owns.
    const deleted = await this.system
      .delete(workspaces)
      .where(and(eq(workspaces.id, id), isNotNull(workspaces.deletingAt)))
      .returning({ id: workspaces.id });
    return deleted.length === 1;
  }
}
