/**
 * A schedule in embedded mode (`npm start`: PGlite, in-memory queue) survives a restart: the
 * process ticks a one-second cron, is SIGKILLed, and restarted on the same data folder; the
 * schedule is re-armed from PGlite and keeps starting one execution per tick time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { localApiKey, startEmbedded } from '../helpers/embedded.js';
import type { WeftProcess } from '../helpers/processes.js';
import { PROCESS_READY_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

interface Tick { tickAt: string; outcome: string; executionId: string | null }

describe('a schedule in embedded mode', () => {
  let dataDir: string;
  let proc: WeftProcess | undefined;
  let baseUrl: string;
  let apiKey: string;

  async function boot(): Promise<void> {
    ({ proc, baseUrl } = await startEmbedded({ dataDir, env: { WEFT_SCHEDULE_MIN_INTERVAL_SECONDS: '1' } }));
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-embedded-schedule-'));
    await boot();
    apiKey = await localApiKey(dataDir);
  }, PROCESS_READY_MS + 30_000);

  afterAll(async () => {
    await proc?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps ticking after the process is killed and restarted', async () => {
    const call: ReturnType<typeof apiClient> = (...args) => apiClient(baseUrl, apiKey)(...args);
    const flow = await call('POST', '/v1/flows', { name: 'tick', nodes: [{ id: 'echo', type: 'transform', expression: 'input' }], edges: [] });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const schedule = await call('POST', `/v1/flows/${flow.body.id as string}/schedules`, { cron: '* * * * * *', input: { n: 1 } });
    expect(schedule.status, JSON.stringify(schedule.body)).toBe(201);
    const scheduleId = schedule.body.id as string;
    const started = async (): Promise<Tick[]> => {
      const r = await call('GET', `/v1/schedules/${scheduleId}/ticks?limit=100`);
      return (r.body.items as Tick[]).filter((t) => t.outcome === 'started');
    };
    await waitFor(async () => (await started()).length >= 2, { timeoutMs: 30_000, message: 'two ticks before the kill' });

    await proc?.stop('SIGKILL');
    const restartedAt = Date.now();
    await boot();
    const after = await waitFor(async () => {
      const ticks = (await started()).filter((t) => Date.parse(t.tickAt) > restartedAt);
      return ticks.length >= 2 ? ticks : null;
    }, { timeoutMs: 60_000, message: 'two ticks after the restart' });
    const all = await started();
    expect(new Set(all.map((t) => t.tickAt)).size).toBe(all.length);
    expect(new Set(all.map((t) => t.executionId)).size).toBe(all.length);
    const view = await call('GET', `/v1/executions/${after[0]?.executionId ?? ''}`);
    expect(view.body).toMatchObject({ scheduleId, input: { n: 1 } });
  }, PROCESS_READY_MS + 120_000);
});
