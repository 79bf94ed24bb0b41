/**
 * Embedded mode's event history beyond the process: the memory bus over the Postgres archive
 * (execution_events; PGlite in embedded mode, the same repo and migrations). A second bus over
 * the same archive — the process after a restart — replays what the first appended, in order,
 * honours afterId, and continues with larger ids. `node.token` deltas stay in memory.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@weft/db/database';
import type { WeftDatabase } from '@weft/db/repos';
import { compareEventIds } from '../../shared/src/engine/event-ids.js';
import { MemoryEventBus } from '../../shared/src/adapters/memory/memory-event-bus.js';
import { MemoryStateStore } from '../../shared/src/adapters/memory/memory-state-store.js';
import { createTestServices, type TestServices } from '../helpers/services.js';

describe('MemoryEventBus over the event archive', () => {
  let svc: TestServices;
  let database: WeftDatabase;
  let workspaceId: string;
  let flowId: string;

  beforeAll(async () => {
    svc = await createTestServices();
    database = await createDatabase({ url: svc.databaseUrl, masterKey: randomBytes(32) });
    await database.migrate();
    workspaceId = (await database.repos.workspaces.create({ name: 'archive' })).workspace.id;
    flowId = (await database.repos.flows.create({ workspaceId, flow: { name: 'f', nodes: [{ id: 'a', type: 'transform', expression: '1' }], edges: [] } })).id;
  });

  afterAll(async () => {
    await database?.close();
    await svc?.cleanup();
  });

  async function newExecution(): Promise<string> {
    return (await database.repos.executions.create({ workspaceId, flowId, flowVersion: 1, input: null })).execution.id;
  }

  it('replays, after a restart, what an earlier bus appended, and continues with larger ids', async () => {
    const executionId = await newExecution();
    const base = { executionId, flowId, workspaceId, at: new Date().toISOString() };
    const first = new MemoryEventBus({ archive: database.repos.events });
    const store = new MemoryStateStore({ events: first });
    // Write-behind: the transition does not wait for Postgres; stored() tells when it is there.
    await store.initExecution({ ...base, flowVersion: 1, input: null, nodes: [{ id: 'a', parentCount: 0, children: [] }] });
    await first.stored();
    const stored = await database.repos.events.list(executionId);
    expect(stored.map((e) => e.type)).toEqual(['execution.started']);
    await first.publish({ ...base, type: 'node.token', nodeId: 'a', data: { attempt: 1, text: 'delta' } });
    const waiting = await first.publish({ ...base, type: 'node.waiting', nodeId: 'a', data: { event: 'approval', token: 't' } });
    const before = await first.replay(executionId);
    expect(before.map((e) => e.type)).toEqual(['execution.started', 'node.token', 'node.waiting']);
    await store.close();
    await first.close();

    // The process restarted: nothing in memory, the archive has all but the token deltas.
    const second = new MemoryEventBus({ archive: database.repos.events });
    expect(await second.replay(executionId)).toEqual(before.filter((e) => e.type !== 'node.token'));
    const resumed = await second.publish({ ...base, type: 'execution.resumed', data: { recovered: true, kept: 0, ready: ['a'] } });
    expect(compareEventIds(resumed.id, waiting.id)).toBeGreaterThan(0);
    const replayed = await second.replay(executionId);
    expect(replayed.map((e) => e.type)).toEqual(['execution.started', 'node.waiting', 'execution.resumed']);
    expect((await second.replay(executionId, waiting.id)).map((e) => e.id)).toEqual([resumed.id]);
    expect(await second.replay(randomUUID())).toEqual([]);
    await expect(second.replay(executionId, 'not-an-id')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await second.close();
  });
});
