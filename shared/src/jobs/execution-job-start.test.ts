import { describe, expect, it } from 'vitest';
import type { ExecutionRow } from '../ports/database.js';
import { EXECUTION_JOB_INPUT_MAX_BYTES, executionJobStart } from './index.js';

const row = (over: Partial<ExecutionRow>): ExecutionRow => ({
  id: 'e', workspaceId: 'w', flowId: 'f', flowVersion: 3, status: 'queued', input: { topic: 'x' }, output: null, error: null, usage: null, cost: null,
  pricing: null, unpricedTokens: null, idempotencyKey: null, maxCostUsd: 0.5, priority: 'high', singleNodeId: null, presetResults: null,
  scheduleId: null, hookId: null, createdAt: new Date(0), startedAt: null, finishedAt: null, ...over,
});

describe('executionJobStart: what an execution job carries of its row', () => {
  it('carries what the init and the node jobs need of a flow run', () => {
    expect(executionJobStart(row({}))).toEqual({ flowId: 'f', flowVersion: 3, input: { topic: 'x' }, maxCostUsd: 0.5, priority: 'high' });
    expect(executionJobStart(row({ input: null }))?.input).toBeNull();
  });

  it('carries nothing for a single-node run (its preset results stay in the row) or an input over the bound, in UTF-8 bytes', () => {
    expect(executionJobStart(row({ singleNodeId: 'n', presetResults: {} }))).toBeUndefined();
    // JSON quotes add 2 bytes: the largest string carried, and one byte more.
    expect(executionJobStart(row({ input: 'a'.repeat(EXECUTION_JOB_INPUT_MAX_BYTES - 2) }))).toBeDefined();
    expect(executionJobStart(row({ input: 'a'.repeat(EXECUTION_JOB_INPUT_MAX_BYTES - 1) }))).toBeUndefined();
    expect(executionJobStart(row({ input: { t: 'é'.repeat(EXECUTION_JOB_INPUT_MAX_BYTES / 2) } }))).toBeUndefined();
  });
});
