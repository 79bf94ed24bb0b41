/**
 * The api dies between recording an execution and enqueueing its job: the recovery sweep of
 * the workers finds it queued and enqueues it, and it runs to the end.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { WeftDatabase } from '@weft/db/repos';
import { apiClient } from '../helpers/http.js';
import { createTestServices, type TestServices } from '../helpers/services.js';
import { startDistributedStack, type DistributedStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

describe('recovery sweep', () => {
  let svc: TestServices;
  let stack: DistributedStack;
  let database: WeftDatabase;

  beforeAll(async () => {
    svc = await createTestServices();
    stack = await startDistributedStack({ ...svc, workers: ['w1'], env: { WEFT_SWEEP_INTERVAL_MS: '200', WEFT_SWEEP_MIN_AGE_MS: '300' } });
    database = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32) });
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await stack?.stop();
    await svc?.cleanup();
  });

  it('enqueues an execution that was recorded but never enqueued, and it completes', async () => {
    const apiKey = await stack.createWorkspace('sweep');
    const call = apiClient(stack.baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', { name: 'sweep', nodes: [{ id: 'double', type: 'transform', expression: 'input.n * 2' }], edges: [] });
    expect(flow.status).toBe(201);
    const workspaceId = (await call('GET', '/v1/workspace')).body.id as string;
    // What the api had written when it died: the row, and no job.
    const { execution } = await database.repos.executions.create({ workspaceId, flowId: flow.body.id, flowVersion: 1, input: { n: 21 } });
    expect(execution.status).toBe('queued');
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${execution.id}`);
      return r.body.status === 'completed' ? r.body : null;
    }, { timeoutMs: 15_000, message: 'swept execution completed' });
    expect(done.output).toEqual({ double: 42 });
    const metrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.port}/metrics`)).text();
    expect(metrics).toMatch(/weft_recovered_total\{kind="queued_execution"[^}]*\} [1-9]/);
  });
});
