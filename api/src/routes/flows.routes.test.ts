import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidFlowFixtures, loadFlowFixture } from '../../../test/fixtures/flows/flow-fixtures.js';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let apiKey: string;
let otherKey: string;

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  ({ apiKey } = await t.createWorkspace('flows'));
  ({ apiKey: otherKey } = await t.createWorkspace('other'));
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

interface FlowAnswer {
  id: string;
  name: string;
  version: number;
  nodes: Array<{ id: string }>;
  edges: unknown[];
  createdAt: string;
  updatedAt: string;
}

async function createFlow(key: string, flow: unknown = loadFlowFixture('chain')): Promise<FlowAnswer> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(key), payload: flow as object });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<FlowAnswer>();
}

describe('flows', () => {
  it('creates, reads, updates (version 2), reads version 1 and deletes a flow', async () => {
    const chain = loadFlowFixture('chain') as { name: string; nodes: unknown[]; edges: unknown[] };
    const created = await createFlow(apiKey, chain);
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'chain',
      version: 1,
      nodes: chain.nodes,
      edges: chain.edges,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const got = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}`, headers: auth(apiKey) });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(created);

    const diamond = loadFlowFixture('diamond') as { nodes: unknown[]; edges: unknown[] };
    const updated = await t.app.inject({
      method: 'PUT',
      url: `/v1/flows/${created.id}`,
      headers: auth(apiKey),
      payload: { nodes: diamond.nodes, edges: diamond.edges },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json()).toMatchObject({ id: created.id, name: 'chain', version: 2, nodes: diamond.nodes, edges: diamond.edges });

    const renamed = await t.app.inject({
      method: 'PUT',
      url: `/v1/flows/${created.id}`,
      headers: auth(apiKey),
      payload: { ...diamond, name: 'renamed' },
    });
    expect(renamed.json()).toMatchObject({ name: 'renamed', version: 3 });

    const latest = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}`, headers: auth(apiKey) });
    expect(latest.json()).toMatchObject({ version: 3, name: 'renamed' });

    const v1 = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}?version=1`, headers: auth(apiKey) });
    expect(v1.statusCode).toBe(200);
    expect(v1.json()).toMatchObject({ version: 1, name: 'chain', nodes: chain.nodes });

    const missingVersion = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}?version=9`, headers: auth(apiKey) });
    expect(missingVersion.statusCode).toBe(404);
    const badVersion = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}?version=zero`, headers: auth(apiKey) });
    expect(badVersion.statusCode).toBe(400);
    expect(badVersion.json().error).toMatchObject({ code: 'invalid_request', details: [{ path: '/version' }] });

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/flows/${created.id}`, headers: auth(apiKey) });
    expect(del.statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `/v1/flows/${created.id}`, headers: auth(apiKey) });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('not_found');
    const delAgain = await t.app.inject({ method: 'DELETE', url: `/v1/flows/${created.id}`, headers: auth(apiKey) });
    expect(delAgain.statusCode).toBe(404);
  });

  it('lists flows page by page', async () => {
    const { apiKey: key } = await t.createWorkspace('lister');
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await createFlow(key, { ...(loadFlowFixture('chain') as object), name: `f${i}` })).id);
    const first = await t.app.inject({ method: 'GET', url: '/v1/flows?limit=2', headers: auth(key) });
    expect(first.statusCode).toBe(200);
    const page1 = first.json<{ items: FlowAnswer[]; nextCursor: string | null }>();
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const second = await t.app.inject({ method: 'GET', url: `/v1/flows?limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`, headers: auth(key) });
    const page2 = second.json<{ items: FlowAnswer[]; nextCursor: string | null }>();
    expect(page2.items).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    expect(new Set([...page1.items, ...page2.items].map((f) => f.id))).toEqual(ids);
  });

  it("answers 404 for another workspace's flow, for every verb", async () => {
    const mine = await createFlow(apiKey);
    const url = `/v1/flows/${mine.id}`;
    const flow = loadFlowFixture('chain') as object;
    for (const [method, payload] of [['GET', undefined], ['PUT', flow], ['DELETE', undefined]] as const) {
      const res = await t.app.inject({ method, url, headers: auth(otherKey), ...(payload ? { payload } : {}) });
      expect(res.statusCode, method).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    const list = await t.app.inject({ method: 'GET', url: '/v1/flows', headers: auth(otherKey) });
    expect(list.json().items.map((f: FlowAnswer) => f.id)).not.toContain(mine.id);
    const still = await t.app.inject({ method: 'GET', url, headers: auth(apiKey) });
    expect(still.json()).toMatchObject({ version: 1 });
  });

  it('answers 404 for a missing flow and a malformed id alike', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', '1']) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/flows/${id}`, headers: auth(apiKey), payload: loadFlowFixture('chain') as object });
      expect(res.statusCode, id).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });

  it('answers 400 invalid_flow with every problem and its path', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/flows',
      headers: auth(apiKey),
      payload: {
        name: 'bad',
        nodes: [
          { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o', prompt: 'hi' },
          { id: 'b', type: 'llm', provider: 'openai', model: 'gpt-4o', prompt: '{{zz}}' },
          { id: 'c', type: 'teleport' },
        ],
        edges: [{ from: 'a', to: 'b' }],
      },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_flow');
    expect(error.details.length).toBeGreaterThanOrEqual(2);
    for (const detail of error.details) expect(detail).toEqual({ path: expect.stringMatching(/^\//), message: expect.any(String), code: expect.stringMatching(/^flow_/) });
    const paths = error.details.map((d: { path: string }) => d.path);
    expect(paths.some((p: string) => p.startsWith('/nodes/1'))).toBe(true);
    expect(paths.some((p: string) => p.startsWith('/nodes/2'))).toBe(true);
  });

  it.each(invalidFlowFixtures().map((f) => [f.name, f] as const))('rejects the invalid fixture %s as invalid_flow', async (_name, fixture) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/flows',
      headers: { ...auth(apiKey), 'content-type': 'application/json' },
      payload: JSON.stringify(fixture.flow),
    });
    expect(res.statusCode, res.body).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_flow');
    expect(error.details).toContainEqual(expect.objectContaining({ path: fixture.expect.path, code: fixture.expect.code.toLowerCase() }));
  });

  it('rejects a JSONata expression reading nodes.<id> of a node that is not upstream, as it does a {{ref}}', async () => {
    const flow = {
      name: 'jsonata-refs',
      nodes: [
        { id: 'a', type: 'transform', expression: 'input.x' },
        { id: 'b', type: 'transform', expression: 'input.y' },
        { id: 'c', type: 'transform', expression: '{ "a": nodes.a, "b": nodes.b }' },
      ],
      edges: [{ from: 'a', to: 'c' }],
    };
    const res = await t.app.inject({ method: 'POST', url: '/v1/flows', headers: auth(apiKey), payload: flow });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'invalid_flow',
      details: [{ path: '/nodes/2/expression', code: 'flow_invalid_ref', message: "node 'c' references 'b', which is not upstream of it (nodes.b)" }],
    });
    // Made upstream, the same expression is accepted.
    await createFlow(apiKey, { ...flow, edges: [...flow.edges, { from: 'b', to: 'c' }] });
  });

  it('validates updates like creations', async () => {
    const mine = await createFlow(apiKey);
    const res = await t.app.inject({ method: 'PUT', url: `/v1/flows/${mine.id}`, headers: auth(apiKey), payload: { nodes: [], edges: [] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_flow', details: [expect.objectContaining({ path: '/nodes' })] });
    const unchanged = await t.app.inject({ method: 'GET', url: `/v1/flows/${mine.id}`, headers: auth(apiKey) });
    expect(unchanged.json().version).toBe(1);
  });
});
