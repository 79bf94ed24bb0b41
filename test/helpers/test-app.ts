/**
 * An api built for tests: a real database (Postgres at `databaseUrl`, migrated), in-memory
 * queue, state and events, and a logger whose lines are kept so tests can assert what was
 * (never) logged. Used with app.inject(); nothing listens.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDatabase } from '@weft/db/database';
import { MemoryEventBus, MemoryExecutionAdmission, MemoryFlushLog, MemoryJobQueue, MemorySpendLedger, MemoryStateStore, MemoryTaskWakeups } from '@weft/shared/adapters/memory';
import { loadConfig } from '@weft/shared/config';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { resumeLinksOf } from '@weft/shared/infrastructure';
import { createRunEngine } from '@weft/shared/run-engine';
import { buildApp } from '../../api/src/app.js';
import type { ApiDeps, ReadinessCheck } from '../../api/src/deps.js';
import type { ApiInstance } from '../../api/src/fastify-types.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestApp {
  app: ApiInstance;
  deps: ApiDeps;
  /** Every log line written so far (JSON text). */
  logs: string[];
  /** Creates a workspace through the admin route and returns its id and key. */
  createWorkspace(name?: string): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
}

export interface CreateTestAppOptions {
  databaseUrl: string;
  /** Extra environment for loadConfig (e.g. WEFT_BODY_LIMIT_BYTES). */
  env?: Record<string, string>;
  readiness?: ReadinessCheck[];
  /** A Redis connection for what the api keeps there itself (request rate limits); owned by the caller. */
  redis?: ApiDeps['redis'];
  /** Called on the built app before `ready()`, e.g. to add a hook a test observes requests with. */
  configure?: (app: ApiInstance) => void;
}

export async function createTestApp(options: CreateTestAppOptions): Promise<TestApp> {
  const masterKey = randomBytes(32).toString('base64');
  const config = loadConfig({ WEFT_ADMIN_TOKEN: TEST_ADMIN_TOKEN, WEFT_MASTER_KEY: masterKey, LOG_LEVEL: 'debug', ...options.env }, 'all');
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      logs.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, name: 'weft-api-test', destination });
  const database = await createDatabase({ url: options.databaseUrl, masterKey: config.masterKey, poolSize: 4 });
  await database.migrate();
  const events = new MemoryEventBus();
  const state = new MemoryStateStore({ events });
  const flushLog = new MemoryFlushLog();
  const queue = new MemoryJobQueue();
  const metrics = createMetrics();
  const clock = (): Date => new Date();
  const deps: ApiDeps = {
    config,
    database,
    queue,
    state,
    events,
    logger,
    metrics,
    clock,
    engine: createRunEngine({
      resumeLinks: resumeLinksOf(config), repos: database.repos, state, flushLog, spendLedger: new MemorySpendLedger(), queue, events, logger, metrics, clock,
      admission: new MemoryExecutionAdmission({ events }), workspaceMaxInFlight: config.quotas.workspaceMaxInFlight, taskWakeups: new MemoryTaskWakeups(),
    }),
    ...(options.readiness ? { readiness: options.readiness } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
  };
  const app = await buildApp(deps);
  options.configure?.(app);
  await app.ready();
  return {
    app,
    deps,
    logs,
    async createWorkspace(name = 'test workspace') {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        payload: { name },
      });
      if (res.statusCode !== 201) throw new Error(`workspace creation failed: ${res.statusCode} ${res.body}`);
      return res.json<{ id: string; apiKey: string }>();
    },
    async close() {
      await app.close();
      await queue.close();
      await flushLog.close();
      await state.close();
      await events.close();
      await database.close();
    },
  };
}
