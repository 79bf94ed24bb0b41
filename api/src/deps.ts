import type { ControlBus } from '@weft/shared/ports';
import type { CoreDeps } from '@weft/worker/runtime';

/** A dependency `/health/ready` probes; `check` throws when the dependency is unreachable. */
export interface ReadinessCheck {
  /** Key in the readiness answer, e.g. `redis`. */
  name: string;
  check: () => Promise<void>;
}

/**
 * Re-runs one node of an execution from its dead letter. It throws a WeftError when the node
 * cannot be replayed (e.g. CONFLICT when the execution moved on); the dead letter is then kept.
 */
export type ReplayNode = (input: { workspaceId: string; executionId: string; nodeId: string }) => Promise<void>;

/** Everything the api needs, built once by main.ts and passed to buildApp(). */
export interface ApiDeps extends CoreDeps {
  /**
   * Extra dependencies probed by `/health/ready` besides the database (which is always
   * probed as `postgres`), e.g. `{name: 'redis', check: () => redis.ping()}`.
   */
  readiness?: readonly ReadinessCheck[];
  /** Engine hook behind `POST /v1/dead-letters/:id/replay`; absent, the route answers 501. */
  replayNode?: ReplayNode;
  /** Engine hook behind `POST /v1/executions/:id/retry`; absent, the route answers 501. */
  retryExecution?: (input: { workspaceId: string; executionId: string }) => Promise<{ retried: string[] }>;
  /** Tells every worker to abort the running nodes of a cancelled execution. */
  control?: ControlBus;
}
