import { and, eq, inArray } from 'drizzle-orm';
import { decryptSecret, encryptSecret, secretAad } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { SECRET_NAME_PATTERN } from '@weft/shared/templates';
import { secrets } from '../schema/index.js';
import { codePointOrder } from './order.js';
import type { SealingKey } from './sealing-key.js';
import type { TenantScope } from './tenant.js';
import type { SecretSummary, SecretsRepo } from './types.js';

/** Version of the master key that seals new secrets, as for provider credentials. */

/**
 * Workspace secrets for `{{vault.NAME}}`, sealed like provider credentials (AES-256-GCM, AAD
 * binding workspace, name and key version). Values go in through `put` and come out only
 * through `resolveMany`, which only the worker calls.
 */
export class PgSecretsRepo implements SecretsRepo {
  constructor(
    private readonly tenant: TenantScope,
    private readonly sealing: SealingKey,
  ) {}

  private requireKey(): Buffer {
    return this.sealing.require('secrets');
  }

  async put(input: { workspaceId: string; name: string; value: string }): Promise<void> {
    if (!SECRET_NAME_PATTERN.test(input.name)) {
      throw new WeftError('INVALID_REQUEST', `secret names must match ${SECRET_NAME_PATTERN.source}`);
    }
    const masterKey = this.requireKey();
    const sealed = encryptSecret({
      masterKey,
      plaintext: input.value,
      aad: secretAad({ workspaceId: input.workspaceId, name: input.name, keyVersion: this.sealing.version }),
    });
    const values = { ...sealed, keyVersion: this.sealing.version, updatedAt: new Date() };
    await this.tenant(input.workspaceId, (tx) => tx
      .insert(secrets)
      .values({ workspaceId: input.workspaceId, name: input.name, ...values })
      .onConflictDoUpdate({ target: [secrets.workspaceId, secrets.name], set: values }));
  }

  async list(workspaceId: string): Promise<SecretSummary[]> {
    return this.tenant(workspaceId, (tx) => tx
      .select({ name: secrets.name, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(eq(secrets.workspaceId, workspaceId))
      .orderBy(codePointOrder(secrets.name)));
  }

  async delete(workspaceId: string, name: string): Promise<boolean> {
    const deleted = await this.tenant(workspaceId, (tx) => tx
      .delete(secrets)
      .where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.name, name)))
      .returning({ name: secrets.name }));
    return deleted.length > 0;
  }

  async resolveMany(workspaceId: string, names: readonly string[]): Promise<Record<string, string>> {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return {};
    const masterKey = this.requireKey();
    const rows = await this.tenant(workspaceId, (tx) => tx
      .select()
      .from(secrets)
      .where(and(eq(secrets.workspaceId, workspaceId), inArray(secrets.name, wanted))));
    const entries = rows.map((row): [string, string] => {
      try {
        const value = decryptSecret({
          masterKey,
          ciphertext: row.ciphertext,
          iv: row.iv,
          tag: row.tag,
          // From the query, not the row: a row copied to another workspace must not decrypt.
          aad: secretAad({ workspaceId, name: row.name, keyVersion: row.keyVersion }),
        });
        return [row.name, value];
      } catch (err) {
        throw new WeftError('CONFIG_INVALID', `secret ${row.name} cannot be decrypted (wrong WEFT_MASTER_KEY or altered row)`, { cause: err });
      }
    });
    // fromEntries defines own properties, so a secret named `__proto__` stays a plain entry.
    return Object.fromEntries(entries);
  }
}
