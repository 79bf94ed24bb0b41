import { describe, expect, it } from 'vitest';
import type { FlowNode } from '../flow/index.js';
import type { ModelPrice } from '../ports/database.js';
import { llmModelUses, unpricedUses } from './budget-pricing.js';

const row = (provider: string, model: string): ModelPrice => ({ provider, model, inputPer1M: 1, outputPer1M: 1, reasoningPer1M: 1, cachedPer1M: 1 });
const llm = (id: string, provider: 'openai' | 'anthropic', model: string) => ({ id, type: 'llm', provider, model, prompt: 'hi' }) as FlowNode;

describe('the models a budget must price', () => {
  const nodes: FlowNode[] = [
    llm('a', 'openai', 'gpt-4o-2024-08-06'),
    { id: 't', type: 'transform', expression: '1' },
    {
      id: 'each', type: 'map', items: '{{input.list}}',
      graph: { nodes: [llm('ask', 'anthropic', 'claude-3-5-haiku-latest') as never, llm('tune', 'openai', 'ft:gpt-4o:org::x') as never], edges: [] },
    },
    llm('tpl', 'openai', '{{input.model}}'),
    // The same name under another provider is another model.
    llm('cross', 'anthropic', 'gpt-4o'),
  ];

  it('lists every LLM node with the pointer to its model, sub-graphs included', () => {
    expect(llmModelUses({ nodes }).map((u) => [u.path, u.nodeId])).toEqual([
      ['/nodes/0/model', 'a'], ['/nodes/2/graph/nodes/0/model', 'ask'], ['/nodes/2/graph/nodes/1/model', 'tune'], ['/nodes/3/model', 'tpl'], ['/nodes/4/model', 'cross'],
    ]);
  });

  it('keeps those the table cannot price through the alias rule, and templated ones always', () => {
    const table = [row('openai', 'gpt-4o'), row('anthropic', 'claude-3-5-haiku'), row('openai', '{{input.model}}')];
    expect(unpricedUses(llmModelUses({ nodes }), table).map((u) => u.nodeId)).toEqual(['tune', 'tpl', 'cross']);
  });
});
