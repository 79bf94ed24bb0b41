/**
 * Process entry point. `npm start`: api and worker in one process (embedded mode when
 * neither REDIS_URL nor DATABASE_URL is set). `npm run start:api` (`--role=api`): the api
 * alone, distributed mode.
 */
import type { Role, WeftConfig } from '@weft/shared/config';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { createReplayNode, createRetryExecution } from '@weft/worker/control';
import { createInfrastructure } from '@weft/worker/infrastructure';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from '@weft/worker/lifecycle';
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
  let config: WeftConfig = loadConfigOrExit({ role, name: 'weft' });
  if (config.mode === 'embedded') config = withEmbeddedSecrets(config);
  const logger = createLogger({ level: config.logLevel, name: role === 'api' ? 'weft-api' : 'weft', base: { role, mode: config.mode } });
  const metrics = createMetrics({ defaultLabels: { component: role } });
  const infra = await createInfrastructure(config, logger);
  if (config.mode === 'distributed') await infra.database.migrate();

  const clock = (): Date => new Date();
  const app = await buildApp({
    config, database: infra.database, queue: infra.queue, state: infra.state, flushLog: infra.flushLog, events: infra.events,
    logger, metrics, clock, readiness: infra.readiness, control: infra.control,
    replayNode: createReplayNode({ repos: infra.database.repos, state: infra.state, queue: infra.queue, logger, metrics, clock }),
    retryExecution: createRetryExecution({ repos: infra.database.repos, state: infra.state, queue: infra.queue, logger, metrics, clock }),
  });
  let worker: WorkerRuntime | null = null;
  if (role === 'all') {
    worker = startWorkerRuntime({
      config, database: infra.database, queue: infra.queue, state: infra.state, flushLog: infra.flushLog, spendLedger: infra.spendLedger,
      events: infra.events, control: infra.control, logger, metrics, clock, createProvider,
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

  exitOnSignals({
    logger,
    steps: [
      () => app.close(),
      async () => { if (worker) await worker.close({ graceMs: config.shutdownGraceMs }); },
      async () => { if (mockClose) await mockClose(); },
      () => infra.close(),
    ],
  });
}

main().catch(exitOnStartFailure('weft'));
