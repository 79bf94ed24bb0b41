import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
/** 96-bit nonce: the size GCM is specified for; random per encryption. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedSecret {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

function checkKey(masterKey: Buffer): void {
  if (masterKey.length !== KEY_BYTES) {
    throw new Error(`master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  }
}

/**
 * AES-256-GCM with a random 96-bit nonce. `aad` binds the ciphertext to its context (see
 * `credentialAad`), so a sealed value copied to another row does not decrypt.
 */
export function encryptSecret(input: { masterKey: Buffer; plaintext: string; aad: string }): SealedSecret {
  checkKey(input.masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, input.masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(input.aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(input.plaintext, 'utf8'), cipher.final()]);
  return { ciphertext, iv, tag: cipher.getAuthTag() };
}

/** Throws when the key, the AAD, the nonce or the tag does not match (tampering included). */
export function decryptSecret(input: { masterKey: Buffer; ciphertext: Buffer; iv: Buffer; tag: Buffer; aad: string }): string {
  checkKey(input.masterKey);
  if (input.iv.length !== IV_BYTES) throw new Error(`iv must be ${IV_BYTES} bytes`);
  // A short tag would weaken authentication; only full-length tags are accepted.
  if (input.tag.length !== TAG_BYTES) throw new Error(`tag must be ${TAG_BYTES} bytes`);
  const decipher = createDecipheriv(ALGORITHM, input.masterKey, input.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(input.aad, 'utf8'));
  decipher.setAuthTag(input.tag);
  return Buffer.concat([decipher.update(input.ciphertext), decipher.final()]).toString('utf8');
}

/**
 * The additional authenticated data of a provider credential. Stored ciphertexts depend on
 * this exact encoding: never change it for an existing key version.
 */
export function credentialAad(input: { workspaceId: string; provider: string; keyVersion: number }): string {
  return JSON.stringify(['weft.credential', input.workspaceId, input.provider, input.keyVersion]);
}

/** The AAD of a workspace secret (`{{vault.NAME}}`); same stability rule as `credentialAad`. */
export function secretAad(input: { workspaceId: string; name: string; keyVersion: number }): string {
  return JSON.stringify(['weft.secret', input.workspaceId, input.name, input.keyVersion]);
}
