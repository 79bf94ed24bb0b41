import { timingSafeEqual } from 'node:crypto';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { API_KEY_PREFIX, generateApiKey, hashApiKey } from '@weft/shared/crypto';
import { isUuid, newId } from '@weft/shared/ids';
import { apiKeys, workspaces } from '../schema/index.js';
import type { WeftDb } from './db.js';
import type { WorkspaceRow, WorkspaceSettings, WorkspacesRepo } from './types.js';

/** last_used_at is a hint for people, not an audit log: write it at most once a minute. */
const LAST_USED_RESOLUTION_MS = 60_000;
const API_KEY_LENGTH = API_KEY_PREFIX.length + 32;

const settingsColumns = { httpAllowPrivateNetworks: workspaces.httpAllowPrivateNetworks, fallbackPrice: workspaces.fallbackPrice };

function toSettings(row: { httpAllowPrivateNetworks: boolean; fallbackPrice: WorkspaceSettings['fallbackPrice'] }): WorkspaceSettings {
  return { httpAllowPrivateNetworks: row.httpAllowPrivateNetworks, fallbackPrice: row.fallbackPrice ?? null };
}

export class PgWorkspacesRepo implements WorkspacesRepo {
  constructor(private readonly db: WeftDb) {}

  async create(input: { name: string }): Promise<{ workspace: WorkspaceRow; apiKey: string }> {
    const key = generateApiKey();
    const now = new Date();
    const workspace: WorkspaceRow = { id: newId(), name: input.name, createdAt: now };
    await this.db.transaction(async (tx) => {
      await tx.insert(workspaces).values(workspace);
      await tx.insert(apiKeys).values({ id: newId(), workspaceId: workspace.id, prefix: key.prefix, keyHash: key.hash, createdAt: now });
    });
    return { workspace, apiKey: key.key };
  }

  async get(id: string): Promise<WorkspaceRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.db
      .select({ id: workspaces.id, name: workspaces.name, createdAt: workspaces.createdAt })
      .from(workspaces)
      .where(eq(workspaces.id, id));
    return row ?? null;
  }

  async getSettings(workspaceId: string): Promise<WorkspaceSettings | null> {
    if (!isUuid(workspaceId)) return null;
    const [row] = await this.db.select(settingsColumns).from(workspaces).where(eq(workspaces.id, workspaceId));
    return row ? toSettings(row) : null;
  }

  async updateSettings(input: { workspaceId: string; patch: Partial<WorkspaceSettings> }): Promise<WorkspaceSettings | null> {
    if (!isUuid(input.workspaceId)) return null;
    const set: Partial<typeof workspaces.$inferInsert> = {};
    if (input.patch.httpAllowPrivateNetworks !== undefined) set.httpAllowPrivateNetworks = input.patch.httpAllowPrivateNetworks;
    if (input.patch.fallbackPrice !== undefined) set.fallbackPrice = input.patch.fallbackPrice;
    if (Object.keys(set).length === 0) return this.getSettings(input.workspaceId);
    const [row] = await this.db.update(workspaces).set(set).where(eq(workspaces.id, input.workspaceId)).returning(settingsColumns);
    return row ? toSettings(row) : null;
  }

  async authenticate(apiKey: string): Promise<{ workspaceId: string; keyId: string } | null> {
    if (apiKey.length !== API_KEY_LENGTH || !apiKey.startsWith(API_KEY_PREFIX)) return null;
    const hash = hashApiKey(apiKey);
    const [row] = await this.db
      .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, keyHash: apiKeys.keyHash, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hash));
    // The index lookup finds the candidate; the final decision is a constant-time compare.
    if (!row || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    const now = new Date();
    const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    if (row.lastUsedAt === null || row.lastUsedAt < staleBefore) {
      await this.db
        .update(apiKeys)
        .set({ lastUsedAt: now })
        .where(and(eq(apiKeys.id, row.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, staleBefore))));
    }
    return { workspaceId: row.workspaceId, keyId: row.id };
  }
}
