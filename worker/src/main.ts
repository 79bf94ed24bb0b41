/** Worker process entry point (distributed mode): `npm run start:worker`. */
import { createDatabase } from '@weft/db/database';
import { createProcessResources } from '@weft/shared/infrastructure';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from '@weft/shared/lifecycle';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { startHealthServer } from './health-server.js';
import { createProvider } from './providers/index.js';
import { startWorkerRuntime } from './runtime/index.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit({ role: 'worker', name: 'weft worker' });
  const logger = createLogger({ level: config.logLevel, name: 'weft-worker', base: { workerId: config.workerId } });
  const metrics = createMetrics({ defaultLabels: { component: 'worker' } });
  const resources = await createProcessResources({ config, logger, metrics, createDatabase });
  const runtime = startWorkerRuntime({ ...resources, config, logger, metrics, createProvider });
  const health = await startHealthServer({ host: config.host, port: config.workerPort, metrics, readiness: resources.readiness });
  logger.info({ port: config.workerPort }, 'worker health server listening');

  exitOnSignals({
    logger,
    steps: [
      () => runtime.close({ graceMs: config.shutdownGraceMs }),
      () => new Promise((resolve) => health.close(resolve)),
      () => resources.close(),
    ],
  });
}

main().catch(exitOnStartFailure('weft worker'));
