/**
 * Process entry point. `npm start`: api and worker in one process (embedded mode when
 * neither REDIS_URL nor DATABASE_URL is set). `npm run start:api` (`--role=api`): the api
 * alone, distributed mode.
 */
import { ConfigError, loadConfig, type Role, type WeftConfig } from '@weft/shared/config';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { createInfrastructure } from '@weft/worker/infrastructure';
import { createProvider } from '@weft/worker/providers';
import { startWorkerRuntime, type WorkerRuntime } from '@weft/worker/runtime';
import { buildApp } from './app.js';
import { banner, bootstrapLocalWorkspace, withEmbeddedSecrets } from './bootstrap/embedded.js';

function parseRole(argv: readonly string[]): Role {
  const arg = argv.find((a) => a.startsWith('--role='));
  const role = arg?.slice('--role='.length) ?? 'all';
  if (role !== 'api' && role !== 'all') {
    process.stderr.write(`weft: --role must be api or all (the worker runs with npm run start:worker), got '${role}'\n`);
    process.exit(1);
  }
  return role;
}

async function main(): Promise<void> {
  const role = parseRole(process.argv.slice(2));
  let config: WeftConfig;
  try {
    config = loadConfig(process.env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weft: ${err.problems.join('; ')}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (config.mode === 'embedded') config = withEmbeddedSecrets(config);
  const logger = createLogger({ level: config.logLevel, name: role === 'api' ? 'weft-api' : 'weft', base: { role, mode: config.mode } });
  const metrics = createMetrics({ defaultLabels: { component: role } });
  const infra = await createInfrastructure(config, logger);
  if (config.mode === 'distributed') await infra.database.migrate();

  const clock = (): Date => new Date();
  const app = await buildApp({
    config, database: infra.database, queue: infra.queue, state: infra.state, events: infra.events,
    logger, metrics, clock, readiness: infra.readiness,
  });
  let worker: WorkerRuntime | null = null;
  if (role === 'all') {
    worker = startWorkerRuntime({
      config, database: infra.database, queue: infra.queue, state: infra.state, flushState: infra.flushState,
      events: infra.events, logger, metrics, clock, createProvider,
    });
  }
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  logger.info({ url }, 'api listening');

  let mockClose: (() => Promise<void>) | null = null;
  if (config.mode === 'embedded') {
    const local = await bootstrapLocalWorkspace({ config, database: infra.database, logger });
    if (local.mock) {
      const mock = local.mock;
      mockClose = () => mock.close();
    }
    process.stdout.write(`${banner({ url, config, local })}\n`);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void (async () => {
      await app.close();
      if (worker) await worker.close({ graceMs: config.shutdownGraceMs });
      if (mockClose) await mockClose();
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
  process.stderr.write(`weft failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
