import { WeftError } from '../errors/weft-error.js';
import { buildFlowGraph, type FlowGraph, type FlowTopology } from './flow-graph.js';

/**
 * One cycle of the graph as a closed path (`['a', 'b', 'c', 'a']`), or null. Deterministic:
 * the search starts from nodes and follows children in declaration order.
 */
export function findCycle(graph: FlowGraph): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  for (const start of graph.children.keys()) {
    if (state.has(start)) continue;
    // Iterative DFS: `path` is the active chain, `next` the index of the child to visit next.
    const path: string[] = [start];
    const next: number[] = [0];
    state.set(start, 'active');
    while (path.length > 0) {
      const depth = path.length - 1;
      const id = path[depth] as string;
      const kids = graph.children.get(id) ?? [];
      const k = next[depth] ?? 0;
      if (k >= kids.length) {
        state.set(id, 'done');
        path.pop();
        next.pop();
        continue;
      }
      next[depth] = k + 1;
      const child = kids[k] as string;
      const seen = state.get(child);
      if (seen === 'active') return [...path.slice(path.indexOf(child)), child];
      if (seen === undefined) {
        state.set(child, 'active');
        path.push(child);
        next.push(0);
      }
    }
  }
  return null;
}

/** Formats a cycle for messages: `a → b → c → a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}

/**
 * Node ids such that every node comes after its parents; among nodes that are ready at the
 * same time, the one declared first comes first. Throws FLOW_CYCLE when there is a cycle.
 */
export function topologicalOrder(flow: FlowTopology): string[] {
  const graph = buildFlowGraph(flow);
  const position = new Map([...graph.parents.keys()].map((id, i) => [id, i]));
  const waitingOn = new Map([...graph.parents].map(([id, parents]) => [id, parents.length]));
  const ready = [...graph.roots];
  const order: string[] = [];
  while (ready.length > 0) {
    // Flows are small (≤ 500 nodes): a scan for the earliest declared node is enough.
    let best = 0;
    for (let i = 1; i < ready.length; i++) {
      if ((position.get(ready[i] as string) ?? 0) < (position.get(ready[best] as string) ?? 0)) best = i;
    }
    const id = ready.splice(best, 1)[0] as string;
    order.push(id);
    for (const child of graph.children.get(id) ?? []) {
      const left = (waitingOn.get(child) ?? 0) - 1;
      waitingOn.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  if (order.length < graph.parents.size) {
    const cycle = findCycle(graph);
    throw new WeftError('FLOW_CYCLE', `cycle: ${cycle === null ? 'unknown' : formatCycle(cycle)}`);
  }
  return order;
}
