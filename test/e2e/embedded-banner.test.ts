/**
 * Embedded mode prints the local API key and the admin token once, on the terminal banner, for
 * a person to copy. The JSON log stream (the same stdout, collected by whatever ships logs)
 * must never carry them, nor the master key, whole or in pieces: at debug level, through
 * requests that present them in headers and in `?token=`, and through a flow on the mock.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { findLeaks } from '../helpers/leak-scan.js';
import { freePort, startWeftProcess, waitForHttp, type WeftProcess } from '../helpers/processes.js';
import { PROCESS_READY_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';
import { readSse } from './scenarios.js';

const BANNER_TITLE = 'Weft is running in embedded mode at';

describe('embedded mode: the banner shows the secrets, the JSON logs never do', () => {
  let dataDir: string;
  let proc: WeftProcess;
  let baseUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-embedded-banner-'));
    const port = await freePort();
    proc = startWeftProcess({
      name: 'embedded',
      script: 'api/embedded/src/main.ts',
      env: { REDIS_URL: undefined, DATABASE_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined, WEFT_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'debug' },
    });
    baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/health/ready`, proc, PROCESS_READY_MS);
    await waitFor(() => proc.output().includes('Create and run the 3-node example flow'), { timeoutMs: 30_000 });
  }, PROCESS_READY_MS + 30_000);

  afterAll(async () => {
    await proc?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the API key and admin token on the banner once, and never in a JSON log line', async () => {
    const apiKey = (JSON.parse(readFileSync(join(dataDir, 'local-workspace.json'), 'utf8')) as { apiKey: string }).apiKey;
    const adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const masterKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();

    // Present every secret the ways a client does, including the wrong ways.
    const call = apiClient(baseUrl, apiKey);
    const flow = await call('POST', '/v1/flows', {
      name: 'banner',
      nodes: [{ id: 'ask', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Hello' }],
      edges: [],
    });
    expect(flow.status).toBe(201);
    const run = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, { input: {}, wait: true });
    expect(run.body.status, JSON.stringify(run.body)).toBe('completed');
    const sse = await readSse(`${baseUrl}/v1/executions/${run.body.id as string}/events?token=${encodeURIComponent(apiKey)}`, {});
    expect(sse.status).toBe(200);
    expect((await apiClient(baseUrl)('POST', '/v1/workspaces', { name: 'second' }, { authorization: `Bearer ${adminToken}` })).status).toBe(201);
    expect((await apiClient(baseUrl)('GET', '/v1/flows', undefined, { authorization: `Bearer ${adminToken}` })).status).toBe(401);
    expect((await apiClient(baseUrl)('GET', `/v1/flows?token=${apiKey}`)).status).toBe(401);
    expect((await apiClient(baseUrl)('POST', `/v1/resume/${apiKey}`, {})).status).toBeGreaterThanOrEqual(400);

    // The log lines of the last request reach the pipe after its answer.
    await waitFor(() => proc.output().includes('/v1/resume/'), { timeoutMs: 10_000, message: 'the last request logged' });
    const lines = proc.output().split('\n');
    const isJson = (line: string): boolean => {
      try {
        return typeof JSON.parse(line) === 'object';
      } catch {
        return false;
      }
    };
    const logLines = lines.filter(isJson);
    const bannerLines = lines.filter((line) => !isJson(line));
    // The log stream is there and saw these requests.
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.join('\n')).toContain('"url":"/v1/resume/[redacted]"');
    // The banner, printed once, shows both.
    expect(bannerLines.filter((line) => line.includes(BANNER_TITLE))).toHaveLength(1);
    expect(bannerLines.join('\n')).toContain(`API key      ${apiKey}`);
    expect(bannerLines.join('\n')).toContain(`admin token  ${adminToken}`);
    // Nothing else than the banner and the log stream was written.
    expect(bannerLines.filter((line) => line.trim() !== '' && !line.startsWith('  ') && !line.startsWith(BANNER_TITLE) && !line.startsWith('Create and run'))).toEqual([]);

    expect(findLeaks({ apiKey, adminToken, masterKey }, Object.fromEntries(logLines.map((line, i) => [`log line ${i}`, line])))).toEqual([]);
  }, 60_000);
});
