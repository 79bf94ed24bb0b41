import { describe, expect, it } from 'vitest';
import { StreamWriter, type StreamSink } from './stream-writer.js';

/** A connection whose kernel buffer is a number the test sets. */
function sink(): StreamSink & { writes: string[][]; overflows: number[]; kernel: number } {
  const s = {
    writes: [] as string[][],
    overflows: [] as number[],
    kernel: 0,
    buffered: () => s.kernel,
    write: (messages: readonly string[]) => { s.writes.push([...messages]); },
    overflow: (unsent: number) => { s.overflows.push(unsent); },
  };
  return s;
}

const tick = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

describe('StreamWriter', () => {
  it('writes the messages of one tick in one write, in order, none dropped', async () => {
    const s = sink();
    const w = new StreamWriter(s, 1_000_000);
    for (let i = 0; i < 100; i += 1) w.push(`m${i}`);
    expect(s.writes).toEqual([]);
    await tick();
    w.push('next');
    await tick();
    expect(s.writes).toEqual([Array.from({ length: 100 }, (_, i) => `m${i}`), ['next']]);
  });

  it('flushes at once when asked, and writes nothing after stop', async () => {
    const s = sink();
    const w = new StreamWriter(s, 1000);
    w.push('a');
    w.flush();
    expect(s.writes).toEqual([['a']]);
    w.push('b');
    w.stop();
    w.push('c');
    await tick();
    expect(s.writes).toEqual([['a']]);
  });

  it('closes a consumer whose connection holds more than the bound unsent, and keeps nothing queued', async () => {
    const s = sink();
    const w = new StreamWriter(s, 100);
    // A burst above the bound still goes out to a client that reads.
    w.push('x'.repeat(150));
    await tick();
    expect(s.writes).toEqual([['x'.repeat(150)]]);
    s.kernel = 100; // the client took only part of it
    w.push('y');
    expect(s.overflows).toEqual([]);
    s.kernel = 101;
    w.push('z');
    expect(s.overflows).toEqual([101]);
    w.push('after');
    await tick();
    // 'y' was queued in the tick of the close: dropped with it; nothing more is queued.
    expect(s.writes).toEqual([['x'.repeat(150)]]);
    expect(s.overflows).toHaveLength(1);
  });
});
