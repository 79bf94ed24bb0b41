import { describe, expect, it } from 'vitest';
import { nodeReferences } from './node-references.js';
import type { LlmNode, TransformNode } from './types.js';

describe('nodeReferences', () => {
  it('lists distinct referenced nodes across system, prompt and messages, without input', () => {
    const node: LlmNode = {
      id: 'd',
      type: 'llm',
      provider: 'openai',
      model: 'gpt-4o-mini',
      system: 'Use {{b.output.x}} and {{input.topic}}',
      messages: [
        { role: 'user', content: '{{ c }} {{b}} {{a.usage.totalTokens}}' },
        { role: 'assistant', content: '\\{{escaped}}' },
      ],
    };
    expect(nodeReferences(node)).toEqual(['b', 'c', 'a']);
  });

  it('returns nothing for a node that only uses input', () => {
    expect(nodeReferences({ id: 'a', type: 'llm', provider: 'gemini', model: 'm', prompt: 'What is {{input.topic}}?' })).toEqual([]);
  });

  it('returns nothing for a transform node (it has no templates)', () => {
    const node: TransformNode = { id: 't', type: 'transform', expression: 'nodes.a & "{{b}}"' };
    expect(nodeReferences(node)).toEqual([]);
  });
});
