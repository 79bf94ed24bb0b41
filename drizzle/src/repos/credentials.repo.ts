import { and, eq } from 'drizzle-orm';
import { credentialAad, decryptSecret, encryptSecret } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import type { LlmProviderName } from '@weft/shared/flow';
import { providerCredentials } from '../schema/index.js';
import { codePointOrder } from './order.js';
import type { SealingKey } from './sealing-key.js';
import type { TenantScope } from './tenant.js';
import type { CredentialSummary, CredentialsRepo } from './types.js';

/** Version of the master key that seals new credentials; rotation will add versions. */

/** The end of the key, shown in listings so people can recognise it. */
function lastFour(apiKey: string): string {
  return apiKey.slice(-4);
}

export class PgCredentialsRepo implements CredentialsRepo {
  constructor(
    private readonly tenant: TenantScope,
    private readonly sealing: SealingKey,
  ) {}

  private requireKey(): Buffer {
    return this.sealing.require('provider credentials');
  }

  async put(input: { workspaceId: string; provider: LlmProviderName; apiKey: string; baseUrl: string | null }): Promise<void> {
    const masterKey = this.requireKey();
    const sealed = encryptSecret({
      masterKey,
      plaintext: input.apiKey,
      aad: credentialAad({ workspaceId: input.workspaceId, provider: input.provider, keyVersion: this.sealing.version }),
    });
    const now = new Date();
    const values = {
      ...sealed,
      keyVersion: this.sealing.version,
      last4: lastFour(input.apiKey),
      baseUrl: input.baseUrl,
      updatedAt: now,
    };
    await this.tenant(input.workspaceId, (tx) => tx
      .insert(providerCredentials)
      .values({ workspaceId: input.workspaceId, provider: input.provider, createdAt: now, ...values })
      .onConflictDoUpdate({ target: [providerCredentials.workspaceId, providerCredentials.provider], set: values }));
  }

  async list(workspaceId: string): Promise<CredentialSummary[]> {
    return this.tenant(workspaceId, (tx) => tx
      .select({
        provider: providerCredentials.provider,
        last4: providerCredentials.last4,
        baseUrl: providerCredentials.baseUrl,
        updatedAt: providerCredentials.updatedAt,
      })
      .from(providerCredentials)
      .where(eq(providerCredentials.workspaceId, workspaceId))
      .orderBy(codePointOrder(providerCredentials.provider)));
  }

  async delete(workspaceId: string, provider: LlmProviderName): Promise<boolean> {
    const deleted = await this.tenant(workspaceId, (tx) => tx
      .delete(providerCredentials)
      .where(and(eq(providerCredentials.workspaceId, workspaceId), eq(providerCredentials.provider, provider)))
      .returning({ provider: providerCredentials.provider }));
    return deleted.length > 0;
  }

  async resolve(workspaceId: string, provider: LlmProviderName): Promise<{ apiKey: string; baseUrl: string | null } | null> {
    const masterKey = this.requireKey();
    const [row] = await this.tenant(workspaceId, (tx) => tx
      .select()
      .from(providerCredentials)
      .where(and(eq(providerCredentials.workspaceId, workspaceId), eq(providerCredentials.provider, provider))));
    if (!row) return null;
    let apiKey: string;
    try {
      apiKey = decryptSecret({
        masterKey,
        ciphertext: row.ciphertext,
        iv: row.iv,
        tag: row.tag,
        // From the query, not the row: a row copied to another workspace must not decrypt.
        aad: credentialAad({ workspaceId, provider, keyVersion: row.keyVersion }),
      });
    } catch (err) {
      throw new WeftError('CONFIG_INVALID', `the stored ${provider} credential cannot be decrypted (wrong WEFT_MASTER_KEY or altered row)`, {
        cause: err,
      });
    }
    return { apiKey, baseUrl: row.baseUrl };
  }
}
