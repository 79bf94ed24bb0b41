/** The bench's pure logic: summaries, ratios, targets, the markdown table, interleaving, options. */
import { describe, expect, it } from 'vitest';
import { chainHops, fanInDelay } from './chain-phases.js';
import { parseSeenEvent } from './event-observer.js';
import { mapLimit, runInterleaved } from './interleave.js';
import { benchOptions } from './options.js';
import { formatNumber, formatRatio, formatTarget, formatValue, renderTable, summarizeRow, type Row } from './report.js';
import { median, pairedRatios, spread } from './stats.js';

describe('median and spread', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('ignores samples that are not finite', () => {
    expect(spread([Number.NaN, 5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
    expect(spread([Number.NaN]).median).toBeNaN();
  });
});

describe('pairedRatios', () => {
  it('divides each repetition by its own baseline', () => {
    expect(pairedRatios([10, 20, 30], [5, 10, 10])).toEqual([2, 2, 3]);
  });

  it('leaves out pairs with a missing, non-finite or zero baseline', () => {
    expect(pairedRatios([10, 20, 30, 40], [0, Number.NaN, 10])).toEqual([3]);
  });
});

const row = (over: Partial<Row> = {}): Row => ({
  metric: 'transitions/s', unit: 'per_s', baselineName: 'raw BullMQ', weft: [100, 300, 200], baseline: [1000, 1000, 1000], ...over,
});

describe('summarizeRow', () => {
  it('gives medians and the median paired ratio with its range', () => {
    const s = summarizeRow(row());
    expect(s.weft.median).toBe(200);
    expect(s.baseline.median).toBe(1000);
    expect(s.ratio).toEqual({ median: 0.2, min: 0.1, max: 0.3 });
    expect(s.pass).toBeNull();
  });

  it('checks a ratio target in its direction', () => {
    expect(summarizeRow(row({ target: { on: 'ratio', op: '>=', value: 0.6 } })).pass).toBe(false);
    expect(summarizeRow(row({ target: { on: 'ratio', op: '<=', value: 0.25 } })).pass).toBe(true);
  });

  it("checks a target on Weft's own figure", () => {
    expect(summarizeRow(row({ unit: 'ms', target: { on: 'weft', op: '<=', value: 250 } })).pass).toBe(true);
    expect(summarizeRow(row({ unit: 'ms', target: { on: 'weft', op: '<=', value: 150 } })).pass).toBe(false);
  });

  it('neither passes nor fails a target without figures', () => {
    expect(summarizeRow(row({ weft: [], target: { on: 'ratio', op: '>=', value: 1 } })).pass).toBeNull();
  });
});

describe('formatting', () => {
  it('keeps about three significant digits', () => {
    expect(formatNumber(4230)).toBe('4.23k');
    expect(formatNumber(12_345)).toBe('12.3k');
    expect(formatNumber(123.4)).toBe('123');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(1.234)).toBe('1.23');
    expect(formatNumber(0.02134)).toBe('0.0213');
    expect(formatNumber(Number.NaN)).toBe('—');
  });

  it('shows units, ratios with their range, and targets', () => {
    expect(formatValue(650, 'per_s')).toBe('650/s');
    expect(formatValue(1.5, 'ms')).toBe('1.50 ms');
    expect(formatValue(47_104, 'bytes')).toBe('46.0 KB');
    expect(formatRatio({ median: 0.15, min: 0.1, max: 0.2 })).toBe('0.150× (0.100–0.200)');
    expect(formatRatio({ median: 2, min: 2, max: 2 })).toBe('2.00×');
    expect(formatTarget({ on: 'ratio', op: '>=', value: 0.6 }, 'per_s')).toBe('≥ 0.600×');
    expect(formatTarget({ on: 'weft', op: '<=', value: 1 }, 'ms')).toBe('≤ 1.00 ms');
    expect(formatTarget(undefined, 'ms')).toBe('—');
  });
});

describe('renderTable', () => {
  it('renders one markdown row per metric and baseline, escaping pipes', () => {
    const table = renderTable([
      row({ target: { on: 'ratio', op: '>=', value: 0.6 } }),
      row({ metric: 'a | b', unit: 'ms', baselineName: 'bare', weft: [2, 2, 2], baseline: [1, 1, 1] }),
    ]);
    expect(table.split('\n')).toEqual([
      '| metric | weft | baseline | ratio (min–max) | target | pass |',
      '|---|---|---|---|---|---|',
      '| transitions/s | 200/s | 1.00k/s (raw BullMQ) | 0.200× (0.100–0.300) | ≥ 0.600× | no |',
      '| a \\| b | 2.00 ms | 1.00 ms (bare) | 2.00× | — | — |',
    ]);
  });
});

describe('runInterleaved', () => {
  it('alternates the contenders, repetition after repetition', async () => {
    const order: string[] = [];
    const contender = (name: string) => ({ name, run: (rep: number) => { order.push(`${name}${rep}`); return Promise.resolve(`${name}:${rep}`); } });
    const results = await runInterleaved({ reps: 3, contenders: [contender('A'), contender('B')] });
    expect(order).toEqual(['A0', 'B0', 'A1', 'B1', 'A2', 'B2']);
    expect(results).toEqual([['A:0', 'A:1', 'A:2'], ['B:0', 'B:1', 'B:2']]);
  });

  it('stops at the first failure', async () => {
    const ran: string[] = [];
    await expect(runInterleaved({
      reps: 3,
      contenders: [
        { name: 'A', run: () => { ran.push('A'); return Promise.resolve(1); } },
        { name: 'B', run: () => Promise.reject(new Error('down')) },
      ],
    })).rejects.toThrow('down');
    expect(ran).toEqual(['A']);
  });
});

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the input order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight -= 1;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
  });
});

