/**
 * Baseline of the LLM rows: LangGraph JS in the bench process, as a library user runs it. The
 * same chain and DAG as Weft's flows (flows.ts), each node one chat completion through the same
 * `openai` SDK against the same mock process, without a checkpointer or with `MemorySaver`.
 */
import { randomUUID } from 'node:crypto';
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import OpenAI from 'openai';
import { DAG_BRANCHES } from './flows.js';

const State = Annotation.Root({
  topic: Annotation<string>(),
  out: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
});
type GraphState = typeof State.State;
type NodeFn = (state: GraphState) => Promise<Partial<GraphState>>;

export type Checkpointing = 'none' | 'memory';

export interface LangGraphRunner {
  /** Runs `count` graphs at once; answers each one's end time (performance.now()). */
  run(count: number): Promise<number[]>;
  /** Graph nodes that have sent their request (for the parked heap measurement). */
  requestsSent(): number;
}

export function langGraphRunner(input: {
  shape: 'chain' | 'dag';
  length: number;
  model: string;
  mockUrl: string;
  checkpointing: Checkpointing;
  signal?: AbortSignal;
}): LangGraphRunner {
  // The SDK's default retries, as a library user has them: with 1000 DAGs, the 4000 requests of
  // their fan-out at once overflow the mock's accept backlog, and a reset connection is retried
  // (Weft retries it too, through its own policy; its worker concurrency caps its requests).
  const client = new OpenAI({ apiKey: 'sk-bench-0123456789', baseURL: `${input.mockUrl}/v1`, maxRetries: 2, timeout: 600_000 });
  let sent = 0;
  const ask = async (prompt: string): Promise<string> => {
    sent += 1;
    const res = await client.chat.completions.create(
      { model: input.model, messages: [{ role: 'user', content: prompt }], max_completion_tokens: 32 },
      input.signal ? { signal: input.signal } : {},
    );
    return res.choices[0]?.message.content ?? '';
  };
  const node = (id: string, prompt: (s: GraphState) => string): [string, NodeFn] =>
    [id, async (state) => ({ out: { [id]: await ask(prompt(state)) } })];

  const nodes: Array<[string, NodeFn]> = [];
  const edges: Array<[string | string[], string]> = [];
  if (input.shape === 'chain') {
    for (let i = 1; i <= input.length; i += 1) {
      const parent = `n${i - 1}`;
      nodes.push(node(`n${i}`, i === 1 ? (s) => `One line about ${s.topic}` : (s) => `Shorten: ${s.out[parent] ?? ''}`));
      edges.push([i === 1 ? START : parent, `n${i}`]);
    }
    edges.push([`n${input.length}`, END]);
  } else if (input.length === 1) {
    nodes.push(node('ask', (s) => `One line about ${s.topic}`));
    edges.push([START, 'ask'], ['ask', END]);
  } else {
    nodes.push(node('root', (s) => `One line about ${s.topic}`));
    edges.push([START, 'root']);
    for (const b of DAG_BRANCHES) {
      nodes.push(node(b, (s) => `Angle ${b} on: ${s.out.root ?? ''}`));
      edges.push(['root', b]);
    }
    nodes.push(node('join', (s) => `Merge: ${DAG_BRANCHES.map((b) => s.out[b] ?? '').join(' ')}`));
    // One edge from all branches: the join waits for every one of them.
    edges.push([[...DAG_BRANCHES], 'join'], ['join', END]);
  }
  let builder = new StateGraph(State).addNode(nodes);
  for (const [from, to] of edges) builder = builder.addEdge(from, to);
  const graph = input.checkpointing === 'memory' ? builder.compile({ checkpointer: new MemorySaver() }) : builder.compile();

  return {
    async run(count) {
      return Promise.all(Array.from({ length: count }, async () => {
        await graph.invoke({ topic: 'bench' }, { configurable: { thread_id: randomUUID() }, recursionLimit: 100 });
        return performance.now();
      }));
    },
    requestsSent: () => sent,
  };
}

/** Runs per second of `count` graphs at once, from their start to the last one's end. */
export async function graphThroughput(runner: LangGraphRunner, count: number): Promise<number> {
  const t0 = performance.now();
  const ends = await runner.run(count);
  return count / ((Math.max(...ends) - t0) / 1000);
}
