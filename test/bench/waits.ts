/** Bounded waits: every wait of the bench has a limit. */

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: not done after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Rejects with a TimeoutError when `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new TimeoutError(what, ms)); }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns true, every `intervalMs`, failing after `timeoutMs`. */
export async function pollUntil(probe: () => Promise<boolean>, options: { timeoutMs: number; intervalMs: number; what: string }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (performance.now() > deadline) throw new TimeoutError(options.what, options.timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/**
 * A wait for the work a batch leaves behind (BatchTarget.drained): polls `done` every 10 ms up to
 * `timeoutMs`, and appends how long each wait took to `lagsMs` (the bench's JSON reports them).
 */
export function drainWaiter(done: () => Promise<boolean>, options: { timeoutMs: number; what: string; lagsMs: number[] }): () => Promise<void> {
  return async () => {
    const t0 = performance.now();
    await pollUntil(done, { timeoutMs: options.timeoutMs, intervalMs: 10, what: options.what });
    options.lagsMs.push(Math.round(performance.now() - t0));
  };
}
