/**
 * A process-wide budget of running jobs that several queue consumers share: a worker whose pool
 * spans several node queues runs at most WORKER_CONCURRENCY node jobs in all, whichever queues
 * they come from. Consumers take a slot before they take a job off their queue and give it back
 * when the job has ended, so a job never waits inside a worker for a slot (it waits in its queue,
 * where any worker of the fleet may take it, and where priorities order it).
 */
export class JobSlots {
  private used = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private readonly freed = new Set<() => void>();

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots must be a positive integer, got ${size}`);
  }

  get inUse(): number {
    return this.used;
  }

  /** Takes a slot when one is free; false otherwise. */
  tryAcquire(): boolean {
    if (this.used >= this.size) return false;
    this.used++;
    return true;
  }

  /** Waits for a slot (FIFO); rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve(); },
        reject,
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives a slot back: to the longest waiter, else to the pool (and tells the listeners). */
  release(): void {
    const next = this.waiters.shift();
    if (next) {
      next.resolve();
      return;
    }
    this.used = Math.max(0, this.used - 1);
    for (const listener of this.freed) listener();
  }

  /** Called whenever a slot becomes free with nobody waiting (consumers that poll, not wait). */
  onFree(listener: () => void): () => void {
    this.freed.add(listener);
    return () => { this.freed.delete(listener); };
  }
}
