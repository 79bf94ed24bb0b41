/**
 * A typed TypeScript worker for Weft's task protocol (README, "External tasks"): it long-polls
 * `POST /v1/tasks/claim` for its handlers, runs each task with a heartbeat on a timer, and
 * reports the result. Network failures back off and retry; a lapsed or cancelled lease aborts
 * the handler's signal; `close()` stops claiming, lets running tasks finish for a grace period
 * and releases the rest (the next claim takes them, with their checkpoint).
 * Plain `fetch`, no dependency: it runs wherever Node 18+ does.
 */

export interface TaskContext {
  taskId: string;
  /** The lease this attempt holds (what every call on the task carries). */
  leaseId: string;
  executionId: string;
  nodeId: string;
  handler: string;
  /** 1 for the first claim; a lapsed lease or a retry runs the next. */
  attempt: number;
  /** The secrets the node names, by name. */
  secrets: Readonly<Record<string, string>>;
  /** What an earlier attempt saved with `checkpoint()`; null when none. */
  lastCheckpoint: unknown;
  /** Aborted when the task is cancelled, its lease is lost, or the worker is closed past its grace. */
  signal: AbortSignal;
  /** Reports progress: sent at once with a heartbeat, published as `node.progress`. */
  progress(percent: number, message?: string, eta?: Date): void;
  /** Saves a small JSON state that a later attempt receives as `lastCheckpoint`. */
  checkpoint(state: unknown): Promise<void>;
  /**
   * Parks the task until an outside event: answers a signed resume link to hand to whoever calls
   * back; a POST of it completes the node with its body. The handler's return value is then ignored.
   */
  park(options?: { until?: Date }): Promise<{ resumeUrl: string; resumeUrlExpiresAt: string }>;
}

export type TaskHandler = (input: unknown, ctx: TaskContext) => Promise<unknown>;

/** Thrown by a handler to fail its task with a code; `retryable` sends it through the node's retry policy. */
export class TaskFailure extends Error {
  constructor(readonly code: string, message: string, readonly retryable = false) {
    super(message);
    this.name = 'TaskFailure';
  }
}

export interface TaskWorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TaskWorkerOptions {
  /** The api's base URL, e.g. `https://weft.example.com`. */
  url: string;
  /** A worker token (`POST /v1/worker-tokens`). */
  token: string;
  handlers: Readonly<Record<string, TaskHandler>>;
  /** Tasks run at once; default 1. */
  concurrency?: number;
  /** A claim's long poll; default 20 s (the api caps it at WEFT_TASK_CLAIM_MAX_WAIT_MS). */
  waitMs?: number;
  /** Heartbeat period; default a third of the task's heartbeatTimeoutMs. */
  heartbeatIntervalMs?: number;
  /** Backoff after a failed claim: doubling from `min` to `max` (ms), ±20 % jitter. */
  backoff?: { minMs: number; maxMs: number };
  logger?: TaskWorkerLogger;
  fetch?: typeof fetch;
}

export interface TaskWorker {
  /** Tasks running now. */
  readonly running: number;
  /** Stops claiming; running tasks get `graceMs` (default 10 s) to finish, then are released and their signals aborted. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** A claim's answer (api.md, `POST /v1/tasks/claim`), as far as the worker reads it. */
type ClaimedTask = Pick<TaskContext, 'taskId' | 'leaseId' | 'executionId' | 'nodeId' | 'handler' | 'attempt'> & {
  input: unknown;
  secrets: Record<string, string>;
  checkpoint: unknown;
  heartbeatTimeoutMs: number;
};

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string | undefined, message: string) {
    super(message);
  }
}

const silent: TaskWorkerLogger = { info: () => undefined, warn: () => undefined };

