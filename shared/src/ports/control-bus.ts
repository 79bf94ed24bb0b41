import type { Unsubscribe } from './event-bus.js';

/**
 * Instructions to every process of the fleet.
 * - `cancel` (to workers): abort the execution's running nodes (only those of `nodeIds` when
 *   given: the item nodes of a map that timed out).
 * - `api-keys-revoked` (to api instances): drop these keys of the workspace from the key cache,
 *   or all of its keys without `keyIds` (the workspace is being deleted).
 */
export type ControlMessage =
  | { type: 'cancel'; executionId: string; nodeIds?: string[] }
  | { type: 'api-keys-revoked'; workspaceId: string; keyIds?: string[] };

export interface ControlBus {
  publish(message: ControlMessage): Promise<void>;
  /** Every message published by any process after the subscription is in place. */
  subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}
