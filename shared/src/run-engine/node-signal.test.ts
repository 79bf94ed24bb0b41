import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeSignal } from './node-signal.js';

describe('nodeSignal', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('aborts with the lease, with its reason', () => {
    const lease = new AbortController();
    const s = nodeSignal(lease.signal, null);
    expect(s.signal.aborted).toBe(false);
    lease.abort(new Error('lock lost'));
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as Error).message).toBe('lock lost');
    expect(s.timedOut()).toBe(false);
    expect(s.cancelled()).toBeNull();
  });

  it('is aborted at once under a lease already aborted', () => {
    const lease = new AbortController();
    lease.abort('stopping');
    expect(nodeSignal(lease.signal, 1000).signal.reason).toBe('stopping');
  });

  it('aborts on a cancel, with the cancel reason, and says it was cancelled', () => {
    const s = nodeSignal(new AbortController().signal, null);
    s.cancel.abort(new Error('execution cancelled'));
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as Error).message).toBe('execution cancelled');
    expect((s.cancelled()?.reason as Error).message).toBe('execution cancelled');
  });

  it('aborts after timeoutMs with a TimeoutError, as AbortSignal.timeout does', () => {
    vi.useFakeTimers();
    const s = nodeSignal(new AbortController().signal, 500);
    vi.advanceTimersByTime(499);
    expect(s.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(s.timedOut()).toBe(true);
  });

  it('a cancel after the timeout still counts as a cancel (the node ends cancelled, as before)', () => {
    vi.useFakeTimers();
    const s = nodeSignal(new AbortController().signal, 10);
    vi.advanceTimersByTime(10);
    s.cancel.abort('cancelled by the api');
    expect(s.timedOut()).toBe(true);
    expect(s.cancelled()).toEqual({ reason: 'cancelled by the api' });
    expect((s.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('after dispose, neither the lease, a cancel nor the timer reaches it, and no timer is left', () => {
    vi.useFakeTimers();
    const lease = new AbortController();
    const s = nodeSignal(lease.signal, 500);
    s.dispose();
    expect(vi.getTimerCount()).toBe(0);
    lease.abort();
    s.cancel.abort();
    vi.advanceTimersByTime(1000);
    expect(s.signal.aborted).toBe(false);
    expect(s.timedOut()).toBe(false);
    expect(s.cancelled()).toBeNull();
  });
});
