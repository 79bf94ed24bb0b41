/**
 * The task protocol's commands (`/v1/tasks/*`), run by the api for external workers. Postgres
 * holds the queue and the lease (`lease_id` is the fence: a call with a lease that is not the
 * task's current one is refused); hot state says whether the node still waits for its task (a
 * cancelled execution or a timed-out node does not). A report reaches the graph as a resume job,
 * committed by the engine like a wait's resume.
 */
import { retryDecision } from '../engine/index.js';
import { WeftError } from '../errors/index.js';
import { taskReportJobId, waitJobId, type ResumeJobData, type TaskReport } from '../jobs/index.js';
import { isLive, type NodeLogEntry } from '../model/index.js';
import { QUEUES, type TaskLease, type TaskProgress, type TaskRow } from '../ports/index.js';
import type { EngineResources } from './resources.js';

export interface ClaimedTask {
  taskId: string;
  leaseId: string;
  executionId: string;
  nodeId: string;
  handler: string;
  queue: string | null;
  attempt: number;
  maxAttempts: number;
  input: unknown;
  /** The secrets the node names, by name; a name the workspace lacks is absent. */
  secrets: Record<string, string>;
  /** The last checkpoint any attempt saved; null when none. */
  checkpoint: unknown;
  leaseExpiresAt: string;
  heartbeatTimeoutMs: number;
}

export type HeartbeatAnswer = { status: 'active'; leaseExpiresAt: string } | { status: 'released' } | { status: 'cancelled' };

export interface TaskProtocol {
  /**
   * Long-polls up to `waitMs` for a task of the workspace among `handlers`; null when none came.
   * It looks again when a task of those handlers is notified (TaskWakeups), and every
   * `pollIntervalMs` (default CLAIM_POLL_INTERVAL_MS) as the safety net for a lost notification.
   */
  claim(input: {
    workspaceId: string; workerTokenId: string; handlers: readonly string[]; queues?: readonly string[] | undefined; waitMs: number; signal: AbortSignal;
    pollIntervalMs?: number | undefined;
  }): Promise<ClaimedTask | null>;
  heartbeat(input: TaskLease & { progress?: Omit<TaskProgress, 'at'> | undefined; release?: boolean | undefined }): Promise<HeartbeatAnswer>;
  checkpoint(input: TaskLease & { checkpoint: unknown }): Promise<{ leaseExpiresAt: string }>;
  complete(input: TaskLease & { output: unknown; logs?: NodeLogEntry[] | undefined; workerTokenId: string }): Promise<void>;
  fail(input: TaskLease & { code: string; message: string; retryable: boolean; workerTokenId: string }): Promise<{ status: 'failed' } | { status: 'retrying'; nextAttemptAt: string }>;
  wait(input: TaskLease & { until?: string | undefined }): Promise<{ resumeUrl: string; resumeUrlExpiresAt: string }>;
  /**
   * One pass of the lease sweep: each claimed task whose lease lapsed goes through its node's
   * retry policy, queued again after its backoff (the next claim is the next attempt, with the
   * last checkpoint) or, its attempts spent, failed `task_lease_expired`. Answers how many.
   */
  sweepLapsed(input?: { limit?: number }): Promise<number>;
}

/** How often a long poll looks for a task again without a notification (WEFT_TASK_CLAIM_POLL_MS). */
export const CLAIM_POLL_INTERVAL_MS = 5000;

type Deps = Pick<EngineResources, 'repos' | 'state' | 'queue' | 'events' | 'resumeLinks' | 'logger' | 'metrics' | 'clock' | 'taskWakeups'>;

