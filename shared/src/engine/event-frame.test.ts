import { describe, expect, it } from 'vitest';
import { frameOf, readEventFrame } from './event-frame.js';
import type { WeftEvent } from '../model/index.js';

const base: WeftEvent = {
  id: '1733140000000-3',
  type: 'node.completed',
  executionId: '0b7e3c1e-6a43-4b0e-9a43-3f1f4c7d2a10',
  flowId: '6f3b1d2a-1c4e-4b7f-8a2d-9e0c5b4a3f21',
  workspaceId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  nodeId: 'summarize[3].llm',
  at: '2026-12-02T15:00:00.000Z',
  data: { output: { text: 'a "quoted" \\ line\nbreak and \u2028 / slash', n: 1.5 }, ref: { ref: 'r', size: 10 } },
};

describe('readEventFrame', () => {
  it('routes a published event from its header and forwards the message as is', () => {
    const message = JSON.stringify(base);
    const frame = readEventFrame(message);
    expect(frame).toEqual(frameOf(base));
    expect(frame?.json).toBe(message);
    expect(JSON.parse(frame?.json ?? 'null')).toEqual(base);
  });

  it('reads an event without nodeId and one with empty data', () => {
    const { nodeId: _omit, ...withoutNode } = { ...base, type: 'execution.started' as const, data: {} };
    const frame = readEventFrame(JSON.stringify(withoutNode));
    expect(frame).toMatchObject({ id: base.id, type: 'execution.started', executionId: base.executionId, flowId: base.flowId, workspaceId: base.workspaceId, at: base.at });
  });

  it('reads the Lua producer\'s escaping (cjson writes "\\/")', () => {
    const message = `{"id":"1-0","type":"execution.resumed","executionId":"e","flowId":"f","workspaceId":"w","at":"t","data":{"nodeId":"a\\/b"}}`;
    expect(readEventFrame(message)?.json).toBe(message);
  });

  it('answers null for what it cannot route without parsing, so the caller parses it whole', () => {
    const message = JSON.stringify(base);
    // A field in another order, an escape in a routing field, an unknown type.
    const { id, ...withoutId } = base;
    expect(readEventFrame(JSON.stringify({ ...withoutId, id }))).toBeNull();
    expect(readEventFrame(message.replace(base.workspaceId, 'w\\"x'))).toBeNull();
    expect(readEventFrame(message.replace('node.completed', 'node.exploded'))).toBeNull();
    // A line break would split an SSE data field; a cut message; not JSON at all.
    expect(readEventFrame(message.replace('"data":{', '"data":{\n'))).toBeNull();
    expect(readEventFrame(message.replace('"data":{', '"data":{\r'))).toBeNull();
    expect(readEventFrame(message.slice(0, -5))).toBeNull();
    expect(readEventFrame('not json')).toBeNull();
    expect(readEventFrame(JSON.stringify({ ...base, data: [1] }))).toBeNull();
  });
});

describe('frameOf', () => {
  it('serialises the event once, on one line', () => {
    const frame = frameOf(base);
    expect(frame.json).not.toMatch(/[\r\n]/);
    expect(JSON.parse(frame.json)).toEqual(base);
  });
});
