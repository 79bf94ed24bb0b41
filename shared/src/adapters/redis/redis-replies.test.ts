import { describe, expect, it } from 'vitest';
import { asEventSummaries } from './redis-replies.js';

describe('asEventSummaries', () => {
  it('reads type and node id pairs, a node id left out when empty', () => {
    expect(asEventSummaries(['node.completed', 'a', 'node.started', 'b', 'execution.completed', ''])).toEqual([
      { type: 'node.completed', nodeId: 'a' }, { type: 'node.started', nodeId: 'b' }, { type: 'execution.completed' },
    ]);
    expect(asEventSummaries([])).toEqual([]);
  });

  it('refuses an unknown type, a pair cut short, or what is not a list of strings', () => {
    expect(() => asEventSummaries(['node.exploded', 'a'])).toThrow(/event type/);
    expect(() => asEventSummaries(['node.completed'])).toThrow(/brief events/);
    expect(() => asEventSummaries('node.completed a')).toThrow();
    expect(() => asEventSummaries(['node.completed', 7])).toThrow();
  });
});
