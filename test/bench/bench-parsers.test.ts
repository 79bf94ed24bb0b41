/** The bench's pure helpers: what its counters read must be read right. */
import { describe, expect, it } from 'vitest';
import { chainPhases } from './chain-phases.js';
import { classifyStatement } from './pg-statements.js';
import { parseMonitorLine } from './redis-monitor.js';
import { percentile } from './stats.js';

describe('parseMonitorLine', () => {
  it('splits a client command into source and arguments, escapes kept', () => {
    expect(parseMonitorLine('1712345678.123456 [0 127.0.0.1:5000] "evalsha" "ab12" "1" "{\\"a\\":\\"b c\\"}"')).toEqual({
      source: '127.0.0.1:5000',
      args: ['evalsha', 'ab12', '1', '{\\"a\\":\\"b c\\"}'],
    });
  });

  it('recognises commands run by a script', () => {
    expect(parseMonitorLine('1712345678.1 [0 lua] "hset" "k" "f" "v"')?.source).toBe('lua');
  });

  it('ignores what is not a command line', () => {
    expect(parseMonitorLine('OK')).toBeNull();
  });
});

describe('classifyStatement', () => {
  it('labels drizzle statements by verb and table and counts inserted rows', () => {
    expect(classifyStatement('insert into "node_runs" ("a", "b") values ($1, $2), ($3, $4) on conflict ("a") do update set "b" = excluded."b"'))
      .toEqual({ label: 'insert node_runs', rows: 2 });
    expect(classifyStatement('select "id", "status" from "executions" where "executions"."id" = $1')).toEqual({ label: 'select executions', rows: 0 });
    expect(classifyStatement('update "executions" set "status" = $1')).toEqual({ label: 'update executions', rows: 0 });
    expect(classifyStatement('BEGIN')).toEqual({ label: 'begin', rows: 0 });
  });
});

describe('chainPhases', () => {
  it('splits a chain at its node events', () => {
    const marks = [
      { type: 'execution.started', nodeId: '', at: 3 },
      { type: 'node.started', nodeId: 'n1', at: 5 }, { type: 'node.completed', nodeId: 'n1', at: 6 },
      { type: 'node.started', nodeId: 'n2', at: 9 }, { type: 'node.completed', nodeId: 'n2', at: 12 },
    ];
    expect(chainPhases(marks, 0, 2)).toEqual({ toFirstNodeMs: 5, inNodeMs: 2, hopMs: 3 });
  });

  it('gives nothing for a chain whose events are missing', () => {
    expect(chainPhases([{ type: 'node.started', nodeId: 'n1', at: 1 }], 0, 2)).toBeUndefined();
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
    expect(percentile([], 50)).toBeNaN();
  });
});
