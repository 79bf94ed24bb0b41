/**
 * Builds the execution document of api.md. Postgres is the record once the final state is
 * flushed; while an execution is live (or flushed only partly) hot state is overlaid.
 */
import type { ExecutionRow, FlowRecord, NodeRunRow, Repos } from '@weft/db/repos';
import { parseMapItemNodeId } from '@weft/shared/flow';
import { executedTopology, executionFailure, executionOutput, sumCost, sumPricing, sumUsage } from '@weft/shared/engine';
import { isLive, TERMINAL_EXECUTION_STATUSES, type Cost, type ExecutionPriority, type ExecutionStatus, type HotExecution, type NodeError, type NodeLogEntry, type NodeResult, type NodeStatus, type PricingStatus, type Usage } from '@weft/shared/model';
import type { ResumeLinks } from '@weft/shared/crypto';
import type { StateStore, TaskProgress, TaskStatus } from '@weft/shared/ports';
import { eventWaitNode, type ClaimCheck } from '@weft/shared/run-engine';

export interface NodeView {
  nodeId: string;
  status: NodeStatus;
  attempts: number;
  output: unknown;
  error: NodeError | null;
  usage: Usage | null;
  cost: Cost | null;
  /** How `cost` was priced (LLM nodes), null otherwise: `unpriced` means `cost` is null for want of a price. */
  pricing: PricingStatus | null;
  /** The price-table row the cost used: the model, or the row its alias resolved to. */
  pricedAs: string | null;
  provider: string | null;
  model: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  runtimeMs: number | null;
  /** What the node wrote while it ran (a code node's console, size-capped); absent: nothing. */
  logs?: NodeLogEntry[];
  /** A node waiting for an approval or a webhook: its resume link (api.md), for clients who missed node.waiting. */
  resumeUrl?: string;
  resumeUrlExpiresAt?: string;
  /** A task node waiting for an external worker: its task, attempt and last progress (api.md, "External tasks"). */
  task?: TaskView;
}

export interface TaskView {
  taskId: string;
  handler: string;
  status: TaskStatus;
  attempt: number;
  progress: TaskProgress | null;
  leaseExpiresAt: string | null;
}

