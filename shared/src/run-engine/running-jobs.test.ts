import { describe, expect, it } from 'vitest';
import { RunningJobs } from './running-jobs.js';

describe('RunningJobs', () => {
  it('aborts every running job of an execution, or only those of the given nodes', () => {
    const jobs = new RunningJobs();
    const [a, b, c, other] = [new AbortController(), new AbortController(), new AbortController(), new AbortController()];
    jobs.register('e1', a, 'm[0].ask');
    jobs.register('e1', b, 'm[1].ask');
    const unregisterC = jobs.register('e1', c, 'after');
    jobs.register('e2', other, 'm[0].ask');

    expect(jobs.abort('e1', new Error('map timed out'), ['m[0].ask', 'm[1].ask', 'gone'])).toBe(2);
    expect([a.signal.aborted, b.signal.aborted, c.signal.aborted, other.signal.aborted]).toEqual([true, true, false, false]);
    expect((a.signal.reason as Error).message).toBe('map timed out');

    unregisterC();
    expect(jobs.abort('e1', new Error('cancelled'))).toBe(2);
    expect(c.signal.aborted).toBe(false);
    expect(jobs.abort('e2', new Error('cancelled'))).toBe(1);
    expect(jobs.abort('missing', new Error('x'))).toBe(0);
  });
});
