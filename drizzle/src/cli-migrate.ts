/**
 * `npm run db:migrate`: applies the committed migrations to DATABASE_URL, or to the PGlite
 * folder of embedded mode (WEFT_DATA_DIR) when DATABASE_URL is not set.
 */
import { createLogger } from '@weft/shared/logging';
import { createDatabase } from './database/create-database.js';
import { resolveMigrationTarget } from './database/migration-target.js';

async function main(): Promise<number> {
  let target;
  try {
    target = resolveMigrationTarget(process.env);
  } catch (err) {
    createLogger({ level: 'error', name: 'weft-migrate' }).error({ err }, 'invalid configuration');
    return 1;
  }
  const log = createLogger({ level: target.logLevel, name: 'weft-migrate' });
  const started = Date.now();
  const database =
    'url' in target
      ? await createDatabase({ url: target.url, masterKey: null, poolSize: 1, logger: log })
      : await createDatabase({ dataDir: target.dataDir, masterKey: null });
  try {
    log.info({ kind: database.kind, ...('dataDir' in target ? { dataDir: target.dataDir } : {}) }, 'applying migrations');
    await database.migrate();
    log.info({ kind: database.kind, ms: Date.now() - started }, 'migrations applied');
    return 0;
  } catch (err) {
    log.error({ err }, 'migration failed');
    return 1;
  } finally {
    await database.close();
  }
}

process.exitCode = await main();
