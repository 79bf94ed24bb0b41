/** Queue job payloads and deterministic job ids (BullMQ refuses `:` in custom ids). */
import { newId } from '../ids/index.js';
import type { ExecutionPriority, NodeError, NodeLogEntry } from '../model/index.js';
import type { NodeType } from '../flow/types.js';
import type { ExecutionRow } from '../ports/database.js';
import { QUEUES, nodeQueueFor, type EnqueueRequest, type JobSchedulerSpec } from '../ports/job-queue.js';

export interface ExecutionJobData {
  executionId: string;
  workspaceId: string;
  /**
   * What the execution's hot state is made of, as its row holds it, when the api sends it along
   * (a flow run whose input is at most EXECUTION_JOB_INPUT_MAX_BYTES): the job then claims the
   * row beside its init instead of before it. Absent (a larger input, a single-node run, the
   * recovery sweep): the row is read first.
   */
  start?: ExecutionJobStart;
}

export type ExecutionJobStart = Pick<ExecutionRow, 'flowId' | 'flowVersion' | 'input' | 'maxCostUsd' | 'priority'>;

/** The largest input (JSON) an execution job carries; a larger one is read from the row. */
export const EXECUTION_JOB_INPUT_MAX_BYTES = 16 * 1024;

/** What an execution job carries of a freshly written row (ExecutionJobData.start), when it may. */
export function executionJobStart(row: ExecutionRow): ExecutionJobStart | undefined {
  if (row.singleNodeId !== null) return undefined;
  const input = row.input ?? null;
  if (Buffer.byteLength(JSON.stringify(input)) > EXECUTION_JOB_INPUT_MAX_BYTES) return undefined;
  return { flowId: row.flowId, flowVersion: row.flowVersion, input, maxCostUsd: row.maxCostUsd, priority: row.priority };
}

export interface NodeJobData {
  executionId: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  nodeId: string;
  /** The execution's budget: no LLM node starts once the running total passes it. */
  maxCostUsd?: number;
  /** The execution's priority (absent: normal): the node job's place in its queue. */
  priority?: ExecutionPriority;
  /** A map item's node: the map's round it was enqueued in (a retry's reset makes older jobs stale). */
  mapRound?: number;
  /**
   * A wait node whose hot state was rebuilt (recovery): the ISO start of the spell it was in,
   * from its node.waiting event, so that its deadline and resume token carry over.
   */
  waitingSince?: string;
  /**
   * Attempts spent before this job existed: a child run by eager dispatch whose attempt failed is
   * handed to the queue with the attempts it has left (its job's attempt n is the node's n + this).
   */
  priorAttempts?: number;
}

/**
 * Resumes a waiting node (its timer elapsed, its event came with data, or its wait timed out),
 * or ends what ran out of time.
 */
export interface ResumeJobData extends NodeJobData {
  /**
   * timer, event, timeout: of the wait node `nodeId`; map-timeout: of the map node `nodeId` in
   * round `mapRound`; execution-timeout: of the whole execution.
   */
  kind: 'timer' | 'event' | 'timeout' | 'map-timeout' | 'execution-timeout' | 'task';
  data?: unknown;
  /** `task`: what the external worker reported for the task node `nodeId` (POST /v1/tasks/:id/complete or /fail). */
  task?: TaskReport;
}

/** An external worker's end of a task: its output (and logs) or its failure, and the attempt it was. */
export interface TaskReport {
  status: 'completed' | 'failed';
  output: unknown;
  error: NodeError | null;
  attempt: number;
  logs?: NodeLogEntry[];
  workerId: string;
}

/**
 * The resume job that commits a task's report: one per attempt of one spell (a retry of the
 * execution runs the node again, attempt 1 again, while the queue still retains the earlier ids).
 */
export function taskReportJobId(input: { executionId: string; nodeId: string; attempt: number; waitingSince: string }): string {
  const spell = Date.parse(input.waitingSince);
  return `${resumeJobId(input.executionId, input.nodeId, 'task')}.a${input.attempt}.${(Number.isFinite(spell) ? spell : 0).toString(36)}`;
}

/** A map's timer, per round: a retry runs the map again with a timer of its own. */
export function mapTimeoutJobId(executionId: string, mapId: string, round: number): string {
  return `${resumeJobId(executionId, mapId, 'map-timeout')}.r${round}`;
}

export function executionTimeoutJobId(executionId: string): string {
  return `${executionId}.execution-timeout`;
}

export function resumeJobId(executionId: string, nodeId: string, kind: ResumeJobData['kind']): string {
  return `${executionId}.${nodeId}.${kind}`;
}

/**
 * A wait's timer, timeout or event job: one id per waiting spell (`waitingSince`, the node's
 * start), since a retry or replay runs the same wait again while the queue still retains the
 * earlier spell's ids (and would drop the new jobs).
 */
