/**
 * WebSocket subscription caps of one api instance: per socket, and per API key across all the
 * key's sockets (architecture.md, "Quotas"). A subscription is counted from the subscribe
 * message until its unsubscribe, its socket's close, or its refusal.
 */
export type SubscriptionCap = 'ws_per_socket' | 'ws_per_key';

export class SubscriptionQuota {
  private readonly byKey = new Map<string, number>();

  constructor(private readonly limits: { perSocket: number; perKey: number }) {}

  /** Counts one more subscription of `keyId` on a socket that holds `socketHeld`; or names the cap it would pass. */
  acquire(keyId: string, socketHeld: number): SubscriptionCap | null {
    if (socketHeld >= this.limits.perSocket) return 'ws_per_socket';
    const held = this.byKey.get(keyId) ?? 0;
    if (held >= this.limits.perKey) return 'ws_per_key';
    this.byKey.set(keyId, held + 1);
    return null;
  }

  release(keyId: string, count = 1): void {
    const left = (this.byKey.get(keyId) ?? 0) - count;
    if (left > 0) this.byKey.set(keyId, left);
    else this.byKey.delete(keyId);
  }

  limitOf(cap: SubscriptionCap): number {
    return cap === 'ws_per_socket' ? this.limits.perSocket : this.limits.perKey;
  }
}