/** An execution as listed (GET /v1/executions): the document without its nodes. */
export interface ExecutionSummaryView {
  id: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  priority: ExecutionPriority;
  input: unknown;
  output: unknown;
  error: ExecutionRow['error'];
  usage: Usage | null;
  cost: Cost | null;
  /** `unpriced` when some LLM run had no price (`cost` leaves its tokens out), `fallback`, `priced`, or null. */
  pricing: PricingStatus | null;
  /** Tokens of unpriced runs (null when no LLM node ran). */
  unpricedTokens: number | null;
  /** The schedule whose tick started it; absent for other starts. */
  scheduleId?: string;
  /** The inbound webhook whose call started it; absent for other starts. */
  hookId?: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The execution document (GET /v1/executions/{id}): with every node. */
export interface ExecutionView extends ExecutionSummaryView {
  nodes: NodeView[];
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function summaryView(row: ExecutionRow): ExecutionSummaryView {
  return {
    id: row.id,
    flowId: row.flowId,
    flowVersion: row.flowVersion,
    status: row.status,
    priority: row.priority ?? 'normal',
    input: row.input,
    output: row.output ?? null,
    error: row.error,
    usage: row.usage,
    cost: row.cost,
    pricing: row.pricing ?? null,
    unpricedTokens: row.unpricedTokens ?? null,
    ...(row.scheduleId ? { scheduleId: row.scheduleId } : {}),
    ...(row.hookId ? { hookId: row.hookId } : {}),
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}

function logsOf(logs: NodeLogEntry[] | null | undefined): Pick<NodeView, 'logs'> {
  return logs && logs.length > 0 ? { logs } : {};
}

function fromRun(run: NodeRunRow): NodeView {
  return {
    nodeId: run.nodeId, status: run.status, attempts: run.attempts, output: run.output ?? null, error: run.error,
    usage: run.usage, cost: run.cost, pricing: run.pricing ?? null, pricedAs: run.pricedAs ?? null, provider: run.provider, model: run.model,
    startedAt: iso(run.startedAt), finishedAt: iso(run.finishedAt), runtimeMs: run.runtimeMs, ...logsOf(run.logs),
  };
}

function fromResult(nodeId: string, r: NodeResult): NodeView {
  return {
    nodeId, status: r.status, attempts: r.attempts, output: r.output, error: r.error, usage: r.usage, cost: r.cost,
    pricing: r.pricing ?? null, pricedAs: r.pricedAs ?? null, provider: r.provider, model: r.model, startedAt: r.startedAt, finishedAt: r.finishedAt, runtimeMs: r.runtimeMs, ...logsOf(r.logs),
  };
}

function pendingNode(nodeId: string, status: NodeStatus = 'pending', attempts = 0, startedAt: string | null = null): NodeView {
  return { nodeId, status, attempts, output: null, error: null, usage: null, cost: null, pricing: null, pricedAs: null, provider: null, model: null, startedAt, finishedAt: null, runtimeMs: null };
}

/**
 * The nodes an execution document lists, in the flow's order; a map node is followed by its
 * items' nodes that exist (`<map>[<index>].<node>`), by index, then in sub-graph order.
 */
export function viewNodeOrder(flow: Pick<FlowRecord, 'nodes'>, present: Iterable<string>): string[] {
  const items = new Map<string, Array<{ id: string; index: number; position: number }>>();
  for (const id of present) {
    const item = parseMapItemNodeId(id);
    const map = item ? flow.nodes.find((n) => n.id === item.mapId) : undefined;
    if (!item || map?.type !== 'map') continue;
    const position = map.graph.nodes.findIndex((n) => n.id === item.nodeId);
    if (position === -1) continue;
    const list = items.get(item.mapId) ?? [];
    list.push({ id, index: item.index, position });
    items.set(item.mapId, list);
  }
  const order: string[] = [];
  for (const node of flow.nodes) {
    order.push(node.id);
    const list = items.get(node.id) ?? [];
    list.sort((a, b) => a.index - b.index || a.position - b.position);
    order.push(...list.map((entry) => entry.id));
  }
  return order;
}

/**
 * The hot state a view reads: a live row's (hot state is ahead of Postgres), and an ended row's
 * when hot state is live again. A retry re-opens hot state, then the row; a flush of the end it
 * retried that read hot state before the retry writes that end to the row after the retry's
 * re-open, and the flusher puts the row back to running only once its write is done. Until then
 * the row says failed while the execution runs again: hot state is the truth.
 */
async function liveHotState(state: StateStore, row: ExecutionRow): Promise<HotExecution | null> {
  if (!TERMINAL_EXECUTION_STATUSES.has(row.status)) return state.getExecution(row.id);
  // An ended row is whole without Redis: while Redis is unreachable, it is the answer.
  const hot = await state.getExecution(row.id).catch(() => null);
  return hot && isLive(hot.status) ? hot : null;
}

export async function loadExecutionView(input: {
  repos: Pick<Repos, 'executions' | 'nodeRuns' | 'flows'> & Partial<Pick<Repos, 'tasks'>>;
  state: StateStore;
  workspaceId: string;
  executionId: string;
  /** Given: waiting event waits show their resume link. */
  resumeLinks?: ResumeLinks;
}): Promise<ExecutionView | null> {
  const row = await input.repos.executions.get({ workspaceId: input.workspaceId, executionId: input.executionId });
  if (!row) return null;
  const flow = await input.repos.flows.getVersion(row.flowId, row.flowVersion);
  // A single-node run shows that node alone; its upstream results were inputs, not runs.
  const orderOf = (present: Iterable<string>): string[] =>
    row.singleNodeId === null ? (flow ? viewNodeOrder(flow, present) : []) : [row.singleNodeId];
  const view: ExecutionView = { ...summaryView(row), nodes: [] };

  const hot = await liveHotState(input.state, row);
  if (!hot) {
    const runs = new Map((await input.repos.nodeRuns.listByExecution(row.id)).map((r) => [r.nodeId, r]));
    view.nodes = orderOf(runs.keys()).map((id) => {
      const run = runs.get(id);
      return run ? fromRun(run) : pendingNode(id);
    });
    return view;
  }

  // Live: hot state is ahead of Postgres.
  const results: Record<string, NodeResult> = {};
  const waitingTasks = flow?.nodes.some((n) => n.type === 'task' && hot.nodes[n.id]?.status === 'waiting') === true;
  const taskRows = waitingTasks && input.repos.tasks ? await input.repos.tasks.listByExecution({ workspaceId: row.workspaceId, executionId: row.id }) : [];
  const taskOf = new Map(taskRows.map((t) => [t.nodeId, t]));
  const nodeOrder = orderOf(Object.keys(hot.nodes));
  view.nodes = nodeOrder.map((id) => {
    const node = hot.nodes[id];
    if (!node) return pendingNode(id);
    if (node.result) {
      results[id] = node.result;
      return fromResult(id, node.result);
    }
    const nodeView = pendingNode(id, node.status, node.attempts, node.startedAt);
    const wait = node.status === 'waiting' && node.startedAt && input.resumeLinks ? eventWaitNode(flow, id) : null;
    if (wait && node.startedAt && input.resumeLinks) {
      // The same link node.waiting carried: it is derived from the spell, not stored.
      const links = input.resumeLinks;
      const link = links.link({
        workspaceId: row.workspaceId, executionId: row.id, nodeId: id, waitingSince: node.startedAt,
        expiresAtMs: links.expiryOf({ waitingSince: node.startedAt, timeoutMs: wait.timeoutMs }),
      });
      nodeView.resumeUrl = link.url;
      nodeView.resumeUrlExpiresAt = link.expiresAt;
    }
    const task = node.status === 'waiting' ? taskOf.get(id) : undefined;
    if (task) {
      nodeView.task = {
        taskId: task.id, handler: task.handler, status: task.status, attempt: task.attempt, progress: task.progress,
        leaseExpiresAt: task.leaseExpiresAt?.toISOString() ?? null,
      };
    }
    return nodeView;
  });
  const all = Object.values(results);
  // The row's end, if any, is a stale one (see liveHotState): hot state says how it ends.
  view.output = null;
  view.error = null;
  view.status = hot.status;
  view.startedAt = hot.startedAt ?? view.startedAt;
  view.finishedAt = hot.finishedAt;
  view.usage = sumUsage(all);
  view.cost = sumCost(all);
  Object.assign(view, sumPricing(all));
  if (hot.status === 'completed' && flow) view.output = executionOutput(executedTopology(flow, new Set(nodeOrder)), results);
  if (hot.status === 'failed') {
    if (hot.error) view.error = hot.error;
    else if (flow) view.error = executionFailure(flow, results) ?? view.error;
  }
  return view;
}

/**
 * The view with the values stored apart (claim check) in place of their `{ref, size}`
 * placeholders, in node outputs and in the execution's output (`?include=outputs`).
 * A reference whose value is gone (its execution deleted) stays a placeholder.
 */
export async function inlineOutputs(view: ExecutionView, input: { claimCheck: Pick<ClaimCheck, 'resolve'>; workspaceId: string }): Promise<ExecutionView> {
  const carried = { output: view.output, nodes: view.nodes.map((n) => n.output) };
  const resolved = await input.claimCheck.resolve(input.workspaceId, carried, { keepMissing: true }) as typeof carried;
  if (resolved === carried) return view;
  return {
    ...view,
    output: resolved.output,
    nodes: view.nodes.map((n, i) => ({ ...n, output: resolved.nodes[i] })),
  };
}
