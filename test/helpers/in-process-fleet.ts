/**
 * A distributed Weft in one test process: api instances and workers built exactly as their
 * main.ts builds them (createProcessResources: Redis, BullMQ, Postgres), sharing one Redis prefix
 * and one database. Much faster to start than the process stack (stack.ts), for tests that need
 * several instances but not separate processes.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDatabase } from '@weft/db/database';
import { loadConfig, type WeftConfig } from '@weft/shared/config';
import { createProcessResources, type ProcessResources } from '@weft/shared/infrastructure';
import { createLogger } from '@weft/shared/logging';
import { createMetrics, type WeftMetrics } from '@weft/shared/metrics';
import { buildApp } from '../../api/src/app.js';
import type { ApiInstance } from '../../api/src/fastify-types.js';
import { createProvider, startWorkerRuntime, type WorkerRuntime } from '../../worker/src/index.js';

export const FLEET_ADMIN_TOKEN = 'fleet-admin-token-0123456789';

export interface FleetApi {
  app: ApiInstance;
  resources: ProcessResources;
  metrics: WeftMetrics;
  logs: string[];
  close(): Promise<void>;
}

export interface FleetWorker {
  runtime: WorkerRuntime;
  resources: ProcessResources;
  metrics: WeftMetrics;
  logs: string[];
  close(): Promise<void>;
}

export interface InProcessFleet {
  env: Record<string, string>;
  /** `configure`: called on the built app before `ready()`, e.g. to add a hook a test observes answers with. */
  startApi(extraEnv?: Record<string, string>, configure?: (app: ApiInstance) => void): Promise<FleetApi>;
  startWorker(id: string, extraEnv?: Record<string, string>): Promise<FleetWorker>;
  /** Closes every instance still open. */
  close(): Promise<void>;
}

function lineSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
}

export function inProcessFleet(input: { redisUrl: string; databaseUrl: string; prefix: string; env?: Record<string, string> }): InProcessFleet {
  const env: Record<string, string> = {
    REDIS_URL: input.redisUrl,
    DATABASE_URL: input.databaseUrl,
    WEFT_REDIS_PREFIX: input.prefix,
    WEFT_MASTER_KEY: randomBytes(32).toString('base64'),
    WEFT_ADMIN_TOKEN: FLEET_ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    WEFT_SWEEP_INTERVAL_MS: '1000',
    WEFT_SWEEP_MIN_AGE_MS: '1000',
    ...input.env,
  };
  const open = new Set<{ close(): Promise<void> }>();
  const build = async (role: 'api' | 'worker', extra: Record<string, string>): Promise<{ config: WeftConfig; resources: ProcessResources; metrics: WeftMetrics; logs: string[] }> => {
    const config = loadConfig({ ...env, ...extra }, role);
    const logs: string[] = [];
    const logger = createLogger({ level: config.logLevel, name: `weft-${role}-test`, destination: lineSink(logs) });
    const metrics = createMetrics({ defaultLabels: { component: role } });
    const resources = await createProcessResources({ config, logger, metrics, createDatabase });
    return { config, resources, metrics, logs };
  };
  return {
    env,
    async startApi(extraEnv = {}, configure) {
      const { config, resources, metrics, logs } = await build('api', extraEnv);
      await resources.database.migrate();
      const app = await buildApp({ ...resources, config, logger: resources.engine.resources.logger, metrics });
      configure?.(app);
      await app.ready();
      const api: FleetApi = {
        app, resources, metrics, logs,
        async close() {
          open.delete(api);
          await app.close();
          await resources.close();
        },
      };
      open.add(api);
      return api;
    },
    async startWorker(id, extraEnv = {}) {
      const { config, resources, metrics, logs } = await build('worker', { ...extraEnv, WORKER_ID: id });
      const runtime = startWorkerRuntime({ ...resources, config, logger: resources.engine.resources.logger, metrics, createProvider });
      const worker: FleetWorker = {
        runtime, resources, metrics, logs,
        async close() {
          open.delete(worker);
          await runtime.close({ graceMs: 1000 });
          await resources.close();
        },
      };
      open.add(worker);
      return worker;
    },
    async close() {
      for (const instance of [...open].reverse()) await instance.close();
    },
  };
}
