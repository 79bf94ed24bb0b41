import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices, type TestServices } from '../../../test/helpers/services.js';
import { createTestApp, type TestApp } from '../../../test/helpers/test-app.js';

let services: TestServices;
let t: TestApp;
let ws: { id: string; apiKey: string };
let other: { id: string; apiKey: string };

beforeAll(async () => {
  services = await createTestServices();
  t = await createTestApp({ databaseUrl: services.databaseUrl });
  ws = await t.createWorkspace('settings');
  other = await t.createWorkspace('other');
});

afterAll(async () => {
  await t?.close();
  await services?.cleanup();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

describe('GET/PATCH /v1/workspace', () => {
  it('shows the workspace of the key, private networks refused by default', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(ws.apiKey) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: ws.id, name: 'settings', createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), httpAllowPrivateNetworks: false, fallbackPrice: null });
  });

  it('turns private networks on and off for this workspace only', async () => {
    const on = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(ws.apiKey), payload: { httpAllowPrivateNetworks: true } });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({ id: ws.id, httpAllowPrivateNetworks: true });
    expect((await t.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(ws.apiKey) })).json().httpAllowPrivateNetworks).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(other.apiKey) })).json()).toMatchObject({ id: other.id, httpAllowPrivateNetworks: false });
    expect(await t.deps.database.repos.workspaces.getSettings(ws.id)).toEqual({ httpAllowPrivateNetworks: true, fallbackPrice: null });

    const off = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(ws.apiKey), payload: { httpAllowPrivateNetworks: false } });
    expect(off.json().httpAllowPrivateNetworks).toBe(false);
  });

  it('sets a fallback price (reasoning and cached default to output and input), keeps it beside the other settings, and clears it', async () => {
    const set = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(other.apiKey), payload: { fallbackPrice: { inputPer1M: 2, outputPer1M: 8 } } });
    expect(set.statusCode, set.body).toBe(200);
    const fallbackPrice = { inputPer1M: 2, outputPer1M: 8, reasoningPer1M: 8, cachedPer1M: 2 };
    expect(set.json()).toMatchObject({ id: other.id, fallbackPrice });
    const both = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(other.apiKey), payload: { httpAllowPrivateNetworks: false } });
    expect(both.json().fallbackPrice).toEqual(fallbackPrice);
    expect((await t.app.inject({ method: 'GET', url: '/v1/workspace', headers: auth(ws.apiKey) })).json().fallbackPrice).toBeNull();
    const cleared = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(other.apiKey), payload: { fallbackPrice: null } });
    expect(cleared.json().fallbackPrice).toBeNull();
  });

  it('validates the patch', async () => {
    const cases: Array<{ payload: unknown; path: string }> = [
      { payload: {}, path: '' },
      { payload: { httpAllowPrivateNetworks: 'yes' }, path: '/httpAllowPrivateNetworks' },
      { payload: { httpAllowPrivateNetworks: true, name: 'renamed' }, path: '/name' },
      // A price or null: the union's answer points at the price.
      { payload: { fallbackPrice: { inputPer1M: -1, outputPer1M: 1 } }, path: '/fallbackPrice' },
      { payload: { fallbackPrice: { inputPer1M: 1 } }, path: '/fallbackPrice' },
      { payload: { fallbackPrice: { inputPer1M: 1, outputPer1M: 1, extra: 1 } }, path: '/fallbackPrice' },
      { payload: { fallbackPrice: 3 }, path: '/fallbackPrice' },
    ];
    for (const { payload, path } of cases) {
      const res = await t.app.inject({ method: 'PATCH', url: '/v1/workspace', headers: auth(ws.apiKey), payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(res.json().error.details.map((d: { path: string }) => d.path), JSON.stringify(payload)).toContain(path);
    }
  });

  it('needs a workspace key, not the admin token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/workspace' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'PATCH', url: '/v1/workspace', payload: { httpAllowPrivateNetworks: true } })).statusCode).toBe(401);
  });
});
