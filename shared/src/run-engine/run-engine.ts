/**
 * The engine facade: every command the api and the worker run on an execution, written against
 * ports only. The api calls its commands; the worker registers its job processors with the node
 * executors it provides; embedded mode does both in one process.
 */
import type { ExpressionEvaluator } from '../expressions/index.js';
import type { ExecutionJobData, NodeJobData, ResumeJobData, WorkspaceDeletionJobData } from '../jobs/index.js';
import type { JobHandler, NodeRunner } from '../ports/index.js';
import {
  createCancelExecution, createReplayNode, createResumeNode, createRetryExecution,
  type CancelExecution, type ReplayNode, type ResumeNode, type RetryExecution,
} from './control.js';
import { createDeleteWorkspace, createWorkspaceDeletionProcessor, type DeleteWorkspace } from './delete-workspace.js';
import { createExecutionProcessor } from './execution-job.js';
import { ClaimCheck } from './claim-check.js';
import { CLAIM_CHECK_DEFAULT_BYTES } from '../engine/index.js';
import { createResumeByLink, type ResumeByLink } from './resume-link.js';
import { FlowCache } from './flow-cache.js';
import type { EagerDispatchPolicy } from './eager-dispatch.js';
import { createNodeRunners } from './node-job.js';
import { startRecoverySweep, type RecoverySweep } from './recovery.js';
import type { EngineResources } from './resources.js';
import type { RunningJobs } from './running-jobs.js';
import { createExecution, createSingleNodeRun, enqueueExecution, type CreatedExecution, type CreateExecutionInput } from './start.js';
import { StartBatcher } from './start-batcher.js';
import { createResumeProcessor } from './wait.js';
import { createTaskProtocol, type TaskProtocol } from './task-protocol.js';

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
  /** Eager dispatch, read at each commit: the worker turns it off when it begins to shut down. */
  eagerDispatch?: EagerDispatchPolicy;
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
  /** Resumes the wait a signed resume link names, once (no API key: the link is the credential). */
  resumeByLink: ResumeByLink;
  /** Re-runs the node of a dead letter. */
  replay: ReplayNode;
  /** The task protocol external workers speak (`/v1/tasks/*`). */
  tasks: TaskProtocol;
  /** The job processors of the three work queues, running nodes with the worker's executors. */
  processors(worker: WorkerParts): EngineProcessors;
  /** Deletes what a workspace marked `deleting` owns, then its row (the deletion job's work). */
  deleteWorkspace: DeleteWorkspace;
  /** The processor of `weft-maintenance` jobs (workspace deletions), run by the api. */
  maintenanceProcessor(): JobHandler<WorkspaceDeletionJobData>;
  /** The periodic sweep: lost enqueues re-enqueued, lost hot state rebuilt. */
  startRecovery(options: { intervalMs: number; minAgeMs: number; logger?: EngineResources['logger'] }): RecoverySweep;
}

export function createRunEngine(input: Omit<EngineResources, 'flows' | 'claimCheck'> & {
  flows?: FlowCache;
  /** WEFT_CLAIM_CHECK_BYTES (default 256 KiB). */
  claimCheckBytes?: number;
}): RunEngine {
  const { claimCheckBytes = CLAIM_CHECK_DEFAULT_BYTES, ...rest } = input;
  const resources: EngineResources = {
    ...rest,
    flows: input.flows ?? new FlowCache(input.repos.flows),
    claimCheck: new ClaimCheck({ state: input.state, repos: input.repos, metrics: input.metrics, thresholdBytes: claimCheckBytes }),
  };
  const cancel = createCancelExecution(resources);
  const deleteWorkspace = createDeleteWorkspace({ ...resources, cancel });
  const startDeps = { ...resources, starts: new StartBatcher(resources) };
  return {
    resources,
    createExecution: (request) => createExecution(startDeps, request),
    createSingleNodeRun: (request) => createSingleNodeRun(resources, request),
    enqueue: (created) => enqueueExecution(resources, created),
    cancel,
    deleteWorkspace,
    maintenanceProcessor: () => createWorkspaceDeletionProcessor({ metrics: resources.metrics, deleteWorkspace }),
    retry: createRetryExecution(resources),
    resume: createResumeNode(resources),
    resumeByLink: createResumeByLink(resources),
    replay: createReplayNode(resources),
    tasks: createTaskProtocol(resources),
    processors(worker) {
      const { workerId, running, runNode, expressions, eagerDispatch } = worker;
      const parts = { ...resources, logger: worker.logger ?? resources.logger };
      const nodes = createNodeRunners({ ...parts, runNode, workerId, running, expressions, ...(eagerDispatch ? { eagerDispatch } : {}) });
      return {
        executions: createExecutionProcessor({ ...parts, runRoot: nodes.runRoot }),
        nodes: nodes.nodes,
        resume: createResumeProcessor({ ...parts, workerId }),
      };
    },
    startRecovery(options) {
      return startRecoverySweep({ ...resources, ...(options.logger ? { logger: options.logger } : {}), intervalMs: options.intervalMs, minAgeMs: options.minAgeMs });
    },
  };
}
