/**
 * Map nodes in Lua (start-map.lua, commit-node.lua, includes/map-*.lua) are a port of
 * engine/apply-map.ts. Drive the memory store and the Redis store through the same random
 * executions with a map — random sub-graphs, concurrency, item outcomes, redeliveries, cancels
 * and retries — and require identical answers, state and events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMapItemNodeId } from '../../shared/src/flow/map-node.js';
import type { NodeError, NodeResult } from '../../shared/src/model/index.js';
import type { MapGraphNode } from '../../shared/src/ports/state-store.js';
import { hotNodes, startParitySides, type ParitySides } from '../helpers/parity.js';
import { rng } from '../helpers/random.js';

const EXECUTIONS = 50;
const time = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s, 250)).toISOString();

function edgesOf(random: () => number, ids: string[], p: number): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (let j = 1; j < ids.length; j += 1) for (let i = 0; i < j; i += 1) if (random() < p) edges.push([ids[i]!, ids[j]!]);
  return edges;
}

function result(nodeId: string, status: 'completed' | 'failed', at: string): NodeResult {
  return {
    status, output: status === 'completed' ? { from: nodeId, n: 0.1 + 0.2, big: 2 ** 53 + 2, tiny: 1e-7 } : null,
    error: status === 'failed' ? { code: 'http_server_error', category: 'permanent', message: `boom ${nodeId}` } : null,
    usage: null, cost: null, attempts: 1, input: null, provider: null, model: null, workerId: 'w', startedAt: at, finishedAt: at, runtimeMs: 3,
  };
}

describe('Lua map scripts match apply-map.ts', () => {
  let sides: ParitySides;
  beforeAll(async () => {
    sides = await startParitySides();
  });
  afterAll(async () => {
    await sides.close();
  });

  it(`agrees on ${EXECUTIONS} random executions with a map`, async () => {
    const seen = { waits: 0, timedOut: 0, mapsCompleted: 0, mapsFailed: 0, itemErrorsKept: 0, retried: 0, cancelled: 0, redelivered: 0, gone: 0, emptyMaps: 0, softItemFailures: 0 };
    for (let seed = 1; seed <= EXECUTIONS; seed += 1) {
      const random = rng(seed * 7919);
      // Top level: src → m → (random tail); the map's sub-graph is a random DAG.
      const tail = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => `t${i}`);
      const topIds = ['src', 'm', ...tail];
      const topEdges: Array<[string, string]> = [['src', 'm'], ['m', tail[0]!], ...edgesOf(random, tail, 0.5)];
      const subIds = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => `s${i}`);
      const subEdges = edgesOf(random, subIds, 0.5);
      const sub: MapGraphNode[] = hotNodes(subIds, subEdges);
      const children = new Map([...hotNodes(topIds, topEdges), ...sub].map((n) => [n.id, n.children]));
      const itemCount = Math.floor(random() * 7);
      const mapOptions = {
        concurrency: 1 + Math.floor(random() * 3),
        onItemError: random() < 0.5 ? 'fail' as const : 'continue' as const,
        failExecution: random() < 0.7,
        output: subIds[subIds.length - 1]!,
        nodes: sub,
      };
      const execution = sides.execution(`seed ${seed}`);
      const both = execution.both.bind(execution);
      let clock = 0;

      const init = await both((store, executionId) =>
        store.initExecution({ executionId, workspaceId: 'ws', flowId: 'f', flowVersion: 1, input: { seed }, nodes: hotNodes(topIds, topEdges), at: time(clock) }));
      const queue = [...init.ready];
      const done: string[] = [];
      let round = 0;
      let retries = 0;
      for (let steps = 0; steps < 400; steps += 1) {
        if (queue.length === 0) {
          const hot = await both((store, executionId) => store.getExecution(executionId));
          if (hot?.status !== 'failed' && hot?.status !== 'cancelled') break;
          const failedTop = topIds.filter((id) => hot.nodes[id]?.result?.status === 'failed');
          if (retries >= 2 || failedTop.length === 0 || Object.values(hot.nodes).some((n) => n.status === 'running')) break;
          retries += 1;
          const reopened = await both((store, executionId) => store.reopenNodes({ executionId, nodeIds: failedTop, at: time(clock) }));
          if (reopened.kind === 'reopened') queue.push(...reopened.ready);
          seen.retried += 1;
          continue;
        }
        clock += 1;
        const at = time(clock);
        const nodeId = queue.splice(Math.floor(random() * queue.length), 1)[0]!;
        const item = parseMapItemNodeId(nodeId);
        const mapItem = item ? { mapId: item.mapId, index: item.index, round: random() < 0.05 ? round - 1 : round } : undefined;
        const started = await both((store, executionId) =>
          store.startNode({ executionId, nodeId, attempt: 1, workerId: 'w', at, readResultsOf: done.slice(-3), ...(mapItem ? { mapItem } : {}) }));
        if (started.kind === 'gone') {
          seen.gone += 1;
          if (mapItem && mapItem.round !== round) queue.push(nodeId);
          continue;
        }
        if (started.kind !== 'started') continue;
        // Some item nodes wait (a wait node) before they commit, later.
        if (item && random() < 0.12) {
          const waited = await both((store, executionId) => store.waitNode({ executionId, nodeId, at, tokenHash: null, data: { n: 1 } }));
          if (waited.kind === 'waiting') {
            seen.waits += 1;
            if (random() < 0.5) queue.push(nodeId);
            continue;
          }
        }
        if (nodeId === 'm') {
          const items = Array.from({ length: itemCount }, (_, i) => ({ i, v: 1.1 * i }));
          const expanded = await both((store, executionId) => store.startMap({ executionId, nodeId: 'm', items, ...mapOptions, at }));
          if (expanded.kind !== 'started') continue;
          round = expanded.round;
          if (itemCount === 0) seen.emptyMaps += 1;
          queue.push(...expanded.ready);
          if (random() < 0.15) {
            const again = await both((store, executionId) => store.startMap({ executionId, nodeId: 'm', items, ...mapOptions, at }));
            if (again.kind === 'started' && again.resumed) seen.redelivered += 1;
          }
          continue;
        }
        const fail = random() < 0.15;
        const local = item ? item.nodeId : nodeId;
        const kids = (children.get(local) ?? []).map((c) => (item ? `${item.mapId}[${item.index}].${c}` : c));
        const failExecution = fail && !item && random() < 0.5 ? true : fail && item !== null && random() < 0.05;
        // A soft failure (commitIntent's) takes all its edges, or none when it branches; a hard one none.
        const soft = fail && !failExecution && random() < 0.4;
        const takes = fail ? (soft && random() < 0.7 ? kids : []) : kids.filter(() => random() < 0.85);
        if (soft && item) seen.softItemFailures += 1;
        const outcome = await both((store, executionId) =>
          store.commitNode({ executionId, nodeId, result: result(nodeId, fail ? 'failed' : 'completed', at), takenChildren: takes, failExecution, soft, at }));
        done.push(nodeId);
        queue.push(...outcome.ready);
        for (const settled of outcome.settledMaps) {
          if (settled.result.status === 'completed') seen.mapsCompleted += 1;
          else seen.mapsFailed += 1;
          if (JSON.stringify(settled.result.output).includes('"error"')) seen.itemErrorsKept += 1;
        }
        if (random() < 0.1) {
          await both((store, executionId) => store.readyAfter({ executionId, nodeId }));
          const again = await both((store, executionId) =>
            store.commitNode({ executionId, nodeId, result: result(nodeId, 'completed', at), takenChildren: [], failExecution: false, soft: false, at }));
          queue.push(...again.ready.filter((id) => !queue.includes(id)));
        }
        if (random() < 0.03) {
          const error: NodeError = { code: 'node_timeout', category: 'transient', message: 'map m timed out' };
          const timedOut = await both((store, executionId) => store.timeoutMap({ executionId, nodeId: 'm', round, at, error }));
          if (timedOut.kind === 'ended') {
            seen.timedOut += 1;
            queue.push(...timedOut.ready);
          }
        }
        if (random() < 0.03) {
          const cancelled = await both((store, executionId) => store.cancelExecution({ executionId, at }));
          if (cancelled.kind === 'cancelled') seen.cancelled += 1;
        }
      }
      await both((store, executionId) => store.getExecution(executionId));
      await execution.expectSameEvents();
    }
    for (const [path, count] of Object.entries(seen)) expect(count, path).toBeGreaterThan(0);
  });
});
