import { describe, expect, it } from 'vitest';
import type { NodeType } from '../flow/types.js';
import { commitIntent, type CommitIntent } from './commit-intent.js';

const children = ['b', 'c'];

describe('commitIntent', () => {
  const cases: Array<{
    name: string;
    type: NodeType;
    onError?: 'fail' | 'continue';
    outcome: 'completed' | 'failed' | 'cancelled';
    code?: string;
    chosen?: string[];
    mapItem?: boolean;
    expected: CommitIntent;
  }> = [
    { name: 'completed plain node takes every edge', type: 'transform', outcome: 'completed', expected: { takenChildren: children, failExecution: false, soft: false } },
    { name: 'completed condition takes the branch it chose', type: 'condition', outcome: 'completed', chosen: ['c'], expected: { takenChildren: ['c'], failExecution: false, soft: false } },
    { name: 'completed switch that matched no case takes nothing', type: 'switch', outcome: 'completed', chosen: [], expected: { takenChildren: [], failExecution: false, soft: false } },
    { name: 'hard failure fails the execution', type: 'llm', outcome: 'failed', code: 'llm_auth', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'hard failure with onError fail (explicit)', type: 'http', onError: 'fail', outcome: 'failed', code: 'http_client_error', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'soft failure continues down every edge', type: 'llm', onError: 'continue', outcome: 'failed', code: 'llm_timeout', expected: { takenChildren: children, failExecution: false, soft: true } },
    { name: 'soft failure of a branching node takes no branch', type: 'condition', onError: 'continue', outcome: 'failed', code: 'transform_failed', expected: { takenChildren: [], failExecution: false, soft: true } },
    { name: 'a passed budget is never soft', type: 'llm', onError: 'continue', outcome: 'failed', code: 'budget_exceeded', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'a passed budget as a catalog code (a WeftError)', type: 'llm', onError: 'continue', outcome: 'failed', code: 'BUDGET_EXCEEDED', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'hard failure inside a map item fails its item, not the execution', type: 'llm', outcome: 'failed', code: 'llm_server_error', mapItem: true, expected: { takenChildren: [], failExecution: false, soft: false } },
    { name: 'soft failure inside a map item continues within the item', type: 'http', onError: 'continue', outcome: 'failed', code: 'http_timeout', mapItem: true, expected: { takenChildren: children, failExecution: false, soft: true } },
    { name: 'a passed budget inside a map item fails the execution', type: 'llm', outcome: 'failed', code: 'budget_exceeded', mapItem: true, expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'a cancelled node is a hard failure', type: 'llm', onError: 'fail', outcome: 'failed', code: 'node_cancelled', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'a cancelled run is never soft', type: 'http', onError: 'continue', outcome: 'cancelled', code: 'node_cancelled', expected: { takenChildren: [], failExecution: true, soft: false } },
    { name: 'a cancelled run in a cut map item fails its item only', type: 'llm', onError: 'continue', outcome: 'cancelled', code: 'node_cancelled', mapItem: true, expected: { takenChildren: [], failExecution: false, soft: false } },
    { name: 'a code outside the catalog is no budget', type: 'llm', onError: 'continue', outcome: 'failed', code: 'not_a_code', expected: { takenChildren: children, failExecution: false, soft: true } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const node = c.onError === undefined ? { type: c.type } : { type: c.type, onError: c.onError };
      expect(commitIntent({
        node, outcome: c.outcome, failure: c.code === undefined ? null : { code: c.code }, children, chosen: c.chosen, mapItem: c.mapItem ?? false,
      })).toEqual(c.expected);
    });
  }

  it('answers a copy: the caller may change the children it passed afterwards', () => {
    const mine = ['x'];
    const intent = commitIntent({ node: { type: 'transform' }, outcome: 'completed', failure: null, children: mine, mapItem: false });
    mine.push('y');
    expect(intent.takenChildren).toEqual(['x']);
  });
});
