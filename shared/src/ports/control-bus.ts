import type { Unsubscribe } from './event-bus.js';

/**
 * Instructions to every worker of the fleet: abort the execution's running nodes (only those of
 * `nodeIds` when given: the item nodes of a map that timed out).
 */
export type ControlMessage = { type: 'cancel'; executionId: string; nodeIds?: string[] };

export interface ControlBus {
  publish(message: ControlMessage): Promise<void>;
  /** Every message published by any process after the subscription is in place. */
  subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}
