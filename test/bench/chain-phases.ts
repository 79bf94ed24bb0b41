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
