import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { credentialAad, decryptSecret, encryptSecret, secretAad } from '@weft/shared/crypto';
import { WeftError } from '@weft/shared/errors';
import { hooks, providerCredentials, secrets } from '../schema/index.js';
import type { WeftDb } from './db.js';
import { hookSecretAad } from './hooks.repo.js';
import type { MasterKeyRepo, MasterKeyRotation } from './types.js';

const MASTER_KEY_BYTES = 32;

export class PgMasterKeyRepo implements MasterKeyRepo {
  constructor(
    private readonly system: WeftDb,
    /** The key every row is sealed with now (WEFT_MASTER_KEY); null when not configured. */
    private readonly masterKey: Buffer | null,
    /** The version rows sealed with the current key carry (WEFT_MASTER_KEY_VERSION). */
    private readonly keyVersion = 1,
  ) {}

  async rotate(input: { newKey: Buffer }): Promise<MasterKeyRotation> {
    const currentKey = this.masterKey;
    if (currentKey === null) throw new WeftError('CONFIG_INVALID', 'WEFT_MASTER_KEY (the current key) is required to rotate it');
    const { newKey } = input;
    if (newKey.length !== MASTER_KEY_BYTES) throw new WeftError('CONFIG_INVALID', `the new master key must be ${MASTER_KEY_BYTES} bytes, got ${newKey.length}`);
    if (newKey.equals(currentKey)) throw new WeftError('CONFIG_INVALID', 'the new master key is the current one');

    return this.system.transaction(async (tx) => {
      // Writers wait for the rotation to commit, so no row is sealed with the old key behind
      // its back by a process of this database; readers go on meanwhile.
      await tx.execute(sql`lock table ${providerCredentials}, ${secrets}, ${hooks} in exclusive mode`);
      const credentialRows = await tx
        .select({
          workspaceId: providerCredentials.workspaceId,
          provider: providerCredentials.provider,
          ciphertext: providerCredentials.ciphertext,
          iv: providerCredentials.iv,
          tag: providerCredentials.tag,
          keyVersion: providerCredentials.keyVersion,
        })
        .from(providerCredentials);
      const secretRows = await tx
        .select({
          workspaceId: secrets.workspaceId,
          name: secrets.name,
          ciphertext: secrets.ciphertext,
          iv: secrets.iv,
          tag: secrets.tag,
          keyVersion: secrets.keyVersion,
        })
        .from(secrets);
      // Inbound webhooks' signing secrets (hooks without a signature hold none).
      const hookRows = (await tx
        .select({
          id: hooks.id, workspaceId: hooks.workspaceId,
          ciphertext: hooks.secretCiphertext, iv: hooks.secretIv, tag: hooks.secretTag, keyVersion: hooks.secretKeyVersion,
        })
        .from(hooks)
        .where(isNotNull(hooks.secretCiphertext)))
        .flatMap((r) => (r.ciphertext && r.iv && r.tag && r.keyVersion !== null ? [{ ...r, ciphertext: r.ciphertext, iv: r.iv, tag: r.tag, keyVersion: r.keyVersion }] : []));

      // One version for everything the new key seals, above every version in use, so that a
      // row's version says which key generation sealed it.
      const keyVersion = [...credentialRows, ...secretRows, ...hookRows].reduce((max, row) => Math.max(max, row.keyVersion), this.keyVersion) + 1;

      for (const row of credentialRows) {
        const plaintext = unseal({
          currentKey,
          row,
          aad: credentialAad({ workspaceId: row.workspaceId, provider: row.provider, keyVersion: row.keyVersion }),
          what: `the ${row.provider} credential of workspace ${row.workspaceId}`,
        });
        const sealed = encryptSecret({
          masterKey: newKey,
          plaintext,
          aad: credentialAad({ workspaceId: row.workspaceId, provider: row.provider, keyVersion }),
        });
        await tx
          .update(providerCredentials)
          .set({ ...sealed, keyVersion })
          .where(and(eq(providerCredentials.workspaceId, row.workspaceId), eq(providerCredentials.provider, row.provider)));
      }

      for (const row of secretRows) {
        const plaintext = unseal({
          currentKey,
          row,
          aad: secretAad({ workspaceId: row.workspaceId, name: row.name, keyVersion: row.keyVersion }),
          what: `secret ${row.name} of workspace ${row.workspaceId}`,
        });
        const sealed = encryptSecret({ masterKey: newKey, plaintext, aad: secretAad({ workspaceId: row.workspaceId, name: row.name, keyVersion }) });
        await tx
          .update(secrets)
          .set({ ...sealed, keyVersion })
          .where(and(eq(secrets.workspaceId, row.workspaceId), eq(secrets.name, row.name)));
      }

      for (const row of hookRows) {
        const plaintext = unseal({
          currentKey,
          row,
          aad: hookSecretAad({ workspaceId: row.workspaceId, hookId: row.id, keyVersion: row.keyVersion }),
          what: `the signing secret of hook ${row.id} of workspace ${row.workspaceId}`,
        });
        const sealed = encryptSecret({ masterKey: newKey, plaintext, aad: hookSecretAad({ workspaceId: row.workspaceId, hookId: row.id, keyVersion }) });
        await tx
          .update(hooks)
          .set({ secretCiphertext: sealed.ciphertext, secretIv: sealed.iv, secretTag: sealed.tag, secretKeyVersion: keyVersion })
          .where(eq(hooks.id, row.id));
      }

      return { keyVersion, credentials: credentialRows.length, secrets: secretRows.length, hooks: hookRows.length };
    });
  }
}

/** Decrypts one row with the current key and its own version's AAD; a failure aborts the rotation. */
function unseal(input: { currentKey: Buffer; row: { ciphertext: Buffer; iv: Buffer; tag: Buffer }; aad: string; what: string }): string {
  try {
    return decryptSecret({ masterKey: input.currentKey, ciphertext: input.row.ciphertext, iv: input.row.iv, tag: input.row.tag, aad: input.aad });
  } catch (err) {
    throw new WeftError('CONFIG_INVALID', `${input.what} cannot be decrypted with WEFT_MASTER_KEY (wrong key or altered row); nothing was rotated`, {
      cause: err,
    });
  }
}
