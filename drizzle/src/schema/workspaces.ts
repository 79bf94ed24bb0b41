import { boolean, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type { Prices } from '@weft/shared/engine';
import { timestamptz } from './columns.js';

export const workspaces = pgTable('workspaces', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  /** HTTP nodes may reach loopback, private and link-local addresses (never cloud metadata). */
  httpAllowPrivateNetworks: boolean('http_allow_private_networks').notNull().default(false),
  /** USD per 1M tokens for models the price table lacks; null: such models stay unpriced. */
  fallbackPrice: jsonb('fallback_price').$type<Prices>(),
  /**
   * Set by `DELETE /v1/workspaces/:id`: the workspace is being deleted in the background. Its keys
   * are gone already; the row (and, by cascade, everything it owns) goes when the deletion job ends.
   * A marked row is what makes the deletion survive a restart: the api re-enqueues its job.
   */
  deletingAt: timestamptz('deleting_at'),
});

/** Only the sha-256 of a key is stored; the prefix lets people recognise their keys. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    prefix: text('prefix').notNull(),
    /** A label people choose (`POST /v1/api-keys {name}`); the first key of a workspace is `default`. */
    name: text('name').notNull().default('default'),
    keyHash: text('key_hash').notNull().unique('api_keys_key_hash_unique'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at'),
  },
  (t) => [index('api_keys_workspace_idx').on(t.workspaceId)],
);