export function createTaskWorker(options: TaskWorkerOptions): TaskWorker {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const log = options.logger ?? silent;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const waitMs = options.waitMs ?? 20_000;
  const backoff = options.backoff ?? { minMs: 250, maxMs: 10_000 };
  const handlerNames = Object.keys(options.handlers);
  if (handlerNames.length === 0) throw new Error('createTaskWorker needs at least one handler');
  const stopping = new AbortController();
  const running = new Map<string, { abort: AbortController; lease: () => Promise<void> }>();

  const call = async (path: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; body: unknown }> => {
    const res = await doFetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    const text = await res.text();
    const parsed: unknown = text === '' ? null : JSON.parse(text);
    if (res.status >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new HttpError(res.status, error?.code, `${path}: ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`);
    }
    return { status: res.status, body: parsed };
  };

  const runTask = async (task: ClaimedTask): Promise<void> => {
    const path = `/v1/tasks/${task.taskId}`;
    const abort = new AbortController();
    const context = { taskId: task.taskId, executionId: task.executionId, nodeId: task.nodeId, attempt: task.attempt };
    let pendingProgress: { percent: number; message?: string; eta?: string } | undefined;
    let parked = false;
    const beat = async (extra: Record<string, unknown> = {}): Promise<void> => {
      if (abort.signal.aborted) return;
      const progress = pendingProgress;
      pendingProgress = undefined;
      try {
        const answer = await call(`${path}/heartbeat`, { leaseId: task.leaseId, ...(progress ? { progress } : {}), ...extra });
        if ((answer.body as { status?: string }).status === 'cancelled') abort.abort(new Error('the task was cancelled'));
      } catch (err) {
        if (err instanceof HttpError && err.status === 409) abort.abort(new Error('the task\'s lease was lost'));
        else log.warn({ ...context, err: String(err) }, 'heartbeat failed: trying again at the next beat');
      }
    };
    const timer = setInterval(() => { void beat(); }, options.heartbeatIntervalMs ?? Math.max(500, Math.floor(task.heartbeatTimeoutMs / 3)));
    running.set(task.taskId, { abort, lease: () => beat({ release: true }) });
    const ctx: TaskContext = {
      ...context,
      leaseId: task.leaseId,
      handler: task.handler,
      secrets: task.secrets,
      lastCheckpoint: task.checkpoint,
      signal: abort.signal,
      progress(percent, message, eta) {
        pendingProgress = { percent, ...(message === undefined ? {} : { message }), ...(eta ? { eta: eta.toISOString() } : {}) };
        void beat();
      },
      async checkpoint(state) {
        await call(`${path}/checkpoint`, { leaseId: task.leaseId, state });
      },
      async park(parkOptions) {
        const answer = await call(`${path}/wait`, { leaseId: task.leaseId, ...(parkOptions?.until ? { until: parkOptions.until.toISOString() } : {}) });
        parked = true;
        return answer.body as { resumeUrl: string; resumeUrlExpiresAt: string };
      },
    };
    try {
      const handler = options.handlers[task.handler];
      if (!handler) throw new TaskFailure('unknown_handler', `this worker has no handler '${task.handler}'`);
      const output = await handler(task.input, ctx);
      if (parked) return;
      if (abort.signal.aborted) {
        log.info({ ...context, reason: String(abort.signal.reason) }, 'task ended without its result: not reported');
        return;
      }
      await call(`${path}/complete`, { leaseId: task.leaseId, output: output ?? null });
      log.info(context, 'task completed');
    } catch (err) {
      if (parked || abort.signal.aborted) return;
      const failure = err instanceof TaskFailure ? err : new TaskFailure('handler_error', err instanceof Error ? err.message : String(err), true);
      await call(`${path}/fail`, { leaseId: task.leaseId, code: failure.code, message: failure.message.slice(0, 10_000), retryable: failure.retryable })
        .catch((reportErr: unknown) => { log.warn({ ...context, err: String(reportErr) }, 'reporting a failure failed: the lease will lapse'); });
      log.warn({ ...context, code: failure.code, retryable: failure.retryable }, 'task failed');
    } finally {
      clearInterval(timer);
      running.delete(task.taskId);
    }
  };

  const slot = async (): Promise<void> => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const answer = await call('/v1/tasks/claim', { handlers: handlerNames, waitMs }, stopping.signal);
        failures = 0;
        if (answer.status === 204 || answer.body === null) continue;
        await runTask(answer.body as ClaimedTask);
      } catch (err) {
        if (stopping.signal.aborted) return;
        failures += 1;
        const delay = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(failures - 1, 16)) * (0.8 + Math.random() * 0.4);
        log.warn({ err: String(err), retryInMs: Math.round(delay), failures }, 'claim failed: backing off');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          stopping.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
        });
      }
    }
  };

  const slots = Array.from({ length: concurrency }, () => slot());

  return {
    get running() {
      return running.size;
    },
    async close(closeOptions = {}) {
      stopping.abort();
      const grace = closeOptions.graceMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout'); }, grace); });
      const finished = await Promise.race([Promise.all(slots).then(() => 'done' as const), graceOver]);
      clearTimeout(timer);
      if (finished === 'timeout') {
        // Past the grace: the lease goes back at once (the next claim takes it, with its checkpoint).
        await Promise.all([...running.values()].map(async (task) => {
          await task.lease();
          task.abort.abort(new Error('the worker is shutting down'));
        }));
      }
    },
  };
}
