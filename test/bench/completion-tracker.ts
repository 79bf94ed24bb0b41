/** Chains started at once and the moments they end. */
import { withTimeout } from './waits.js';

/** Resolves or rejects a chain's completion by id; registered before the chain is enqueued. */
export class CompletionTracker {
  private readonly pending = new Map<string, { resolve: (at: number) => void; reject: (err: Error) => void }>();

  expect(id: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
  }

  done(id: string): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    waiter.resolve(performance.now());
  }

  fail(id: string, why: string): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    waiter.reject(new Error(`chain ${id} failed: ${why}`));
  }

  /** Forgets the waiters of a batch that timed out, so late completions are ignored. */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.pending.delete(id);
  }
}

/** Starts `ids` at once through `enqueue` and waits for all of them to end (bounded). */
export async function runTrackedBatch(input: {
  tracker: CompletionTracker;
  ids: readonly string[];
  enqueue: () => Promise<void>;
  timeoutMs: number;
  what: string;
}): Promise<{ t0: number; latenciesMs: number[]; wallMs: number }> {
  const { tracker, ids } = input;
  const ends = Promise.all(ids.map((id) => tracker.expect(id)));
  // A chain may fail while the enqueue is still being answered: handled below, never unhandled.
  ends.catch(() => undefined);
  const t0 = performance.now();
  try {
    await input.enqueue();
    const at = await withTimeout(ends, input.timeoutMs, `${input.what} (${ids.length} chains)`);
    const latenciesMs = at.map((t) => t - t0);
    return { t0, latenciesMs, wallMs: Math.max(...latenciesMs) };
  } catch (err) {
    tracker.forget(ids);
    throw err;
  }
}
