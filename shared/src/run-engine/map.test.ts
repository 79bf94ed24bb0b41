import { describe, expect, it } from 'vitest';
import { skippedResult } from '../engine/index.js';
import { type NodeResult } from '../model/index.js';
import { MAP_MAX_ITEMS, type MapNode } from '../flow/index.js';
import { ExpressionCache } from '../expressions/index.js';
import { evaluateMapItems } from './map.js';

const AT = '2025-01-01T00:00:00.000Z';
const done = (output: unknown): NodeResult => ({ ...skippedResult(AT), status: 'completed', output, attempts: 1 });
const map = (items: string): MapNode => ({ id: 'm', type: 'map', items, graph: { nodes: [{ id: 'x', type: 'transform', expression: 'item' }], edges: [] } });
const ctx = { input: { docs: ['a', 'b'], n: 3, one: 'solo' }, results: { fetch: done({ rows: [{ id: 1 }, { id: 2 }] }) } };
const expressions = new ExpressionCache();

describe('evaluateMapItems', () => {
  it('takes the list a reference names, as it is', async () => {
    expect(await evaluateMapItems(map('{{fetch.output.rows}}'), ctx, expressions)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await evaluateMapItems(map(' {{input.docs}} '), ctx, expressions)).toEqual(['a', 'b']);
  });

  it('evaluates JSONata over {input, nodes}: a sequence is a list, no match no item, a lone match one', async () => {
    expect(await evaluateMapItems(map('[1..input.n]'), ctx, expressions)).toEqual([1, 2, 3]);
    const ids = await evaluateMapItems(map('nodes.fetch.rows.id'), ctx, expressions);
    expect(ids).toEqual([1, 2]);
    expect(Object.keys(ids)).toEqual(['0', '1']);
    expect(await evaluateMapItems(map('input.missing'), ctx, expressions)).toEqual([]);
    expect(await evaluateMapItems(map('input.one'), ctx, expressions)).toEqual(['solo']);
  });

  it('refuses what is not a list, a list over the limit, and a broken expression', async () => {
    await expect(evaluateMapItems(map('{{input.n}}'), ctx, expressions)).rejects.toMatchObject({ code: 'MAP_ITEMS_INVALID' });
    await expect(evaluateMapItems(map(`[1..${MAP_MAX_ITEMS + 1}]`), ctx, expressions)).rejects.toMatchObject({ code: 'MAP_ITEMS_INVALID' });
    await expect(evaluateMapItems(map('$number("x")'), ctx, expressions)).rejects.toMatchObject({ code: 'TRANSFORM_FAILED' });
    await expect(evaluateMapItems(map('{{input.nothing}}'), ctx, expressions)).rejects.toMatchObject({ code: 'TEMPLATE_MISSING_REF' });
  });
});
