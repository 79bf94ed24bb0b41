/**
 * The benched flows, as the JSON a REST client sends (validated here first, so a mistake fails
 * before any process starts). Generated because their sizes are bench parameters.
 */
import { MAP_MAX_CONCURRENCY, validateFlow } from '@weft/shared/flow';

export interface FlowInput {
  name: string;
  nodes: Array<Record<string, unknown>>;
  edges: Array<{ from: string; to: string }>;
}

/** The mock answers this model at once; `mockModel(50)` after 50 ms, `mockModel('hang')` never. */
export const BENCH_MODEL = 'gpt-4o-mini';

export function mockModel(fault: number | 'hang'): string {
  return fault === 'hang' ? `${BENCH_MODEL}/mock-hang` : `${BENCH_MODEL}/mock-slow-${fault}`;
}

function checked(flow: FlowInput): FlowInput {
  const result = validateFlow(flow);
  if (!result.ok) throw new Error(`bench flow ${flow.name} is invalid: ${JSON.stringify(result.errors)}`);
  return flow;
}

const chainId = (i: number): string => `n${i}`;

/** n1 → … → nK, each a JSONata transform of its parent's output (no I/O). */
export function transformChain(length: number): FlowInput {
  const nodes = [];
  const edges = [];
  for (let i = 1; i <= length; i += 1) {
    const parent = chainId(i - 1);
    const expression = i === 1
      ? '{ "step": 1, "topic": $uppercase(input.topic) }'
      : `{ "step": nodes.${parent}.step + 1, "topic": nodes.${parent}.topic }`;
    nodes.push({ id: chainId(i), type: 'transform', expression });
    if (i > 1) edges.push({ from: parent, to: chainId(i) });
  }
  return checked({ name: `bench-transform-chain-${length}`, nodes, edges });
}

function llm(id: string, model: string, prompt: string): Record<string, unknown> {
  // Not streamed: the mock's latency fault would also delay every chunk.
  return { id, type: 'llm', provider: 'openai', model, prompt, maxTokens: 32, stream: false };
}

/** n1 → … → nK, each prompting the mock with its parent's answer. */
export function llmChain(length: number, model: string): FlowInput {
  const nodes = [];
  const edges = [];
  for (let i = 1; i <= length; i += 1) {
    nodes.push(llm(chainId(i), model, i === 1 ? 'One line about {{input.topic}}' : `Shorten: {{${chainId(i - 1)}}}`));
    if (i > 1) edges.push({ from: chainId(i - 1), to: chainId(i) });
  }
  return checked({ name: `bench-llm-chain-${length}`, nodes, edges });
}

/** The branches of the DAG: root → b1…b4 → join (6 LLM nodes). */
export const DAG_BRANCHES = ['b1', 'b2', 'b3', 'b4'] as const;

export function llmDag(model: string): FlowInput {
  const nodes = [llm('root', model, 'One line about {{input.topic}}')];
  const edges: FlowInput['edges'] = [];
  for (const b of DAG_BRANCHES) {
    nodes.push(llm(b, model, `Angle ${b} on: {{root}}`));
    edges.push({ from: 'root', to: b }, { from: b, to: 'join' });
  }
  nodes.push(llm('join', model, `Merge: ${DAG_BRANCHES.map((b) => `{{${b}}}`).join(' ')}`));
  return checked({ name: 'bench-llm-dag-6', nodes, edges });
}

/** One LLM node: parked on the hanging mock, it holds an execution in flight. */
export function singleLlm(model: string): FlowInput {
  return checked({ name: 'bench-llm-single', nodes: [llm('ask', model, 'One line about {{input.topic}}')], edges: [] });
}

/** One transform node: the start path's flow (its executions are only queued while measured). */
export function singleTransform(): FlowInput {
  return checked({ name: 'bench-start', nodes: [{ id: 'only', type: 'transform', expression: 'input.topic' }], edges: [] });
}

/** The map node whose W items are the join's parents. */
export const FAN_MAP_ID = 'fan';
export const FAN_JOIN_ID = 'join';

/** A map of W transform items, all at once, then `join`: the last item's completion → join started. */
export function fanIn(width: number): FlowInput {
  return checked({
    name: `bench-fan-in-${width}`,
    nodes: [
      {
        id: FAN_MAP_ID, type: 'map', items: `[1..${width}]`, concurrency: Math.min(width, MAP_MAX_CONCURRENCY),
        graph: { nodes: [{ id: 'work', type: 'transform', expression: '{ "i": index, "v": item * 2 }' }], edges: [] },
      },
      { id: FAN_JOIN_ID, type: 'transform', expression: `$count(nodes.${FAN_MAP_ID})` },
    ],
    edges: [{ from: FAN_MAP_ID, to: FAN_JOIN_ID }],
  });
}
