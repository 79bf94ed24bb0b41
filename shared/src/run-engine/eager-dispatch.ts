/**
 * Eager dispatch: after a commit, the committing worker runs one child that the commit made ready
 * at once, in the same job, instead of sending it through the queue (as Temporal runs activities
 * eagerly). The commit script starts the child in the same step, so the hop costs no queue round
 * trip; the other ready children are enqueued as before.
 *
 * Durability: the child is leased in hot state to the job it runs under (the `leases` hash). That
 * job stays active, its lock renewed by the queue, until everything it ran eagerly has committed.
 * If the worker dies, the queue redelivers the job; its node is terminal by then, so it asks
 * `readyAfter` with its own id and re-enqueues every leased node still open and whatever the
 * leased nodes that ended made ready. Nothing is lost, and the commit script stays the only writer
 * of a result (no double commit).
 *
 * A commit that makes several children ready (a fan-out) starts as many of them as the worker has
 * free job slots for: the first continues in the committing job's slot, each other runs beside it
 * in a slot of its own (and a slot of its workspace's active-node cap, node-slots.ts), all leased
 * to the same job, which ends when they all have. The rest are enqueued.
 *
 * This file is the one place that decides which children may run eagerly: never engine types,
 * and only the node types of the worker's pool (WEFT_WORKER_NODE_TYPES): a child of another type
 * goes through its type's queue to a worker of its own pool.
 */
import type { FlowNode, NodeType } from '../flow/index.js';
import type { EagerCandidate, JobSlots } from '../ports/index.js';
import { resolveNode, type CompiledFlow, type ResolvedNode } from './flow-cache.js';

/** Whether a worker runs ready children eagerly; off sends every child through the queue. */
export interface EagerDispatchPolicy {
  enabled: boolean;
  /** The worker pool's node types; absent: every type. */
  nodeTypes?: ReadonlySet<NodeType>;
  /**
   * The worker's budget of running node jobs (WORKER_CONCURRENCY, shared with its queue
   * consumers). With it, a commit that makes several children ready starts as many as the budget
   * has free slots for (plus one, which runs in the committing job's own slot), each run at once,
   * side by side, in the same job; without it, one.
   */
  slots?: Pick<JobSlots, 'tryAcquire' | 'release'>;
}

/** Takes up to `wanted` free slots of the budget for children run side by side; answers how many. */
export function takeEagerSlots(policy: EagerDispatchPolicy, wanted: number): number {
  let taken = 0;
  while (policy.slots && taken < wanted && policy.slots.tryAcquire()) taken += 1;
  return taken;
}

/** Gives back `count` slots taken by takeEagerSlots. */
export function releaseEagerSlots(policy: EagerDispatchPolicy, count: number): void {
  for (let i = 0; i < count; i += 1) policy.slots?.release();
}

/**
 * Types the engine runs itself (map expansion, wait and task suspension) go through the queue: they hold
 * no executor call worth saving a hop for, and their own jobs carry their timers and rounds.
 */
function runsEagerly(node: FlowNode): boolean {
  return node.type !== 'map' && node.type !== 'wait' && node.type !== 'task';
}

/** Whether this worker may run `node` at once (a child of a commit, or a root of a starting execution). */
export function runsEagerlyHere(policy: EagerDispatchPolicy, node: FlowNode): boolean {
  return policy.enabled && runsEagerly(node) && (policy.nodeTypes === undefined || policy.nodeTypes.has(node.type));
}

/**
 * The children the commit of `resolved` may start for its worker, in order of preference: its
 * own children (a map item's node: those of its item), then, for a map item's node, the map's
 * children, which its commit makes ready when it ends the map (the join of a fan-in).
 */
export function eagerCandidates(policy: EagerDispatchPolicy, flow: CompiledFlow, resolved: ResolvedNode): EagerCandidate[] {
  if (!policy.enabled) return [];
  const ids = resolved.item ? [...resolved.children, ...(flow.graph.children.get(resolved.item.map.node.id) ?? [])] : resolved.children;
  const candidates: EagerCandidate[] = [];
  for (const id of ids) {
    const child = resolveNode(flow, id);
    if (!child || !runsEagerlyHere(policy, child.node)) continue;
    candidates.push({
      nodeId: id,
      readResultsOf: child.reads,
      ...(child.item ? { mapItem: { mapId: child.item.map.node.id, index: child.item.index } } : {}),
    });
  }
  return candidates;
}