export function createTaskProtocol(deps: Deps): TaskProtocol {
  const { tasks } = deps.repos;
  const log = deps.logger.child({ component: 'tasks' });

  /** The node's spell start when it still waits for its task, else null. */
  const waitingSince = async (row: Pick<TaskRow, 'executionId' | 'nodeId'>): Promise<string | null> => {
    const hot = await deps.state.getExecution(row.executionId);
    const node = hot?.nodes[row.nodeId];
    return hot && isLive(hot.status) && node?.status === 'waiting' ? (node.startedAt ?? null) : null;
  };

  /** Why a fenced write matched nothing: no such task (404), it ended (cancelled), or the lease is another's. */
  const refuse = async (lease: TaskLease): Promise<never> => {
    const row = await tasks.get(lease);
    if (!row) throw new WeftError('NOT_FOUND', `task ${lease.taskId} not found`);
    deps.metrics.tasksTotal.inc({ event: 'refused' });
    if (row.status === 'cancelled') throw new WeftError('TASK_CANCELLED', `task ${lease.taskId} was cancelled`);
    log.info({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, status: row.status, attempt: row.attempt }, 'task call refused: not the current lease');
    throw new WeftError('TASK_LEASE_LOST', `this lease of task ${lease.taskId} is no longer the task's: it lapsed and attempt ${row.attempt} took over, or the task ended`);
  };

  /** Ends a task whose node no longer waits for it (its execution was cancelled or ended, or it timed out). */
  const cancelled = async (row: TaskRow): Promise<void> => {
    await tasks.settle({ executionId: row.executionId, nodeId: row.nodeId, status: 'cancelled' });
    deps.metrics.tasksTotal.inc({ event: 'cancelled' });
    log.info({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId }, 'task cancelled: its node no longer waits for it');
  };

  /**
   * Wakes the claims waiting for the row's handler, now or once its backoff is over. A wake-up
   * lost to a crash or a Redis hiccup costs a claim its safety-net poll, nothing more.
   */
  const wake = (row: Pick<TaskRow, 'workspaceId' | 'handler'>, delayMs = 0): void => {
    const send = (): void => {
      deps.taskWakeups.notify({ workspaceId: row.workspaceId, handler: row.handler })
        .catch((err: unknown) => { log.warn({ err, workspaceId: row.workspaceId }, 'task wake-up not published: waiting claims find the task on their poll'); });
    };
    if (delayMs <= 0) send();
    else setTimeout(send, delayMs).unref();
  };

  const report = async (row: TaskRow, task: TaskReport): Promise<void> => {
    const data: ResumeJobData = {
      executionId: row.executionId, workspaceId: row.workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, nodeId: row.nodeId, kind: 'task', task,
    };
    await deps.queue.add({ queue: QUEUES.resume, name: 'resume', data, jobId: taskReportJobId({ ...row, waitingSince: row.nodeStartedAt }), attempts: 5 });
  };

  const claimOnce = async (input: Parameters<TaskProtocol['claim']>[0]): Promise<ClaimedTask | null | 'again'> => {
    const leaseId = crypto.randomUUID();
    const row = await tasks.claim({ ...input, leaseId });
    if (!row) return null;
    const context = { taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, attempt: row.attempt, workerTokenId: input.workerTokenId };
    if ((await waitingSince(row)) === null) {
      await cancelled(row);
      return 'again';
    }
    // Values are read now, for this delivery only; the claim recorded the names (the audit).
    const secrets = row.secretNames.length > 0 ? await deps.repos.secrets.resolveMany(row.workspaceId, row.secretNames) : {};
    deps.metrics.tasksTotal.inc({ event: 'claimed' });
    log.info({ ...context, secretNames: row.secretNames }, row.attempt > 1 ? 'task claimed again (an earlier attempt lapsed, was retried or released)' : 'task claimed');
    return {
      taskId: row.id, leaseId, executionId: row.executionId, nodeId: row.nodeId, handler: row.handler, queue: row.queue,
      attempt: row.attempt, maxAttempts: row.maxAttempts, input: row.input, secrets, checkpoint: row.checkpoint,
      leaseExpiresAt: (row.leaseExpiresAt ?? deps.clock()).toISOString(), heartbeatTimeoutMs: row.heartbeatTimeoutMs,
    };
  };

  /** Claims until a task or none: a task whose node no longer waits is cancelled and the next one tried. */
  const claimNow = async (input: Parameters<TaskProtocol['claim']>[0]): Promise<ClaimedTask | null> => {
    for (;;) {
      const claimed = await claimOnce(input);
      if (claimed !== 'again') return claimed;
    }
  };

  /** Listens for the handlers' wake-ups; without them (Redis unreachable) the claim still polls. */
  const listen = async (input: Parameters<TaskProtocol['claim']>[0], alarm: Alarm): Promise<() => Promise<void>> => {
    try {
      return await deps.taskWakeups.listen({ workspaceId: input.workspaceId, handlers: input.handlers }, () => { alarm.ring(); });
    } catch (err) {
      log.warn({ err, workspaceId: input.workspaceId }, 'task wake-ups unavailable: this claim polls');
      return () => Promise.resolve();
    }
  };

  const expire = async (row: TaskRow): Promise<boolean> => {
    if (row.leaseId === null) return false;
    const lease = { workspaceId: row.workspaceId, taskId: row.id, leaseId: row.leaseId, lapsed: true };
    const context = { taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, attempt: row.attempt, heartbeatTimeoutMs: row.heartbeatTimeoutMs };
    if ((await waitingSince(row)) === null) {
      await cancelled(row);
      return true;
    }
    const message = `no heartbeat from the worker of attempt ${row.attempt} within heartbeatTimeoutMs (${row.heartbeatTimeoutMs} ms)`;
    const decision = retryDecision({ error: { category: 'transient' }, attempt: row.attempt, maxAttempts: row.maxAttempts, backoff: row.backoff ?? undefined });
    if (decision.kind === 'retry') {
      // Fenced on the lapsed lease: a heartbeat that came in meanwhile, or another worker's sweep, wins.
      const requeued = await tasks.requeue({ ...lease, delayMs: decision.delayMs });
      if (!requeued) return false;
      deps.metrics.tasksTotal.inc({ event: 'lease_lapsed' });
      log.warn({ ...context, delayMs: decision.delayMs }, 'task lease lapsed: queued again for the next attempt');
      const at = deps.clock();
      await deps.events.publish({
        type: 'node.retrying', executionId: row.executionId, flowId: row.flowId, workspaceId: row.workspaceId, nodeId: row.nodeId, at: at.toISOString(),
        data: { attempt: row.attempt, nextAttempt: row.attempt + 1, error: { code: 'task_lease_expired', category: 'transient', message } },
      });
      wake(row, decision.delayMs);
      return true;
    }
    const failed = await tasks.finish({ ...lease, status: 'failed' });
    if (!failed) return false;
    deps.metrics.tasksTotal.inc({ event: 'lease_lapsed' });
    await report(failed, {
      status: 'failed', output: null, attempt: failed.attempt, workerId: `task-worker:${failed.workerTokenId ?? 'unknown'}`,
      error: { code: 'task_lease_expired', category: 'transient', message: `${message}; its ${failed.maxAttempts} attempts are spent` },
    });
    log.warn(context, 'task lease lapsed on its last attempt: the node fails');
    return true;
  };

  return {
    async claim(input) {
      if (input.waitMs <= 0) return claimNow(input);
      const deadline = Date.now() + input.waitMs;
      const pollMs = input.pollIntervalMs ?? CLAIM_POLL_INTERVAL_MS;
      // Listening first: a task queued at any moment after this is either found or rings.
      const alarm = new Alarm();
      const stop = await listen(input, alarm);
      let waiting = false;
      try {
        for (;;) {
          const claimed = await claimNow(input);
          if (claimed) return claimed;
          const left = deadline - Date.now();
          if (left <= 0 || input.signal.aborted) return null;
          if (!waiting) {
            // Counted once it found nothing: from here on, only a wake-up or the poll hands it a task.
            waiting = true;
            deps.metrics.taskClaimsWaiting.inc();
          }
          const woke = await alarm.wait(Math.min(pollMs, left), input.signal);
          if (woke === 'notify' || (woke === 'timer' && left > pollMs)) deps.metrics.taskClaimWakesTotal.inc({ reason: woke === 'notify' ? 'notify' : 'poll' });
        }
      } finally {
        if (waiting) deps.metrics.taskClaimsWaiting.dec();
        await stop();
      }
    },

    async heartbeat(input) {
      const progress = input.progress ? { ...input.progress, at: deps.clock().toISOString() } : undefined;
      const row = await tasks.heartbeat({ ...input, progress });
      if (!row) {
        const current = await tasks.get(input);
        if (current?.status === 'cancelled') return { status: 'cancelled' };
        return refuse(input);
      }
      if ((await waitingSince(row)) === null) {
        await cancelled(row);
        return { status: 'cancelled' };
      }
      if (input.release === true) {
        wake(row);
        deps.metrics.tasksTotal.inc({ event: 'released' });
        log.info({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, attempt: row.attempt }, 'task released by its worker: the next claim takes it');
        return { status: 'released' };
      }
      if (progress) {
        await deps.events.publish({
          type: 'node.progress', executionId: row.executionId, flowId: row.flowId, workspaceId: row.workspaceId, nodeId: row.nodeId, at: progress.at,
          data: { taskId: row.id, attempt: row.attempt, ...input.progress },
        });
      }
      return { status: 'active', leaseExpiresAt: (row.leaseExpiresAt ?? deps.clock()).toISOString() };
    },

    async checkpoint(input) {
      const row = await tasks.checkpoint(input);
      if (!row) return refuse(input);
      log.debug({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, attempt: row.attempt }, 'task checkpoint saved');
      return { leaseExpiresAt: (row.leaseExpiresAt ?? deps.clock()).toISOString() };
    },

    async complete(input) {
      const current = await tasks.get(input);
      if (current?.leaseId === input.leaseId && (await waitingSince(current)) === null) {
        await cancelled(current);
        throw new WeftError('TASK_CANCELLED', `task ${input.taskId} was cancelled: its node no longer waits for it`);
      }
      const row = await tasks.finish({ ...input, status: 'completed' });
      if (!row) return refuse(input);
      await report(row, { status: 'completed', output: input.output ?? null, error: null, attempt: row.attempt, workerId: `task-worker:${input.workerTokenId}`, ...(input.logs ? { logs: input.logs } : {}) });
      log.info({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, attempt: row.attempt }, 'task completed by its worker');
    },

    async fail(input) {
      const current = await tasks.get(input);
      if (!current || current.leaseId !== input.leaseId) return refuse(input);
      const context = { taskId: current.id, executionId: current.executionId, nodeId: current.nodeId, attempt: current.attempt, code: input.code };
      const decision = retryDecision({
        error: { category: input.retryable ? 'transient' : 'permanent' }, attempt: current.attempt, maxAttempts: current.maxAttempts, backoff: current.backoff ?? undefined,
      });
      if (decision.kind === 'retry' && (await waitingSince(current)) !== null) {
        const row = await tasks.requeue({ ...input, delayMs: decision.delayMs });
        if (!row) return refuse(input);
        deps.metrics.tasksTotal.inc({ event: 'retried' });
        wake(row, decision.delayMs);
        log.warn({ ...context, delayMs: decision.delayMs }, 'task attempt failed: queued again');
        const at = deps.clock();
        await deps.events.publish({
          type: 'node.retrying', executionId: row.executionId, flowId: row.flowId, workspaceId: row.workspaceId, nodeId: row.nodeId, at: at.toISOString(),
          data: { attempt: row.attempt, nextAttempt: row.attempt + 1, error: { code: 'task_failed_retryable', category: 'transient', message: `[${input.code}] ${input.message}` } },
        });
        return { status: 'retrying', nextAttemptAt: new Date(at.getTime() + decision.delayMs).toISOString() };
      }
      const row = await tasks.finish({ ...input, status: 'failed' });
      if (!row) return refuse(input);
      await report(row, {
        status: 'failed', output: null, attempt: row.attempt, workerId: `task-worker:${input.workerTokenId}`,
        error: { code: 'task_failed', category: 'permanent', message: `[${input.code}] ${input.message}` },
      });
      log.warn({ ...context, retryable: input.retryable }, 'task failed by its worker');
      return { status: 'failed' };
    },

    async wait(input) {
      const current = await tasks.get(input);
      if (!current || current.leaseId !== input.leaseId) return refuse(input);
      const since = await waitingSince(current);
      if (since === null) {
        await cancelled(current);
        throw new WeftError('TASK_CANCELLED', `task ${input.taskId} was cancelled: its node no longer waits for it`);
      }
      const row = await tasks.finish({ ...input, status: 'parked' });
      if (!row) return refuse(input);
      const until = input.until === undefined ? null : Date.parse(input.until);
      const spell = { executionId: row.executionId, nodeId: row.nodeId, waitingSince: since };
      const link = deps.resumeLinks.link({ ...spell, workspaceId: row.workspaceId, expiresAtMs: until ?? deps.resumeLinks.expiryOf({ waitingSince: since, timeoutMs: undefined }) });
      if (until !== null) {
        const data: ResumeJobData = { executionId: row.executionId, workspaceId: row.workspaceId, flowId: row.flowId, flowVersion: row.flowVersion, nodeId: row.nodeId, kind: 'timer' };
        await deps.queue.add({ queue: QUEUES.resume, name: 'resume', data, jobId: waitJobId({ ...spell, kind: 'timer' }), delayMs: Math.max(0, until - Date.now()), attempts: 5 });
      }
      deps.metrics.tasksTotal.inc({ event: 'parked' });
      log.info({ taskId: row.id, executionId: row.executionId, nodeId: row.nodeId, until: input.until, resumeLinkExpiresAt: link.expiresAt }, 'task parked until an outside event');
      return { resumeUrl: link.url, resumeUrlExpiresAt: link.expiresAt };
    },

    async sweepLapsed(input = {}) {
      let expired = 0;
      for (const row of await tasks.lapsed({ limit: input.limit ?? 100 })) {
        try {
          if (await expire(row)) expired++;
        } catch (err) {
          log.warn({ err, taskId: row.id, executionId: row.executionId, nodeId: row.nodeId }, 'a lapsed task lease was not handled: the next sweep tries again');
        }
      }
      return expired;
    },
  };
}

/** What a waiting claim sleeps on: a wake-up (remembered if it rang while the claim was busy), its poll timer, or its client leaving. */
class Alarm {
  private rung = false;
  private wakeUp: (() => void) | null = null;

  ring(): void {
    this.rung = true;
    this.wakeUp?.();
  }

  wait(ms: number, signal: AbortSignal): Promise<'notify' | 'timer' | 'aborted'> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve('notify');
    }
    return new Promise((resolve) => {
      const finish = (why: 'notify' | 'timer' | 'aborted'): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wakeUp = null;
        this.rung = false;
        resolve(why);
      };
      const onAbort = (): void => { finish('aborted'); };
      const timer = setTimeout(() => { finish('timer'); }, ms);
      this.wakeUp = () => { finish('notify'); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
