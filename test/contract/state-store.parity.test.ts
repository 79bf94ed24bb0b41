/**
 * The Lua scripts are a port of engine/apply-commit.ts. Drive the memory store (which runs the
 * TypeScript) and the Redis store through the same random executions — random DAGs, random taken
 * edges, redeliveries, failures, late commits — and require identical answers and state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResult } from '../../shared/src/model/index.js';
import type { HotGraphNode } from '../../shared/src/ports/state-store.js';
import { rng } from '../helpers/random.js';
import { hotNodes, startParitySides, type ParitySides } from '../helpers/parity.js';

const AT = '2025-01-01T00:00:00.000Z';
const EXECUTIONS = 60;

function randomGraph(random: () => number): HotGraphNode[] {
  const n = 3 + Math.floor(random() * 10);
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  const edges: Array<[string, string]> = [];
  for (let j = 1; j < n; j += 1) {
    for (let i = 0; i < j; i += 1) if (random() < 0.3) edges.push([ids[i]!, ids[j]!]);
  }
  return hotNodes(ids, edges);
}

function result(nodeId: string, status: 'completed' | 'failed'): NodeResult {
  return {
    status, output: status === 'completed' ? { from: nodeId, n: 1.25 } : null,
    error: status === 'failed' ? { code: 'llm_server_error', category: 'transient', message: `boom ${nodeId}` } : null,
    usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: AT, finishedAt: AT, runtimeMs: 3,
  };
}


describe('Lua scripts match apply-commit.ts', () => {
  let sides: ParitySides;
  beforeAll(async () => {
    sides = await startParitySides();
  });
  afterAll(async () => {
    await sides.close();
  });

  it(`agrees on ${EXECUTIONS} random executions`, async () => {
    // The random runs must have exercised each path the scripts have.
    const seen = { skipped: 0, failedExecutions: 0, completedExecutions: 0, redelivered: 0, lateCommits: 0, eager: 0, eagerMore: 0 };
    for (let seed = 1; seed <= EXECUTIONS; seed += 1) {
      const random = rng(seed);
      const nodes = randomGraph(random);
      const children = new Map(nodes.map((n) => [n.id, n.children]));
      const execution = sides.execution(`seed ${seed}`);
      const both = execution.both.bind(execution);

      const init = await both((store, executionId) =>
        store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: { seed }, nodes, at: AT }));
      const queue = [...init.ready];
      const done: string[] = [];
      /** Nodes a commit started by eager dispatch: they commit without a start of their own. */
      const eager = new Set<string>();
      while (queue.length > 0) {
        const nodeId = queue.splice(Math.floor(random() * queue.length), 1)[0]!;
        const fail = random() < 0.08;
        const status = fail || random() < 0.1 ? 'failed' : 'completed';
        const takes = (children.get(nodeId) ?? []).filter(() => random() < 0.7);
        if (!eager.has(nodeId)) {
          await both((store, executionId) =>
            store.startNode({ executionId, nodeId, attempt: 1, workerId: 'w', at: AT, readResultsOf: done.slice(-3) }));
        }
        const candidates = random() < 0.5 ? (children.get(nodeId) ?? []).filter(() => random() < 0.8).map((id) => ({ nodeId: id, readResultsOf: [...done.slice(-2), nodeId] })) : [];
        const max = 1 + Math.floor(random() * 3);
        const outcome = await both((store, executionId) =>
          store.commitNode({
            executionId, nodeId, result: result(nodeId, status), takenChildren: takes, failExecution: fail, soft: false, at: AT,
            ...(candidates.length > 0 ? { eager: { candidates, leaseJobId: `job-${seed % 3}`, workerId: 'w', max } } : {}),
          }));
        done.push(nodeId);
        queue.push(...outcome.ready);
        if (outcome.eager) {
          eager.add(outcome.eager.nodeId);
          queue.push(outcome.eager.nodeId);
          seen.eager += 1;
        }
        for (const more of outcome.eagerMore ?? []) {
          eager.add(more.nodeId);
          queue.push(more.nodeId);
          seen.eagerMore += 1;
        }
        seen.skipped += outcome.skipped.length;
        if (outcome.finished) seen[outcome.executionStatus === 'failed' ? 'failedExecutions' : 'completedExecutions'] += 1;
        if (outcome.committed && !outcome.finished && outcome.executionStatus === 'failed') seen.lateCommits += 1;
        if (random() < 0.2 && done.length > 0) {
          const again = done[Math.floor(random() * done.length)]!;
          // Drawn once: a draw inside `both` would differ between the two sides.
          const lease = random() < 0.5 ? { leaseJobId: `job-${seed % 3}` } : {};
          await both((store, executionId) => store.readyAfter({ executionId, nodeId: again, ...lease }));
          const redelivered = await both((store, executionId) =>
            store.commitNode({ executionId, nodeId: again, result: result(again, 'completed'), takenChildren: [], failExecution: false, soft: false, at: AT }));
          if (!redelivered.committed) seen.redelivered += 1;
        }
      }
      await both((store, executionId) => store.getExecution(executionId));
      await execution.expectSameEvents();
    }
    for (const [path, count] of Object.entries(seen)) expect(count, path).toBeGreaterThan(0);
  });
});
