/**
 * A distributed Weft on real processes for end-to-end tests: the api (which migrates) and
 * workers sharing one Redis prefix and one database, plus a workspace helper.
 */
import { randomBytes } from 'node:crypto';
import { apiClient } from './http.js';
import { freePort, startWeftProcess, waitForHttp, type WeftProcess } from './processes.js';

export const TEST_ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/**
 * How long one process may take to answer /health/ready. A start loads the module graph through
 * tsx: seconds on an idle machine, up to a minute on a loaded 2-core one. An upper bound on a
 * wait, never a measurement.
 */
export const PROCESS_READY_MS = 120_000;
/** A beforeAll that starts a stack: the api, then the workers side by side. */
export const STACK_START_MS = 2 * PROCESS_READY_MS + 30_000;

export interface StackWorker {
  id: string;
  port: number;
  proc: WeftProcess;
}

export interface DistributedStack {
  baseUrl: string;
  /** Every process started so far (api first), for their output and for stopping. */
  procs: WeftProcess[];
  workers: StackWorker[];
  env: Record<string, string>;
  startWorker(id: string): Promise<StackWorker>;
  /** Creates a workspace with the admin token; answers its API key. */
  createWorkspace(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDistributedStack(input: {
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
  workers: readonly string[];
  /** Extra environment for every process (LOG_LEVEL, WORKER_CONCURRENCY, limits…). */
  env?: Record<string, string>;
  /** Extra environment for one worker, by id, over `env` (its pool: WEFT_WORKER_NODE_TYPES…). */
  workerEnv?: Record<string, Record<string, string>>;
}): Promise<DistributedStack> {
  const env: Record<string, string> = {
    REDIS_URL: input.redisUrl,
    DATABASE_URL: input.databaseUrl,
    WEFT_REDIS_PREFIX: input.prefix,
    WEFT_MASTER_KEY: randomBytes(32).toString('base64'),
    WEFT_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    ...input.env,
  };
  const procs: WeftProcess[] = [];
  const workers: StackWorker[] = [];
  const apiPort = await freePort();
  const api = startWeftProcess({ name: 'api', script: 'api/src/main.ts', args: ['--role=api'], env: { ...env, PORT: String(apiPort) } });
  procs.push(api);
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  // The api migrates the database before it listens; workers start after that.
  await waitForHttp(`${baseUrl}/health/ready`, api, PROCESS_READY_MS);

  const startWorker = async (id: string): Promise<StackWorker> => {
    const port = await freePort();
    const proc = startWeftProcess({ name: id, script: 'worker/src/main.ts', env: { ...env, ...input.workerEnv?.[id], WORKER_PORT: String(port), WORKER_ID: id } });
    procs.push(proc);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, proc, PROCESS_READY_MS);
    const worker = { id, port, proc };
    workers.push(worker);
    return worker;
  };
  // Workers start side by side: each spends its start loading modules, not waiting for the others.
  await Promise.all(input.workers.map((id) => startWorker(id)));

  return {
    baseUrl,
    procs,
    workers,
    env,
    startWorker,
    async createWorkspace(name) {
      const res = await apiClient(baseUrl)('POST', '/v1/workspaces', { name }, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
      if (res.status !== 201) throw new Error(`workspace not created: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.apiKey as string;
    },
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}
