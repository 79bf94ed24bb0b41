/**
 * End-to-end branch scenarios (condition and switch nodes), shared by the distributed and
 * embedded suites. Every LLM prompt of the branch fixtures starts with `[<node id>]`, so the
 * requests the mock provider saw during a run (it is reset before each) tell which LLM nodes
 * ran. Runs are sequential.
 */
import { expect } from 'vitest';
import { apiClient } from '../helpers/http.js';
import { waitFor } from '../helpers/wait-for.js';
import { createFlow, loadFixture, readSse, type Target } from './scenarios.js';

type Ev = Record<string, any>;

export interface BranchRun {
  executionId: string;
  /** GET /v1/executions/:id once finished. */
  doc: any;
  /** Node id → status, from that document. */
  statuses: Record<string, string>;
  /** Node id → output, from that document. */
  outputs: Record<string, unknown>;
  /** Every event of the execution, replayed over SSE, in order. */
  events: Ev[];
  /** The prompts the mock provider saw (JSON of the messages), in arrival order. */
  prompts: string[];
  /** Ids of the LLM nodes whose request reached the mock provider (the `[id]` prompt markers). */
  llmCalls: string[];
}

/**
 * Holds the provider calls whose prompt contains `marker` at the target's gate until the running
 * execution's document satisfies `until`: what the held node does comes after that, whatever
 * the machine's timing.
 */
export interface HoldCalls {
  marker: string;
  until: (doc: any) => boolean;
}

/** Starts the flow, waits for the end, and gathers the document, the events and the provider calls. */
export async function runBranchFlow(target: Target, flowId: string, input: Record<string, unknown>, hold?: HoldCalls): Promise<BranchRun> {
  const call = apiClient(target.baseUrl, target.apiKey);
  target.mock.reset();
  let executionId: string;
  if (hold) {
    target.gate.hold((body) => body.includes(hold.marker));
    const started = await call('POST', `/v1/flows/${flowId}/executions`, { input });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    executionId = started.body.executionId as string;
    await waitFor(async () => hold.until((await call('GET', `/v1/executions/${executionId}`)).body), { timeoutMs: 30_000, message: `before ${hold.marker}'s call goes on` });
    target.gate.open();
    await waitFor(async () => (await call('GET', `/v1/executions/${executionId}`)).body.status === 'completed', { timeoutMs: 30_000, message: 'execution completed' });
  } else {
    const started = await call('POST', `/v1/flows/${flowId}/executions`, { input, wait: true, timeoutMs: 30_000 });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    executionId = started.body.id as string;
  }
  const doc = (await call('GET', `/v1/executions/${executionId}`)).body;
  expect(doc.status, JSON.stringify(doc)).toBe('completed');
  const sse = await readSse(`${target.baseUrl}/v1/executions/${executionId}/events`, { authorization: `Bearer ${target.apiKey}` });
  expect(sse.status).toBe(200);
  const statuses: Record<string, string> = {};
  const outputs: Record<string, unknown> = {};
  for (const node of doc.nodes) {
    statuses[node.nodeId] = node.status;
    outputs[node.nodeId] = node.output;
  }
  const prompts = target.mock.requests.map((r) => JSON.stringify((r.body as any)?.messages ?? null));
  // The first bracketed word of a prompt is its marker (answers embedded later start with `[model]`).
  const llmCalls = prompts.map((p) => /\[([A-Za-z][\w-]*)\]/.exec(p)?.[1] ?? '?');
  return { executionId, doc, statuses, outputs, events: sse.frames.map((f) => f.data as Ev), prompts, llmCalls };
}

function position(events: Ev[], type: string, nodeId: string): number {
  return events.findIndex((e) => e.type === type && e.nodeId === nodeId);
}

/**
 * Each node ran exactly once (one node.started, one node.completed) or was skipped exactly once
 * (one node.skipped, never started), as the document says; the execution completed last.
 */
export function assertRanOrSkipped(run: BranchRun, expected: { ran: string[]; skipped: string[] }): void {
  const statusOf = Object.fromEntries([...expected.ran.map((id) => [id, 'completed']), ...expected.skipped.map((id) => [id, 'skipped'])]);
  expect(run.statuses).toEqual(statusOf);
  const count = (type: string, nodeId: string): number => run.events.filter((e) => e.type === type && e.nodeId === nodeId).length;
  for (const id of expected.ran) {
    expect([count('node.started', id), count('node.completed', id), count('node.skipped', id)], `events of ${id}`).toEqual([1, 1, 0]);
  }
  for (const id of expected.skipped) {
    expect([count('node.started', id), count('node.completed', id), count('node.skipped', id)], `events of ${id}`).toEqual([0, 0, 1]);
    const skipped = run.events.find((e) => e.type === 'node.skipped' && e.nodeId === id);
    expect(skipped?.data).toEqual({});
    expect(run.doc.nodes.find((n: any) => n.nodeId === id)).toMatchObject({ attempts: 0, output: null, usage: null, startedAt: null });
  }
  expect(run.events.at(-1)?.type).toBe('execution.completed');
  expect(run.events.filter((e) => e.type === 'execution.completed')).toHaveLength(1);
}

/**
 * (a) branch.json: check → praise (true) | critique (false) → plan; praise + plan → verdict
 * (a JSONata join) → announce. Each way round, the other side and its downstream are skipped,
 * and the join runs once with the side that ran.
 */
