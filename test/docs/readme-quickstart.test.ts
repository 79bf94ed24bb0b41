/**
 * The README's quickstart flow (and the embedded banner's copy of it) is a valid flow whose
 * inputSchema refuses a start without a topic (400 invalid_input at `/input`) and accepts the
 * README's own start: the README's commands say what the api answers.
 */
import { readFileSync } from 'node:fs';
import type { WeftConfig } from '@weft/shared/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner } from '../../api/embedded/src/bootstrap.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestServices, type TestServices } from '../helpers/services.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The JSON after `-d '` of the first command that posts a flow named `name`. */
function postedJson(text: string, name: string): unknown {
  const at = new RegExp(`"name": ?"${name}"`).exec(text)?.index ?? -1;
  const open = text.lastIndexOf("-d '", at) + "-d '".length;
  const close = text.indexOf("'", open);
  return JSON.parse(text.slice(open, close)) as unknown;
}

describe("the README's quickstart flow", () => {
  let services: TestServices;
  let t: TestApp;
  let key: string;
  const flow = postedJson(README, 'research') as { inputSchema?: unknown };

  beforeAll(async () => {
    services = await createTestServices();
    t = await createTestApp({ databaseUrl: services.databaseUrl });
    key = (await t.createWorkspace('readme')).apiKey;
  });

  afterAll(async () => {
    await t?.close();
    await services?.cleanup();
  });

  it('is the flow the embedded banner prints', () => {
    const printed = banner({ url: 'http://127.0.0.1:3000', config: { dataDir: '.weft', adminToken: 'admin' } as WeftConfig, local: { workspaceId: 'w', apiKey: 'k', mock: null } });
    expect(postedJson(printed, 'research')).toEqual(flow);
    expect(flow.inputSchema).toBeDefined();
  });

  it('is created, refuses a start without a topic with 400 invalid_input, and starts with the README input', async () => {
    const inject = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` }, payload });
    const created = await inject('/v1/flows', flow);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const bare = await inject(`/v1/flows/${id}/executions`, {});
    expect(bare.statusCode, bare.body).toBe(400);
    expect(bare.json()).toMatchObject({ error: { code: 'invalid_input', details: [{ path: '/input', code: 'input_schema_mismatch' }] } });
    // The README's start, as written there (without waiting: no worker runs here).
    const readmeStart = /-d '(\{"input":\{"topic":[^']*\})'/.exec(README)?.[1] ?? '';
    const { wait: _wait, ...body } = JSON.parse(readmeStart) as Record<string, unknown>;
    const started = await inject(`/v1/flows/${id}/executions`, body);
    expect(started.statusCode, started.body).toBe(202);
  });
});
