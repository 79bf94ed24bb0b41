import { join } from 'node:path';
import { ConfigError, loadConfig, type LogLevel } from '@weft/shared/config';

/** Where embedded mode keeps its PGlite data inside WEFT_DATA_DIR. */
export function pgliteDataDir(weftDataDir: string): string {
  return join(weftDataDir, 'pgdata');
}

export type MigrationTarget = { url: string; logLevel: LogLevel } | { dataDir: string; logLevel: LogLevel };

/**
 * Variables the full process config requires that migrations do not use. Migrating must work
 * with only DATABASE_URL set (a release job, a developer shell).
 */
const NOT_NEEDED_FOR_MIGRATIONS = ['REDIS_URL:', 'WEFT_MASTER_KEY:', 'WEFT_ADMIN_TOKEN:'];

/**
 * What `npm run db:migrate` migrates: DATABASE_URL when set, else the PGlite folder of
 * embedded mode. Validation is loadConfig's; its complaints about variables that migrations
 * do not need are ignored.
 */
export function resolveMigrationTarget(env: Record<string, string | undefined>): MigrationTarget {
  try {
    const config = loadConfig(env, 'all');
    return config.databaseUrl !== null
      ? { url: config.databaseUrl, logLevel: config.logLevel }
      : { dataDir: pgliteDataDir(config.dataDir), logLevel: config.logLevel };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const relevant = err.problems.filter((p) => !NOT_NEEDED_FOR_MIGRATIONS.some((name) => p.startsWith(name)));
    if (relevant.length > 0) throw new ConfigError(relevant);
    // Only unrelated variables are missing: read the same config as embedded mode would,
    // then put back the database URL that loadConfig has already found valid.
    const url = env.DATABASE_URL?.trim();
    const rest = loadConfig({ ...env, DATABASE_URL: undefined, REDIS_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined }, 'all');
    return url ? { url, logLevel: rest.logLevel } : { dataDir: pgliteDataDir(rest.dataDir), logLevel: rest.logLevel };
  }
}
