/**
 * Per-workspace node slots in Redis (ports/node-admission.ts): three sorted sets per workspace,
 * tagged `{<workspaceId>}`, changed by one script each call (acquire-node-slot.lua,
 * release-node-slot.lua). On a cluster they sit in the workspace's slot, never in an execution's,
 * so they are a call of their own on one server and on a cluster alike.
 */
import type { RedisClient } from './connection.js';
import type { NodeAdmission, NodeAdmitResult } from '../../ports/node-admission.js';
import { nodeSlotKeys } from './keys.js';
import { defineWeftScripts, type WeftScripts } from './lua/scripts.js';

export class RedisNodeAdmission implements NodeAdmission {
  private readonly scripts: WeftScripts;

  constructor(private readonly options: { redis: RedisClient; prefix: string; now?: () => number }) {
    this.scripts = defineWeftScripts(options.redis);
  }

  async acquire(input: { workspaceId: string; holder: string; max: number; rank: number; leaseMs: number; parkTtlMs: number }): Promise<NodeAdmitResult> {
    const keys = nodeSlotKeys(this.options.prefix, input.workspaceId);
    const reply = await this.scripts.weftAcquireNodeSlot(
      [keys.active, keys.parked, keys.parkedUntil],
      [input.holder, input.max, this.now(), input.leaseMs, input.rank, input.parkTtlMs],
    );
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) throw new Error('acquire-node-slot: malformed reply');
    if (reply[0] === 1) return { admitted: true, active: Number(reply[1]) };
    return { admitted: false, active: Number(reply[1]), position: Number(reply[2]) };
  }

  async release(input: { workspaceId: string; holder: string; max: number }): Promise<string[]> {
    const keys = nodeSlotKeys(this.options.prefix, input.workspaceId);
    const reply = await this.scripts.weftReleaseNodeSlot([keys.active, keys.parked, keys.parkedUntil], [input.holder, input.max, this.now()]);
    if (!Array.isArray(reply)) throw new Error('release-node-slot: malformed reply');
    return reply.map(String);
  }

  async renew(holders: ReadonlyArray<{ workspaceId: string; holder: string }>, leaseMs: number): Promise<void> {
    const byWorkspace = new Map<string, string[]>();
    for (const { workspaceId, holder } of holders) byWorkspace.set(workspaceId, [...(byWorkspace.get(workspaceId) ?? []), holder]);
    const until = this.now() + leaseMs;
    // One command per workspace (its own slot on a cluster): XX, so a slot released meanwhile stays released.
    await Promise.all([...byWorkspace].map(async ([workspaceId, list]) => {
      const key = nodeSlotKeys(this.options.prefix, workspaceId).active;
      await this.options.redis.zadd(key, 'XX', ...list.flatMap((holder) => [until, holder]));
      await this.options.redis.pexpire(key, leaseMs * 2);
    }));
  }

  async active(workspaceId: string): Promise<number> {
    const key = nodeSlotKeys(this.options.prefix, workspaceId).active;
    return this.options.redis.zcount(key, `(${this.now()}`, '+inf');
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
