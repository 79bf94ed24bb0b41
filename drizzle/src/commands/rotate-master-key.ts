/**
 * `weft rotate-master-key`: re-encrypts every provider credential and secret, sealed with
 * WEFT_MASTER_KEY, with WEFT_NEW_MASTER_KEY, in one transaction, on DATABASE_URL (or the PGlite
 * folder of embedded mode, WEFT_DATA_DIR). Afterwards the operator sets WEFT_MASTER_KEY to the
 * new key and WEFT_MASTER_KEY_VERSION to the version printed, and restarts api and workers: a
 * process still on the old key cannot read the rotated rows, and what it writes meanwhile is
 * sealed with the old key.
 */
import { ConfigError } from '@weft/shared/config';
import type { Logger } from '@weft/shared/logging';
import { createDatabase } from '../database/create-database.js';
import { resolveMigrationTarget } from '../database/migration-target.js';

export interface CommandContext {
  env: Record<string, string | undefined>;
  logger: Logger;
}

/** Exit codes: 0 rotated, 1 the rotation failed (nothing changed), 2 bad configuration. */
export async function rotateMasterKeyCommand(ctx: CommandContext): Promise<number> {
  const log = ctx.logger.child({ command: 'rotate-master-key' });
  const problems: string[] = [];
  const currentKey = parseMasterKey({ env: ctx.env, name: 'WEFT_MASTER_KEY', problems });
  const newKey = parseMasterKey({ env: ctx.env, name: 'WEFT_NEW_MASTER_KEY', problems });
  const rawVersion = ctx.env.WEFT_MASTER_KEY_VERSION?.trim() ?? '';
  const currentVersion = rawVersion === '' ? 1 : Number(rawVersion);
  if (!Number.isInteger(currentVersion) || currentVersion < 1) problems.push('WEFT_MASTER_KEY_VERSION: must be a positive integer');
  let target: ReturnType<typeof resolveMigrationTarget> | undefined;
  try {
    target = resolveMigrationTarget(ctx.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (currentKey && newKey?.equals(currentKey)) problems.push('WEFT_NEW_MASTER_KEY: must differ from WEFT_MASTER_KEY');
  if (problems.length > 0 || !target || !currentKey || !newKey) {
    log.error({ problems }, 'invalid configuration; nothing was rotated');
    return 2;
  }

  const started = Date.now();
  const database =
    'url' in target
      ? await createDatabase({ url: target.url, masterKey: currentKey, masterKeyVersion: currentVersion, poolSize: 1, logger: log })
      : await createDatabase({ dataDir: target.dataDir, masterKey: currentKey, masterKeyVersion: currentVersion });
  try {
    const result = await database.repos.masterKey.rotate({ newKey });
    log.info(
      { kind: database.kind, ...result, ms: Date.now() - started },
      `master key rotated: ${result.credentials} credentials and ${result.secrets} secrets (and ${result.hooks} hook signing secrets) re-encrypted with key version ${result.keyVersion}; ` +
        `set WEFT_MASTER_KEY to the new key and WEFT_MASTER_KEY_VERSION=${result.keyVersion}, and restart api and workers`,
    );
    return 0;
  } catch (err) {
    log.error({ err, kind: database.kind }, 'master key rotation failed; nothing was rotated');
    return 1;
  } finally {
    await database.close();
  }
}

/** Same rule as loadConfig's WEFT_MASTER_KEY: 32 bytes, base64 (openssl rand -base64 32). */
function parseMasterKey(input: { env: Record<string, string | undefined>; name: string; problems: string[] }): Buffer | null {
  const raw = input.env[input.name]?.trim();
  if (!raw) {
    input.problems.push(`${input.name}: required (32 bytes, base64: openssl rand -base64 32)`);
    return null;
  }
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== raw.replace(/=+$/, '')) {
    input.problems.push(`${input.name}: must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
    return null;
  }
  return key;
}
