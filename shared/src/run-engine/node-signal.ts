/**
 * The signal a node's executor runs under. It aborts when the first of three things happens:
 * - the job's signal aborts (the worker stops, or the job's lock is lost);
 * - a cancel arrives: `cancel` is what the node registers with RunningJobs;
 * - the node's timeoutMs passes. The reason is then a `TimeoutError` DOMException, as
 *   `AbortSignal.timeout` gives.
 *
 * It is one AbortController, one listener and one timer, where `AbortSignal.any` over the job's
 * signal, a cancel controller's and `AbortSignal.timeout` made three or four signals per node:
 * each an EventTarget built on demand, `any`'s tracked through weak references. `dispose` removes
 * the listener and the timer once the executor has returned.
 */
export interface NodeSignal {
  signal: AbortSignal;
  /** Aborts the node as cancelled (RunningJobs calls it). */
  cancel: { abort(reason?: unknown): void };
  /** Whether a cancel came, even after the signal had aborted for another reason; and its reason. */
  cancelled(): { reason: unknown } | null;
  /** Whether the timeout fired, even after the signal had aborted for another reason. */
  timedOut(): boolean;
  dispose(): void;
}

export function nodeSignal(lease: AbortSignal, timeoutMs: number | null): NodeSignal {
  const node = new AbortController();
  const onLease = (): void => { node.abort(lease.reason); };
  let cancelled: { reason: unknown } | null = null;
  let timedOut = false;
  if (lease.aborted) onLease();
  else lease.addEventListener('abort', onLease, { once: true });
  // Unref'd, as AbortSignal.timeout's timer is: a node's timeout never keeps the process alive.
  let timer: NodeJS.Timeout | null = timeoutMs === null ? null : setTimeout(() => {
    timedOut = true;
    node.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs).unref();
  let live = true;
  return {
    signal: node.signal,
    cancel: {
      abort: (reason?: unknown) => {
        if (!live || cancelled) return;
        cancelled = { reason };
        node.abort(reason);
      },
    },
    cancelled: () => cancelled,
    timedOut: () => timedOut,
    dispose: () => {
      live = false;
      if (timer) clearTimeout(timer);
      timer = null;
      lease.removeEventListener('abort', onLease);
    },
  };
}