export async function conditionBranchScenario(target: Target): Promise<void> {
  const flow = await createFlow(target, loadFixture('branch'));
  const pass = await runBranchFlow(target, flow.id, { topic: 'the launch', score: 80 });
  assertRanOrSkipped(pass, { ran: ['check', 'praise', 'verdict', 'announce'], skipped: ['critique', 'plan'] });
  expect(pass.outputs.check).toBe(true);
  expect(pass.outputs.verdict).toEqual({ passed: true, text: pass.outputs.praise });
  expect(pass.llmCalls).toEqual(['praise', 'announce']);
  // Both skips come from the condition's commit, before the join starts.
  const checkDone = position(pass.events, 'node.completed', 'check');
  for (const id of ['critique', 'plan']) {
    expect(position(pass.events, 'node.skipped', id)).toBeGreaterThan(checkDone);
    expect(position(pass.events, 'node.skipped', id)).toBeLessThan(position(pass.events, 'node.started', 'verdict'));
  }
  expect(pass.doc.output).toEqual({ announce: pass.outputs.announce });

  const fail = await runBranchFlow(target, flow.id, { topic: 'the outage', score: 20 });
  assertRanOrSkipped(fail, { ran: ['check', 'critique', 'plan', 'verdict', 'announce'], skipped: ['praise'] });
  expect(fail.outputs.check).toBe(false);
  expect(fail.outputs.verdict).toEqual({ passed: false, text: fail.outputs.plan });
  expect(fail.llmCalls).toEqual(['critique', 'plan', 'announce']);
  expect(position(fail.events, 'node.started', 'verdict')).toBeGreaterThan(position(fail.events, 'node.completed', 'plan'));
}

/** (b) switch.json: three cases and a default; exactly one handler runs, the join once. */
export async function switchBranchScenario(target: Target): Promise<void> {
  const flow = await createFlow(target, loadFixture('switch'));
  const handlers = ['billing', 'tech', 'sales', 'triage'];
  const cases: Array<{ kind: string; route: string; handler: string }> = [
    { kind: 'Billing', route: 'billing', handler: 'billing' },
    { kind: 'tech', route: 'tech', handler: 'tech' },
    { kind: 'SALES', route: 'sales', handler: 'sales' },
    { kind: 'Refund', route: 'refund', handler: 'triage' },
  ];
  for (const { kind, route, handler } of cases) {
    const run = await runBranchFlow(target, flow.id, { ticket: { kind, text: `please help (${kind})` } });
    assertRanOrSkipped(run, { ran: ['route', handler, 'reply'], skipped: handlers.filter((h) => h !== handler) });
    expect(run.outputs.route).toBe(route);
    expect(run.outputs.reply).toEqual({ route, answer: run.outputs[handler] });
    expect(run.llmCalls).toEqual([handler]);
    expect(run.doc.output).toEqual({ reply: run.outputs.reply });
    // The default handler's prompt carries the switch's value.
    if (handler === 'triage') expect(run.prompts[0]).toContain("[triage] Route this 'refund' ticket by hand");
  }
}

/**
 * (c) branch-fan-in.json: facts → report, triage → gate → detail (true only) → report. With
 * `detailed: false` detail is skipped and report — a fan-in with a parent outside the branch —
 * runs once, whichever commits first: the skip (report then becomes ready when facts commits)
 * or facts (report then becomes ready through the skip). With `detailed: true` it gets both.
 */
export async function branchFanInScenario(target: Target, slowModel = 'mock-slow-500'): Promise<void> {
  const slowed = (nodeId: 'facts' | 'triage'): unknown => {
    const fixture = loadFixture('branch-fan-in');
    for (const node of fixture.nodes) if (node.id === nodeId) Object.assign(node, { model: slowModel, stream: false });
    return fixture;
  };
  const statusOf = (doc: any, nodeId: string): string | undefined => doc.nodes?.find((n: any) => n.nodeId === nodeId)?.status;
  // The slowed node's call is also held at the gate until the other side has happened, so the
  // commit order is the one each run is about, not a race the delay usually wins.
  const holds: Record<'skipLast' | 'skipFirst', HoldCalls> = {
    skipLast: { marker: '[triage]', until: (doc) => statusOf(doc, 'facts') === 'completed' },
    skipFirst: { marker: '[facts]', until: (doc) => statusOf(doc, 'detail') === 'skipped' },
  };
  const skipLast = await createFlow(target, slowed('triage'));
  const skipFirst = await createFlow(target, slowed('facts'));
  for (const [flow, skipFirstOrder] of [[skipLast, false], [skipFirst, true]] as const) {
    const run = await runBranchFlow(target, flow.id, { topic: 'queues', detailed: false }, holds[skipFirstOrder ? 'skipFirst' : 'skipLast']);
    assertRanOrSkipped(run, { ran: ['facts', 'triage', 'gate', 'report'], skipped: ['detail'] });
    expect(run.outputs.gate).toBe(false);
    expect(run.outputs.report).toEqual({ facts: run.outputs.facts, detail: null });
    expect([...run.llmCalls].sort()).toEqual(['facts', 'triage']);
    const skippedAt = position(run.events, 'node.skipped', 'detail');
    const factsAt = position(run.events, 'node.completed', 'facts');
    expect(skippedAt < factsAt, skipFirstOrder ? 'the skip came first' : 'facts came first').toBe(skipFirstOrder);
    expect(position(run.events, 'node.started', 'report')).toBeGreaterThan(Math.max(skippedAt, factsAt));
  }

  const both = await runBranchFlow(target, skipLast.id, { topic: 'queues', detailed: true });
  assertRanOrSkipped(both, { ran: ['facts', 'triage', 'gate', 'detail', 'report'], skipped: [] });
  expect(both.outputs.report).toEqual({ facts: both.outputs.facts, detail: both.outputs.detail });
  expect([...both.llmCalls].sort()).toEqual(['detail', 'facts', 'triage']);
}
