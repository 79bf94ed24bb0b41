/** The benched flows: chains of K nodes, and a map of K items, generated because K is a bench parameter. */
import { validateFlow, type FlowDefinition } from '@weft/shared/flow';

export type ChainKind = 'transform' | 'llm' | 'map';

/** Model the mock answers at once (no fault in its name). */
export const BENCH_MODEL = 'gpt-4o-mini';

function nodeId(i: number): string {
  return `n${i}`;
}

/**
 * `transform`: each node reads its parent's output with JSONata (no I/O).
 * `llm`: each node prompts the mock provider with its parent's answer (one SDK call per node).
 */
export function chainFlow(kind: ChainKind, length: number): FlowDefinition {
  if (kind === 'map') return mapFlow(length);
  const nodes = [];
  const edges = [];
  for (let i = 1; i <= length; i += 1) {
    const id = nodeId(i);
    const parent = nodeId(i - 1);
    if (kind === 'transform') {
      const expression = i === 1
        ? '{ "step": 1, "topic": $uppercase(input.topic) }'
        : `{ "step": nodes.${parent}.step + 1, "topic": nodes.${parent}.topic }`;
      nodes.push({ id, type: 'transform', expression });
    } else {
      const prompt = i === 1 ? 'One line about {{input.topic}}' : `Shorten: {{${parent}.output}}`;
      nodes.push({ id, type: 'llm', provider: 'openai', model: BENCH_MODEL, prompt, maxTokens: 32 });
    }
    if (i > 1) edges.push({ from: parent, to: id });
  }
  const checked = validateFlow({ name: `bench-${kind}-chain-${length}`, nodes, edges });
  if (!checked.ok) throw new Error(`bench flow is invalid: ${JSON.stringify(checked.errors)}`);
  return checked.flow;
}

/**
 * One map node fanning out to `items` transform items at once (concurrency = items): the same
 * number of node jobs as a chain of that length, run side by side instead of one after another
 * (plus the map node's own job).
 */
function mapFlow(items: number): FlowDefinition {
  const checked = validateFlow({
    name: `bench-map-${items}`,
    nodes: [{
      id: 'fan', type: 'map', items: `[1..${items}]`, concurrency: items,
      graph: { nodes: [{ id: 'work', type: 'transform', expression: '{ "i": index, "topic": $uppercase(input.topic), "v": item * 2 }' }], edges: [] },
    }],
    edges: [],
  });
  if (!checked.ok) throw new Error(`bench flow is invalid: ${JSON.stringify(checked.errors)}`);
  return checked.flow;
}
