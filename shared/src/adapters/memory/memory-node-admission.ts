/**
 * Per-workspace node slots in memory (embedded mode), with the semantics of the Redis adapter
 * (acquire-node-slot.lua, release-node-slot.lua): leases, a line of parked jobs by rank, and
 * parked entries that lapse.
 */
import type { NodeAdmission, NodeAdmitResult } from '../../ports/node-admission.js';

interface WorkspaceSlots {
  /** holder → lease expiry (ms) */
  active: Map<string, number>;
  /** holder → {rank, until}: the line of parked jobs */
  parked: Map<string, { rank: number; until: number }>;
}

export class MemoryNodeAdmission implements NodeAdmission {
  private readonly workspaces = new Map<string, WorkspaceSlots>();

  constructor(private readonly now: () => number = Date.now) {}

  acquire(input: { workspaceId: string; holder: string; max: number; rank: number; leaseMs: number; parkTtlMs: number }): Promise<NodeAdmitResult> {
    const slots = this.slots(input.workspaceId);
    const now = this.now();
    const admit = (): Promise<NodeAdmitResult> => {
      slots.active.set(input.holder, now + input.leaseMs);
      slots.parked.delete(input.holder);
      return Promise.resolve({ admitted: true, active: slots.active.size });
    };
    if (slots.active.has(input.holder)) return admit();
    const free = input.max - slots.active.size;
    const line = this.line(slots);
    const position = line.indexOf(input.holder);
    if (free > 0 && ((position >= 0 && position < free) || (position < 0 && line.length < free))) return admit();
    const kept = slots.parked.get(input.holder);
    slots.parked.set(input.holder, { rank: kept?.rank ?? input.rank, until: now + input.parkTtlMs });
    return Promise.resolve({ admitted: false, active: slots.active.size, position: this.line(slots).indexOf(input.holder) });
  }

  release(input: { workspaceId: string; holder: string; max: number }): Promise<string[]> {
    const slots = this.slots(input.workspaceId);
    slots.active.delete(input.holder);
    const free = input.max - slots.active.size;
    return Promise.resolve(free > 0 ? this.line(slots).slice(0, free) : []);
  }

  renew(holders: ReadonlyArray<{ workspaceId: string; holder: string }>, leaseMs: number): Promise<void> {
    const until = this.now() + leaseMs;
    for (const { workspaceId, holder } of holders) {
      const active = this.workspaces.get(workspaceId)?.active;
      if (active?.has(holder)) active.set(holder, until);
    }
    return Promise.resolve();
  }

  active(workspaceId: string): Promise<number> {
    return Promise.resolve(this.slots(workspaceId).active.size);
  }

  /** The workspace's slots with lapsed leases and parked entries dropped. */
  private slots(workspaceId: string): WorkspaceSlots {
    let slots = this.workspaces.get(workspaceId);
    if (!slots) {
      slots = { active: new Map(), parked: new Map() };
      this.workspaces.set(workspaceId, slots);
    }
    const now = this.now();
    for (const [holder, until] of slots.active) if (until <= now) slots.active.delete(holder);
    for (const [holder, entry] of slots.parked) if (entry.until <= now) slots.parked.delete(holder);
    return slots;
  }

  private line(slots: WorkspaceSlots): string[] {
    return [...slots.parked].sort(([a, x], [b, y]) => x.rank - y.rank || (a < b ? -1 : a > b ? 1 : 0)).map(([holder]) => holder);
  }
}
