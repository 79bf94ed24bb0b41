import { randomUUID } from 'node:crypto';
import { WeftError } from '@weft/shared/errors';
import type { DeadLetterJobData } from '@weft/shared/jobs';
import { QUEUES } from '@weft/shared/ports';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { DEAD_LETTER_SCAN_PAGE } from './dead-letters.routes.js';

let services: TestServices;
let t: TestApp;
let mine: { id: string; apiKey: string };
let theirs: { id: string; apiKey: string };

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  mine = await t.createWorkspace('dead letters');
  theirs = await t.createWorkspace('other');
});

let engineReplay: TestApp['deps']['engine']['replay'];
beforeAll(() => {
  engineReplay = t.deps.engine.replay;
});
afterEach(() => {
  t.deps.engine.replay = engineReplay;
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

interface Letter {
  id: string;
  executionId: string;
  nodeId: string;
  error: { code: string; category: string; message: string };
  attempts: number;
  failedAt: string;
  status: 'open' | 'resolved';
  resolvedAt: string | null;
}

/** Parks a dead letter the way the node processor does; returns its id. */
async function park(workspaceId: string, nodeId = 'summary', extra: Partial<DeadLetterJobData> = {}): Promise<string> {
  const data: DeadLetterJobData = {
    executionId: randomUUID(),
    workspaceId,
    nodeId,
    error: { code: 'llm_server_error', category: 'transient', message: 'openai: upstream 500' },
    attempts: 3,
    failedAt: new Date().toISOString(),
    ...extra,
  };
  const jobId = `${data.executionId}.${nodeId}.dead`;
  await t.deps.queue.add({ queue: QUEUES.dead, name: 'dead-letter', data, jobId });
  return jobId;
}

async function list(key: string, query = ''): Promise<Letter[]> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/dead-letters${query}`, headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Letter[] }>().items;
}

function replay(key: string, id: string) {
  return t.app.inject({ method: 'POST', url: `/v1/dead-letters/${encodeURIComponent(id)}/replay`, headers: auth(key) });
}

describe('GET /v1/dead-letters', () => {
  it("lists the caller's dead letters only, newest first, up to limit", async () => {
    const first = await park(mine.id, 'research', { attempts: 1, error: { code: 'llm_auth', category: 'permanent', message: 'bad key' } });
    const foreign = await park(theirs.id, 'research');
    const second = await park(mine.id, 'summary');
    // A letter of some other shape is skipped, never a 500.
    await t.deps.queue.add({ queue: QUEUES.dead, name: 'dead-letter', data: { junk: true }, jobId: 'junk.dead' });

    const items = await list(mine.apiKey);
    expect(items.map((l) => l.id)).toEqual([second, first]);
    expect(items[1]).toEqual({
      id: first,
      executionId: first.split('.')[0],
      nodeId: 'research',
      error: { code: 'llm_auth', category: 'permanent', message: 'bad key' },
      attempts: 1,
      failedAt: expect.any(String),
      // No run of its node completed since: still open.
      status: 'open',
      resolvedAt: null,
    });
    expect((await list(mine.apiKey, '?limit=1')).map((l) => l.id)).toEqual([second]);
    expect((await list(theirs.apiKey)).map((l) => l.id)).toEqual([foreign]);
    expect(t.logs.join('')).toContain('dead letters with an unexpected shape were skipped');
  });

  it("finds the caller's letters behind more than a page of another workspace's", async () => {
    const fresh = await t.createWorkspace('buried');
    const buried = await park(fresh.id, 'deep');
    for (let i = 0; i < DEAD_LETTER_SCAN_PAGE + 5; i++) await park(theirs.id, `n${i}`);
    expect((await list(fresh.apiKey)).map((l) => l.id)).toEqual([buried]);
  });

  it('needs a workspace key and a sane limit', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/dead-letters' })).statusCode).toBe(401);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/dead-letters?limit=0', headers: auth(mine.apiKey) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_request');
    expect((await t.app.inject({ method: 'GET', url: '/v1/dead-letters?status=closed', headers: auth(mine.apiKey) })).statusCode).toBe(400);
  });
});

describe('POST /v1/dead-letters/:id/replay', () => {
  it('answers 404 for an unknown id, a malformed one, and a letter of another workspace', async () => {
    const foreign = await park(theirs.id, 'secret');
    t.deps.engine.replay = vi.fn(() => Promise.resolve());
    for (const id of [`${randomUUID()}.summary.dead`, 'wait', 'nope', foreign]) {
      const res = await replay(mine.apiKey, id);
      expect(res.statusCode, id).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect(t.deps.engine.replay).not.toHaveBeenCalled();
    expect((await list(theirs.apiKey)).map((l) => l.id)).toContain(foreign);
  });

  it("answers the engine's not_found when the letter's execution is gone, and keeps the letter", async () => {
    const id = await park(mine.id, 'unreplayable');
    const res = await replay(mine.apiKey, id);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    expect((await list(mine.apiKey)).map((l) => l.id)).toContain(id);
  });

  it('re-runs the node through replayNode, answers 202 and removes the letter', async () => {
    const id = await park(mine.id, 'replayed');
    const executionId = id.split('.')[0];
    const replayNode = vi.fn(() => Promise.resolve());
    t.deps.engine.replay = replayNode;
    const res = await replay(mine.apiKey, id);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ executionId, nodeId: 'replayed', outcome: 'replayed' });
    expect(replayNode).toHaveBeenCalledExactlyOnceWith({ workspaceId: mine.id, executionId, nodeId: 'replayed' });
    expect((await list(mine.apiKey)).map((l) => l.id)).not.toContain(id);
    expect((await replay(mine.apiKey, id)).statusCode).toBe(404);
    expect(replayNode).toHaveBeenCalledTimes(1);
  });

  it('keeps the letter when the replay is refused', async () => {
    const id = await park(mine.id, 'moved-on');
    t.deps.engine.replay = () => Promise.reject(new WeftError('CONFLICT', 'the execution is no longer failed'));
    const res = await replay(mine.apiKey, id);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('conflict');
    expect(await t.deps.queue.get(QUEUES.dead, id)).toMatchObject({ id, data: { nodeId: 'moved-on', workspaceId: mine.id } });
  });
});
