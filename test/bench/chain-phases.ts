/** Where an unloaded Weft chain spends its time, read from its node events. */

/** An unloaded chain's time, split at its node.started / node.completed events. */
export interface ChainPhases {
  /** Enqueue of the execution job → first node.started (execution job, hot state, first node job). */
  toFirstNodeMs: number;
  /** node.started → node.completed, mean over the nodes (executor + commit script). */
  inNodeMs: number;
  /** node.completed → the child's node.started, mean over the edges (enqueue, queue hop, start script). */
  hopMs: number;
}

export function chainPhases(marks: ReadonlyArray<{ type: string; nodeId: string; at: number }>, t0: number, nodes: number): ChainPhases | undefined {
  const started = new Map<string, number>();
  const completed = new Map<string, number>();
  for (const m of marks) {
    if (m.type === 'node.started' && !started.has(m.nodeId)) started.set(m.nodeId, m.at);
    if (m.type === 'node.completed') completed.set(m.nodeId, m.at);
  }
  // Chain nodes are n1…nK (flows.ts).
  const at = (map: Map<string, number>, i: number): number => map.get(`n${i}`) ?? Number.NaN;
  let inNode = 0;
  let hop = 0;
  for (let i = 1; i <= nodes; i += 1) {
    inNode += at(completed, i) - at(started, i);
    if (i < nodes) hop += at(started, i + 1) - at(completed, i);
  }
  const phases = { toFirstNodeMs: at(started, 1) - t0, inNodeMs: inNode / nodes, hopMs: nodes > 1 ? hop / (nodes - 1) : 0 };
  return Object.values(phases).every(Number.isFinite) ? phases : undefined;
}

/**
 * A chain's hops, node n-1 completed → node n started, in node order; a hop whose events are
 * missing is left out.
 */
export function chainHops(marks: ReadonlyArray<{ type: string; nodeId: string; at: number }>, nodes: number): number[] {
  const started = new Map<string, number>();
  const completed = new Map<string, number>();
  for (const m of marks) {
    if (m.type === 'node.started' && !started.has(m.nodeId)) started.set(m.nodeId, m.at);
    if (m.type === 'node.completed') completed.set(m.nodeId, m.at);
  }
  const hops: number[] = [];
  for (let i = 2; i <= nodes; i += 1) {
    const from = completed.get(`n${i - 1}`);
    const to = started.get(`n${i}`);
    if (from !== undefined && to !== undefined) hops.push(to - from);
  }
  return hops;
}

/**
 * Fan-in: the last completion of a node inside the map (`<map>[i].<node>`) → the join started;
 * undefined when either is missing.
 */
export function fanInDelay(marks: ReadonlyArray<{ type: string; nodeId: string; at: number }>, mapId: string, joinId: string): number | undefined {
  let lastItem: number | undefined;
  let joinStarted: number | undefined;
  for (const m of marks) {
    if (m.type === 'node.completed' && m.nodeId.startsWith(`${mapId}[`)) lastItem = Math.max(lastItem ?? m.at, m.at);
    if (m.type === 'node.started' && m.nodeId === joinId) joinStarted ??= m.at;
  }
  return lastItem === undefined || joinStarted === undefined ? undefined : joinStarted - lastItem;
}
