/**
 * Hot state lost mid-run, shared by the recovery suite (one Redis) and the cluster suite: a
 * 3-node execution held where `first` has completed and reached Postgres and `second`'s provider
 * call waits at the gate. The caller then deletes the execution's keys, opens the gate, and
 * checks that the sweep rebuilt it.
 */
import type pg from 'pg';
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import type { Target } from './scenarios.js';

export async function holdAfterFirstFlushed(target: Target, db: pg.Client, topic: string, secondModel = 'gpt-4o-mini'): Promise<{ executionId: string }> {
  const call = apiClient(target.baseUrl, target.apiKey);
  const flow = await call('POST', '/v1/flows', {
    name: 'lost-state',
    nodes: [
      { id: 'first', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', stream: false, prompt: 'First about {{input.topic}}' },
      { id: 'second', type: 'llm', provider: 'openai', model: secondModel, stream: false, prompt: 'Second after {{first}}' },
      { id: 'third', type: 'transform', expression: '$length(nodes.second) > 0' },
    ],
    edges: [{ from: 'first', to: 'second' }, { from: 'second', to: 'third' }],
  });
  expect(flow.status).toBe(201);
  target.mock.reset();
  target.gate.hold((body) => body.includes('Second after'));
  const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: { topic } });
  const executionId = start.body.executionId as string;
  // `first` is done and in Postgres; `second` is on the wire, held at the gate.
  await waitFor(async () => {
    const r = await db.query("select 1 from node_runs where execution_id = $1 and node_id = 'first'", [executionId]);
    return r.rows.length === 1 && target.gate.waiting() === 1;
  }, { timeoutMs: 30_000, message: 'first flushed, second running' });
  return { executionId };
}

/** After the keys went and the gate opened: the execution completes on the rebuilt state. */
export async function expectRebuiltAndCompleted(target: Target, executionId: string): Promise<any> {
  const done = await waitFor(async () => {
    const r = await apiClient(target.baseUrl, target.apiKey)('GET', `/v1/executions/${executionId}`);
    return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
  }, { timeoutMs: 30_000, message: 'execution finished after the rebuild' });
  expect(done.status, JSON.stringify(done.error)).toBe('completed');
  expect(done.output).toEqual({ third: true });
  return done;
}
