/**
 * Embedded mode after a kill (`npm start`: PGlite, in-memory queue, state and events): the real
 * process is SIGKILLed while an execution waits on a 12 s timer, an approval and a webhook, and
 * restarted on the same data folder. The waits carry on in their spell: the timer keeps its
 * deadline, the approval its token, the webhook its resume link; the SSE history from before the
 * kill is still replayed, under the same ids. A 640 KB output (over the claim-check threshold: kept
 * apart, in memory, until flushed to PGlite) is still read whole by its downstream node after the
 * restart, from PGlite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { localApiKey, startEmbedded } from '../helpers/embedded.js';
import type { WeftProcess } from '../helpers/processes.js';
import { readSseUntil, type SseEvent } from '../helpers/sse-until.js';
import { PROCESS_READY_MS } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait-for.js';

interface NodeView { nodeId: string; status: string; startedAt: string | null; finishedAt: string | null; resumeUrl?: string; output?: unknown }

/** Node big's output: 10,000 numbers left-padded to 63 characters, joined by '|' (over 256 KiB). */
const BIG_ITEMS = 10_000;
const BIG_LENGTH = BIG_ITEMS * 64 - 1;

describe('embedded mode after a kill', () => {
  let dataDir: string;
  let proc: WeftProcess | undefined;
  let baseUrl: string;
  let apiKey: string;

  async function boot(): Promise<void> {
    ({ proc, baseUrl } = await startEmbedded({
      dataDir,
      env: {
        // The recovery sweep looks often, so that the restart's rebuild comes quickly.
        WEFT_SWEEP_INTERVAL_MS: '300', WEFT_SWEEP_MIN_AGE_MS: '300',
        // Building 640 KB in JSONata must not fail for time on a loaded machine.
        WEFT_EXPRESSION_TIMEOUT_MS: '60000',
      },
    }));
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-embedded-restart-'));
    await boot();
    apiKey = await localApiKey(dataDir);
  }, PROCESS_READY_MS + 30_000);

  afterAll(async () => {
    await proc?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const nodesOf = async (executionId: string): Promise<Map<string, NodeView>> => {
    const r = await apiClient(baseUrl, apiKey)('GET', `/v1/executions/${executionId}`);
    return new Map(((r.body?.nodes ?? []) as NodeView[]).map((n) => [n.nodeId, n]));
  };
  const waitingEvents = (events: SseEvent[]): Map<string, SseEvent> =>
    new Map(events.filter((e) => e.event === 'node.waiting').map((e) => [e.data.nodeId as string, e]));

  it('keeps the timer deadline, the approval token, the resume link, the SSE history and large outputs', async () => {
    // boot() listens on a new port: every call goes to the current one.
    const call: ReturnType<typeof apiClient> = (...args) => apiClient(baseUrl, apiKey)(...args);
    const flow = await call('POST', '/v1/flows', {
      name: 'waits-survive-a-kill',
      nodes: [
        { id: 'pause', type: 'wait', durationMs: 12_000 },
        { id: 'approve', type: 'wait', event: 'approval' },
        { id: 'hook', type: 'wait', event: 'webhook' },
        { id: 'big', type: 'transform', expression: `$join([0..${BIG_ITEMS - 1}].$pad($string($), -63, "."), "|")` },
        { id: 'done', type: 'transform', expression: '{"ok": nodes.approve.ok, "from": nodes.hook.from, "big": $length(nodes.big), "last": $substring(nodes.big, -4)}' },
      ],
      edges: [{ from: 'pause', to: 'done' }, { from: 'approve', to: 'done' }, { from: 'hook', to: 'done' }, { from: 'big', to: 'done' }],
    });
    expect(flow.status, JSON.stringify(flow.body)).toBe(201);
    const start = await call('POST', `/v1/flows/${flow.body.id as string}/executions`, {});
    const executionId = start.body.executionId as string;
    const sseUrl = (): string => `${baseUrl}/v1/executions/${executionId}/events`;
    const auth = (): Record<string, string> => ({ authorization: `Bearer ${apiKey}` });

    const before = await readSseUntil(sseUrl(), auth(), (es) => waitingEvents(es).size === 3);
    const waitedBefore = waitingEvents(before);
    const nodesBefore = await nodesOf(executionId);
    const until = waitedBefore.get('pause')?.data.data.until as string;
    const token = waitedBefore.get('approve')?.data.data.token as string;
    const hookLink = nodesBefore.get('hook')?.resumeUrl ?? '';
    expect(until).toBeTruthy();
    expect(token).toBeTruthy();
    expect(hookLink).toContain('/v1/resume/');
    // The large output reached PGlite (a node's history reads node_runs): the kill loses its in-memory copy.
    await waitFor(async () => {
      const runs = await call('GET', `/v1/flows/${flow.body.id as string}/nodes/big/runs`);
      return (runs.body.items as Array<{ executionId: string; status: string }>).some((r) => r.executionId === executionId && r.status === 'completed');
    }, { timeoutMs: 30_000, message: 'large output flushed to PGlite' });
    expect((await nodesOf(executionId)).get('big')?.output).toEqual({ ref: expect.stringContaining(executionId) as unknown, size: BIG_LENGTH + 2 });
    // The waits are recorded (the status flush comes after their events are stored): now a crash.
    await waitFor(async () => {
      const listed = await call('GET', '/v1/executions?status=waiting&limit=100');
      return (listed.body.items as Array<{ id: string }>).some((e) => e.id === executionId);
    }, { timeoutMs: 20_000, message: 'waiting status flushed to PGlite' });
    expect(await proc?.stop('SIGKILL')).toBeNull();
    await boot();

    // The rebuilt execution waits again, in the same spells.
    // (The timer may have passed its deadline during the restart: then it ends as soon as it is restored.)
    let last = new Map<string, NodeView>();
    const nodesAfter = await waitFor(async () => {
      last = await nodesOf(executionId);
      const restored = (id: string): boolean => last.get(id)?.status === 'waiting' || (id === 'pause' && last.get(id)?.status === 'completed');
      return ['pause', 'approve', 'hook'].every(restored) ? last : null;
    }, { timeoutMs: 30_000, message: 'waits restored after the restart' }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify([...last.values()])}\n${proc?.output() ?? ''}`);
    });
    for (const id of ['pause', 'approve', 'hook']) expect(nodesAfter.get(id)?.startedAt, id).toBe(nodesBefore.get(id)?.startedAt);
    expect(nodesAfter.get('hook')?.resumeUrl?.split('/v1/resume/')[1]).toBe(hookLink.split('/v1/resume/')[1]);

    // History: everything from before the kill, same ids, then the recovery and the waits again.
    const after = await readSseUntil(sseUrl(), auth(), (es) => {
      const recovered = es.findIndex((e) => e.event === 'execution.resumed' && e.data.data.recovered === true);
      return recovered !== -1 && waitingEvents(es.slice(recovered)).size === 3;
    }, 30_000);
    expect(after.slice(0, before.length).map((e) => `${e.id} ${e.event}`)).toEqual(before.map((e) => `${e.id} ${e.event}`));
    const recoveredAt = after.findIndex((e) => e.event === 'execution.resumed' && e.data.data.recovered === true);
    const waitedAgain = waitingEvents(after.slice(recoveredAt));
    // The timer keeps its deadline (not 12 s from the restart); the approval keeps its token.
    expect(waitedAgain.get('pause')?.data.data.until).toBe(until);
    expect(waitedAgain.get('approve')?.data.data.token).toBe(token);

    // The token and the link from before the kill still resume their waits.
    const approved = await call('POST', `/v1/executions/${executionId}/resume`, { nodeId: 'approve', token, data: { ok: true } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    const hooked = await apiClient(baseUrl)('POST', `/v1/resume/${hookLink.split('/v1/resume/')[1] ?? ''}`, { from: 'partner' });
    expect(hooked.status, JSON.stringify(hooked.body)).toBe(202);
    const done = await waitFor(async () => {
      const r = await call('GET', `/v1/executions/${executionId}`);
      return r.body.status === 'completed' || r.body.status === 'failed' ? r.body : null;
    }, { timeoutMs: 30_000, message: 'execution completed after the restart' });
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.output).toEqual({ done: { ok: true, from: 'partner', big: BIG_LENGTH, last: '9999' } });
    const full = await call('GET', `/v1/executions/${executionId}?include=outputs`);
    const big = (full.body.nodes as Array<NodeView & { output: unknown }>).find((n) => n.nodeId === 'big')?.output;
    expect(typeof big === 'string' ? big.length : big).toBe(BIG_LENGTH);
    // The timer ended at its deadline or later (never before it).
    const pause = (done.nodes as NodeView[]).find((n) => n.nodeId === 'pause');
    expect(Date.parse(pause?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(until));
  }, 2 * PROCESS_READY_MS + 90_000);
});
