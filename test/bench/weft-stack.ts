/**
 * A distributed Weft on real processes, driven as a REST client drives it: the api, 1 or more
 * workers (restartable with other settings), and a workspace whose openai credential is the mock
 * provider. The command lines live in processes.ts.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import type { FlowInput } from './flows.js';
import { freePort } from '../helpers/private-services.js';
import { startBenchProcess, waitForHttp, type BenchProcess } from './processes.js';

export interface WorkerSettings {
  count: number;
  concurrency: number;
  /** `--expose-gc` and the heap probe (IPC). */
  heapProbe: boolean;
}

/** A workspace of a running Weft, driven as a REST client drives it. */
export interface WeftClient {
  baseUrl: string;
  apiKey: string;
  workspaceId: string;
  createFlow(flow: FlowInput): Promise<string>;
  /** `POST /v1/flows/:id/executions`; answers the execution id. */
  startExecution(flowId: string, input: unknown): Promise<string>;
  cancelExecution(executionId: string): Promise<void>;
  /** Whether Postgres holds an execution of the flow not yet ended (queued, running, waiting): the flusher has not finalized it. */
  hasOpenExecutions(flowId: string): Promise<boolean>;
  /** Closes the connections of the starts. */
  close(): Promise<void>;
}

export interface WeftStack extends WeftClient {
  workers: BenchProcess[];
  /** Stops the running workers and starts `settings.count` new ones (0: none). */
  setWorkers(settings: WorkerSettings): Promise<void>;
  stop(): Promise<void>;
}

/** What the bench's Weft processes share: the quotas it checks but never hits, and no leak of the bench's own environment. */
export const BENCH_WEFT_ENV: Record<string, string | undefined> = {
  WEFT_MOCK_PROVIDER: 'false',
  // The quotas are checked (their cost is part of what the bench measures) but never refuse.
  WEFT_RATE_LIMIT_PER_KEY: '100000000',
  WEFT_RATE_LIMIT_PER_WORKSPACE: '100000000',
  WEFT_WORKSPACE_MAX_IN_FLIGHT: '10000000',
  // The node cap's slots are taken and given back (their cost is measured) but never defer: the
  // bench's one workspace runs 1000 nodes at once, ten times the default cap.
  WEFT_WORKSPACE_MAX_ACTIVE_NODES: process.env.BENCH_NODE_CAP ?? '1000000',
  // The bench's own environment must not leak into Weft's (a data dir, a port, provider keys).
  WEFT_DATA_DIR: undefined,
  OPENAI_API_KEY: undefined,
  OPENAI_BASE_URL: undefined,
};

/**
 * Creates the bench's workspace through the admin token, lets it call the mock on loopback with
 * an openai credential, and answers a client of it.
 */
export async function benchWorkspace(input: { baseUrl: string; adminToken: string; mockUrl: string }): Promise<WeftClient> {
  const { baseUrl } = input;
  const workspace = await json(await fetch(`${baseUrl}/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${input.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  }), 'create workspace', 201);
  const apiKey = String(workspace.apiKey);
  const workspaceId = String((workspace.workspace as { id?: unknown } | undefined)?.id ?? workspace.id);
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  // The mock listens on loopback: provider calls reach it only where the workspace allows private networks.
  await json(await fetch(`${baseUrl}/v1/workspace`, {
    method: 'PATCH', headers: auth, body: JSON.stringify({ httpAllowPrivateNetworks: true }),
  }), 'allow loopback providers', 200);
  await json(await fetch(`${baseUrl}/v1/credentials/openai`, {
    method: 'PUT', headers: auth, body: JSON.stringify({ apiKey: 'sk-bench-0123456789', baseUrl: `${input.mockUrl}/v1` }),
  }), 'set mock credential', 204);
  // Starts go through undici's own Pool rather than fetch: the bench shares two cores with Weft,
  // and fetch's WHATWG streams cost the bench about 0.6 ms of CPU per start (undici 'request'
  // about a fifth of that), which Weft's rows paid for and the baselines, which start nothing
  // over HTTP, did not. One connection per start in flight (START_CONCURRENCY, context.ts).
  const starts = new Pool(baseUrl, { connections: 64 });
  return {
    baseUrl,
    apiKey,
    workspaceId,
    async createFlow(flow) {
      const created = await json(await fetch(`${baseUrl}/v1/flows`, { method: 'POST', headers: auth, body: JSON.stringify(flow) }), `create flow ${flow.name}`, 201);
      return String(created.id);
    },
    async startExecution(flowId, executionInput) {
      const res = await starts.request({ method: 'POST', path: `/v1/flows/${flowId}/executions`, headers: auth, body: JSON.stringify({ input: executionInput }) });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`start execution: ${res.statusCode} ${text.slice(0, 500)}`);
      return String((JSON.parse(text) as { executionId?: unknown }).executionId);
    },
    async cancelExecution(executionId) {
      const res = await fetch(`${baseUrl}/v1/executions/${executionId}/cancel`, { method: 'POST', headers: auth });
      await res.text();
    },
    async hasOpenExecutions(flowId) {
      const page = await json(await fetch(`${baseUrl}/v1/executions?flowId=${flowId}&status=queued,running,waiting&limit=1`, { headers: auth }), 'list open executions', 200);
      return Array.isArray(page.items) && page.items.length > 0;
    },
    close: () => starts.close(),
  };
}

export const READY_TIMEOUT_MS = 90_000;

async function json(res: Response, what: string, expected: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

export async function startWeftStack(input: {
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
  mockUrl: string;
  logLevel: string;
}): Promise<WeftStack> {
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string | undefined> = {
    REDIS_URL: input.redisUrl,
    DATABASE_URL: input.databaseUrl,
    WEFT_REDIS_PREFIX: input.prefix,
    WEFT_MASTER_KEY: randomBytes(32).toString('base64'),
    WEFT_ADMIN_TOKEN: adminToken,
    ...BENCH_WEFT_ENV,
    LOG_LEVEL: input.logLevel,
    HOST: '127.0.0.1',
    SHUTDOWN_GRACE_MS: '2000',
  };
  const apiPort = await freePort();
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  const api = startBenchProcess({ kind: 'api', name: 'api', env: { ...env, PORT: String(apiPort) } });
  let workers: BenchProcess[] = [];
  let client: WeftClient | null = null;
  const stop = async (): Promise<void> => {
    await client?.close();
    await Promise.all([...workers, api].map((p) => p.stop()));
  };
  try {
    // The api migrates the database before it is ready; workers start after that.
    await waitForHttp(`${baseUrl}/health/ready`, api, READY_TIMEOUT_MS);
    client = await benchWorkspace({ baseUrl, adminToken, mockUrl: input.mockUrl });
    let generation = 0;
    const stack: WeftStack = {
      ...client,
      get workers() { return workers; },
      async setWorkers(settings) {
        await Promise.all(workers.map((w) => w.stop()));
        workers = [];
        generation += 1;
        const started = await Promise.all(Array.from({ length: settings.count }, async (_v, i) => {
          const port = await freePort();
          const id = `bench-w${generation}-${i + 1}`;
          const proc = startBenchProcess({
            kind: 'worker', name: id, heapProbe: settings.heapProbe,
            env: { ...env, WORKER_PORT: String(port), WORKER_ID: id, WORKER_CONCURRENCY: String(settings.concurrency) },
          });
          workers.push(proc);
          await waitForHttp(`http://127.0.0.1:${port}/health/ready`, proc, READY_TIMEOUT_MS);
          return proc;
        }));
        workers = started;
      },
      stop,
    };
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}