describe('chainHops and fanInDelay', () => {
  it('measures each hop from the parent completed to the child started', () => {
    const marks = [
      { type: 'node.started', nodeId: 'n1', at: 1 }, { type: 'node.completed', nodeId: 'n1', at: 2 },
      { type: 'node.started', nodeId: 'n2', at: 5 }, { type: 'node.completed', nodeId: 'n2', at: 6 },
      { type: 'node.started', nodeId: 'n3', at: 6.5 },
    ];
    expect(chainHops(marks, 3)).toEqual([3, 0.5]);
    expect(chainHops(marks, 4)).toEqual([3, 0.5]);
  });

  it('measures a fan-in from the last item completed to the join started', () => {
    const marks = [
      { type: 'node.completed', nodeId: 'fan[1].work', at: 9 }, { type: 'node.completed', nodeId: 'fan[0].work', at: 7 },
      { type: 'node.completed', nodeId: 'fan', at: 10 }, { type: 'node.started', nodeId: 'join', at: 12 },
    ];
    expect(fanInDelay(marks, 'fan', 'join')).toBe(3);
    expect(fanInDelay(marks.slice(0, 3), 'fan', 'join')).toBeUndefined();
  });
});

describe('parseSeenEvent', () => {
  it('reads type, execution and node of a published event', () => {
    expect(parseSeenEvent('{"id":"1-0","type":"node.completed","executionId":"e","nodeId":"n1","data":{}}', 4)).toEqual({ type: 'node.completed', executionId: 'e', nodeId: 'n1', at: 4 });
    expect(parseSeenEvent('{"type":"execution.started","executionId":"e"}', 1)?.nodeId).toBe('');
  });

  it('ignores what is not an event', () => {
    expect(parseSeenEvent('not json', 0)).toBeNull();
    expect(parseSeenEvent('{"type":"subscribed","flowId":"f"}', 0)).toBeNull();
  });
});

describe('benchOptions', () => {
  it('has smaller sizes for --quick, every row group included', () => {
    const quick = benchOptions(['--quick']);
    const full = benchOptions([]);
    expect(quick.chains).toBeLessThan(full.chains);
    expect(full.fanInWidths).toEqual([100, 1000]);
    expect(full.chains).toBe(100);
    expect(full.dags).toBe(1000);
    expect(quick.deadlineMs).toBeLessThan(180_000);
    expect(full.deadlineMs).toBeLessThan(900_000);
    expect(quick.only.size).toBe(7);
  });

  it('refuses fewer than 3 repetitions, unknown flags and groups', () => {
    expect(() => benchOptions(['--reps=2'])).toThrow('--reps');
    expect(() => benchOptions(['--fast'])).toThrow('unknown argument');
    expect(() => benchOptions(['--only=chains,nope'])).toThrow('nope');
    expect(benchOptions(['--only=heap']).only).toEqual(new Set(['heap']));
  });
});
