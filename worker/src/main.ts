/** Worker process entry point (distributed mode): `npm run start:worker`. */
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { startHealthServer } from './health-server.js';
import { createInfrastructure } from './infrastructure/index.js';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from './lifecycle/index.js';
import { createProvider } from './providers/index.js';
import { startWorkerRuntime } from './runtime/index.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit({ role: 'worker', name: 'weft worker' });
  const logger = createLogger({ level: config.logLevel, name: 'weft-worker', base: { workerId: config.workerId } });
  const metrics = createMetrics({ defaultLabels: { component: 'worker' } });
  const infra = await createInfrastructure(config, logger);
  const runtime = startWorkerRuntime({
    config, database: infra.database, queue: infra.queue, state: infra.state, flushLog: infra.flushLog, spendLedger: infra.spendLedger,
    events: infra.events, control: infra.control, logger, metrics, clock: () => new Date(), createProvider,
  });
  const health = await startHealthServer({ host: config.host, port: config.workerPort, metrics, readiness: infra.readiness });
  logger.info({ port: config.workerPort }, 'worker health server listening');

  exitOnSignals({
    logger,
    steps: [
      () => runtime.close({ graceMs: config.shutdownGraceMs }),
      () => new Promise((resolve) => health.close(resolve)),
      () => infra.close(),
    ],
  });
}

main().catch(exitOnStartFailure('weft worker'));
