/**
 * `npm start`: the api and a worker in one process. With neither REDIS_URL nor DATABASE_URL it
 * runs embedded (PGlite in the data folder, in-memory queue, state and events) and prints a
 * local workspace's key; with both, it joins a distributed deployment as api plus one worker.
 */
import { buildApp } from '@weft/api';
import { createDatabase } from '@weft/db/database';
import { createProcessResources } from '@weft/shared/infrastructure';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from '@weft/shared/lifecycle';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { createProvider, startWorkerRuntime } from '@weft/worker';
import { banner, bootstrapLocalWorkspace, withEmbeddedSecrets } from './bootstrap.js';

async function main(): Promise<void> {
  const loaded = loadConfigOrExit({ role: 'all', name: 'weft' });
  const config = loaded.mode === 'embedded' ? withEmbeddedSecrets(loaded) : loaded;
  const logger = createLogger({ level: config.logLevel, name: 'weft', base: { role: 'all', mode: config.mode } });
  const metrics = createMetrics({ defaultLabels: { component: 'all' } });
  const resources = await createProcessResources({ config, logger, metrics, createDatabase });
  if (config.mode === 'distributed') await resources.database.migrate();

  const app = await buildApp({ ...resources, config, logger, metrics });
  const worker = startWorkerRuntime({ ...resources, config, logger, metrics, createProvider });
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  logger.info({ url }, 'api listening');

  let mockClose: (() => Promise<void>) | null = null;
  if (config.mode === 'embedded') {
    const local = await bootstrapLocalWorkspace({ config, database: resources.database, logger });
    if (local.mock) {
      const mock = local.mock;
      mockClose = () => mock.close();
    }
    process.stdout.write(`${banner({ url, config, local })}\n`);
  }

  exitOnSignals({
    logger,
    steps: [
      () => app.close(),
      () => worker.close({ graceMs: config.shutdownGraceMs }),
      async () => { if (mockClose) await mockClose(); },
      () => resources.close(),
    ],
  });
}

main().catch(exitOnStartFailure('weft'));
