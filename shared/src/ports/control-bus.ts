import type { LlmProviderName } from '../flow/types.js';
import type { Unsubscribe } from './event-bus.js';

/**
 * Instructions to every process of the fleet.
 * - `cancel` (to workers): abort the execution's running nodes (only those of `nodeIds` when
 *   given: the item nodes of a map that timed out).
 * - `api-keys-revoked` (to api instances): drop these keys of the workspace from the key cache,
 *   or all of its keys without `keyIds` (the workspace is being deleted).
 * - `provider-clients-invalidated` (to workers): drop the cached provider clients (with their
 *   credential and egress policy) of this provider of the workspace, of every provider of it
 *   without `provider`, and the workspace's cached settings (egress policy, fallback price);
 *   `fallback_price` drops the settings alone.
 */
export type ControlMessage =
  | { type: 'cancel'; executionId: string; nodeIds?: string[] }
  | { type: 'api-keys-revoked'; workspaceId: string; keyIds?: string[] }
  | ProviderClientsInvalidated;

/** Why provider clients are dropped (a bounded metric label). */
export const PROVIDER_CLIENT_INVALIDATION_REASONS = ['credential', 'egress', 'fallback_price', 'workspace_deleted'] as const;
export type ProviderClientInvalidationReason = (typeof PROVIDER_CLIENT_INVALIDATION_REASONS)[number];

export interface ProviderClientsInvalidated {
  type: 'provider-clients-invalidated';
  reason: ProviderClientInvalidationReason;
  workspaceId: string;
  provider?: LlmProviderName;
}

export interface ControlBus {
  publish(message: ControlMessage): Promise<void>;
  /** Every message published by any process after the subscription is in place. */
  subscribe(handler: (message: ControlMessage) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}