export function waitJobId(input: { executionId: string; nodeId: string; kind: 'timer' | 'timeout' | 'event'; waitingSince: string }): string {
  const spell = Date.parse(input.waitingSince);
  return `${resumeJobId(input.executionId, input.nodeId, input.kind)}.${(Number.isFinite(spell) ? spell : 0).toString(36)}`;
}

export interface DeadLetterJobData {
  executionId: string;
  workspaceId: string;
  nodeId: string;
  error: { code: string; category: string; message: string };
  attempts: number;
  failedAt: string;
}

export function executionJobId(executionId: string): string {
  return executionId;
}

export function nodeJobId(executionId: string, nodeId: string, iteration?: number): string {
  return iteration === undefined ? `${executionId}.${nodeId}` : `${executionId}.${nodeId}.${iteration}`;
}

/** Attempts of an execution job: the row may not be visible yet, so it is retried, never failed. */
export const EXECUTION_JOB_ATTEMPTS = 20;

export function executionJob(data: ExecutionJobData): EnqueueRequest<ExecutionJobData> {
  return {
    queue: QUEUES.executions,
    name: 'execution',
    data,
    jobId: executionJobId(data.executionId),
    attempts: EXECUTION_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delayMs: 50 },
  };
}

/** A node job's id; a map item run again by a retry gets fresh ids (the queue keeps the earlier round's). */
export function nodeJobIdOf(data: Pick<NodeJobData, 'executionId' | 'nodeId' | 'mapRound'>): string {
  const round = data.mapRound ?? 0;
  return round > 0 ? `${nodeJobId(data.executionId, data.nodeId)}.r${round}` : nodeJobId(data.executionId, data.nodeId);
}

/**
 * What every node job of an execution carries from its row: its budget and its priority. The
 * priority is always written (normal too), so a job that carries none (a resume sent by the api or
 * an external worker) is known to lack it, and the resume reads it from the row only then.
 */
export function jobExtras(row: Pick<ExecutionRow, 'maxCostUsd' | 'priority'>): Pick<NodeJobData, 'maxCostUsd' | 'priority'> {
  return {
    ...(row.maxCostUsd === null ? {} : { maxCostUsd: row.maxCostUsd }),
    priority: row.priority ?? 'normal',
  };
}

/**
 * BullMQ priorities of node jobs: every node job carries one (a job without one would go before
 * them all), high first, FIFO within each.
 */
export const NODE_JOB_PRIORITY: Readonly<Record<ExecutionPriority, number>> = { high: 1, normal: 2, low: 3 };

/** A node's job, in the queue of its type (the pools of issue 11), ordered by its execution's priority. */
export function nodeJob(data: NodeJobData, options: { type: NodeType; attempts: number; backoff?: EnqueueRequest['backoff'] }): EnqueueRequest<NodeJobData> {
  return {
    queue: nodeQueueFor(options.type),
    name: 'node',
    data,
    jobId: nodeJobIdOf(data),
    priority: NODE_JOB_PRIORITY[data.priority ?? 'normal'],
    attempts: options.attempts,
    ...(options.backoff ? { backoff: options.backoff } : {}),
  };
}

/** The background deletion of a workspace marked `deleting` (DELETE /v1/workspaces/:id). */
export interface WorkspaceDeletionJobData {
  workspaceId: string;
}

/**
 * The job that deletes a workspace. Its id is fresh each time (an earlier job of the same
 * workspace may be retained as failed) and never names the workspace: BullMQ's event stream keeps
 * job ids after the job is gone. Nothing else of it is kept once it completed.
 */
export function workspaceDeletionJob(workspaceId: string): EnqueueRequest<WorkspaceDeletionJobData> {
  return {
    queue: QUEUES.maintenance,
    name: 'delete-workspace',
    data: { workspaceId },
    jobId: `workspace-delete.${newId()}`,
    attempts: 10,
    backoff: { type: 'exponential', delayMs: 1000 },
    removeOnComplete: true,
  };
}

/** The job of a schedule's tick: the tick time is in its id (`schedulerTickOf`). */
export interface ScheduleTickJobData {
  scheduleId: string;
  workspaceId: string;
}

/**
 * The job scheduler of a schedule: one tick job per tick time, fleet-wide. A tick that cannot
 * reach Postgres or Redis is re-delayed without spending an attempt; other failures are retried.
 */
export function scheduleScheduler(schedule: { id: string; workspaceId: string; cron: string; timezone: string }): JobSchedulerSpec<ScheduleTickJobData> {
  return {
    queue: QUEUES.schedules,
    schedulerId: schedule.id,
    pattern: schedule.cron,
    timezone: schedule.timezone,
    name: 'schedule-tick',
    data: { scheduleId: schedule.id, workspaceId: schedule.workspaceId },
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 500 },
  };
}

/** The idempotency key of the execution a tick starts: one per (schedule, tick time). */
export function scheduleTickIdempotencyKey(scheduleId: string, tickAt: Date): string {
  return `schedule:${scheduleId}:${tickAt.toISOString()}`;
}
