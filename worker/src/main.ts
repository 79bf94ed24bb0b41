/** Worker process entry point (distributed mode): `npm run start:worker`. */
import { ConfigError, loadConfig } from '@weft/shared/config';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { startHealthServer } from './health-server.js';
import { createInfrastructure } from './infrastructure/index.js';
import { createProvider } from './providers/index.js';
import { startWorkerRuntime } from './runtime/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, 'worker');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weft worker: ${err.problems.join('; ')}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, name: 'weft-worker', base: { workerId: config.workerId } });
  const metrics = createMetrics({ defaultLabels: { component: 'worker' } });
  const infra = await createInfrastructure(config, logger);
  const runtime = startWorkerRuntime({
    config, database: infra.database, queue: infra.queue, state: infra.state, flushState: infra.flushState,
    events: infra.events, logger, metrics, clock: () => new Date(), createProvider,
  });
  const health = await startHealthServer({ host: config.host, port: config.workerPort, metrics, readiness: infra.readiness });
  logger.info({ port: config.workerPort }, 'worker health server listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void (async () => {
      await runtime.close({ graceMs: config.shutdownGraceMs });
      await new Promise((resolve) => health.close(resolve));
      await infra.close();
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => { stop('SIGTERM'); });
  process.on('SIGINT', () => { stop('SIGINT'); });
}

main().catch((err: unknown) => {
  process.stderr.write(`weft worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
