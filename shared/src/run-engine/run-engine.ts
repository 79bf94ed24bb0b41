/**
 * The engine facade: every command the api and the worker run on an execution, written against
 * ports only. The api calls its commands; the worker registers its job processors with the node
 * executors it provides; embedded mode does both in one process.
 */
import type { ExpressionEvaluator } from '../expressions/index.js';
import type { ExecutionJobData, NodeJobData, ResumeJobData } from '../jobs/index.js';
import type { JobHandler, NodeRunner } from '../ports/index.js';
import {
  createCancelExecution, createReplayNode, createResumeNode, createRetryExecution,
  type CancelExecution, type ReplayNode, type ResumeNode, type RetryExecution,
} from './control.js';
import { createExecutionProcessor } from './execution-job.js';
import { FlowCache } from './flow-cache.js';
import { createNodeProcessor } from './node-job.js';
import { startRecoverySweep, type RecoverySweep } from './recovery.js';
import type { EngineResources } from './resources.js';
import type { RunningJobs } from './running-jobs.js';
import { createExecution, createSingleNodeRun, enqueueExecution, type CreatedExecution, type CreateExecutionInput } from './start.js';
import { createResumeProcessor } from './wait.js';

/** What a worker brings to run node jobs. */
export interface WorkerParts {
  runNode: NodeRunner;
  workerId: string;
  /** Where running jobs register so that a cancel can abort them. */
  running: RunningJobs;
  /** Evaluates JSONata (a map's items), bounded: the worker's ExpressionPool. */
  expressions: ExpressionEvaluator;
  /** The worker's logger (its id bound); default the engine's. */
  logger?: EngineResources['logger'];
}

export interface EngineProcessors {
  executions: JobHandler<ExecutionJobData>;
  nodes: JobHandler<NodeJobData>;
  resume: JobHandler<ResumeJobData>;
}

export interface RunEngine {
  readonly resources: EngineResources;
  /** Writes a flow run's row (idempotent with its key); enqueue it next. */
  createExecution(input: CreateExecutionInput): Promise<CreatedExecution>;
  /** Writes a single-node run's row, its upstream results preset from the newest completed runs. */
  createSingleNodeRun(input: { workspaceId: string; flowId: string; nodeId: string; input: unknown }): Promise<CreatedExecution>;
  /** Publishes execution.queued and enqueues the execution job of a written row. */
  enqueue(created: CreatedExecution): Promise<void>;
  cancel: CancelExecution;
  retry: RetryExecution;
  resume: ResumeNode;
  /** Re-runs the node of a dead letter. */
  replay: ReplayNode;
  /** The job processors of the three work queues, running nodes with the worker's executors. */
  processors(worker: WorkerParts): EngineProcessors;
  /** The periodic sweep: lost enqueues re-enqueued, lost hot state rebuilt. */
  startRecovery(options: { intervalMs: number; minAgeMs: number; logger?: EngineResources['logger'] }): RecoverySweep;
}

export function createRunEngine(input: Omit<EngineResources, 'flows'> & { flows?: FlowCache }): RunEngine {
  const resources: EngineResources = { ...input, flows: input.flows ?? new FlowCache(input.repos.flows) };
  return {
    resources,
    createExecution: (request) => createExecution(resources, request),
    createSingleNodeRun: (request) => createSingleNodeRun(resources, request),
    enqueue: (created) => enqueueExecution(resources, created),
    cancel: createCancelExecution(resources),
    retry: createRetryExecution(resources),
    resume: createResumeNode(resources),
    replay: createReplayNode(resources),
    processors(worker) {
      const { workerId, running, runNode, expressions } = worker;
      const parts = { ...resources, logger: worker.logger ?? resources.logger };
      return {
        executions: createExecutionProcessor(parts),
        nodes: createNodeProcessor({ ...parts, runNode, workerId, running, expressions }),
        resume: createResumeProcessor({ ...parts, workerId }),
      };
    },
    startRecovery(options) {
      return startRecoverySweep({ ...resources, ...(options.logger ? { logger: options.logger } : {}), intervalMs: options.intervalMs, minAgeMs: options.minAgeMs });
    },
  };
}
