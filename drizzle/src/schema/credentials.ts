import { integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import type { LlmProviderName } from '@weft/shared/flow';
import { bytea, timestamptz } from './columns.js';
import { workspaces } from './workspaces.js';

/** AES-256-GCM sealed provider API keys (AAD: workspace, provider, key version). */
export const providerCredentials = pgTable(
  'provider_credentials',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    provider: text('provider').$type<LlmProviderName>().notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    iv: bytea('iv').notNull(),
    tag: bytea('tag').notNull(),
    keyVersion: integer('key_version').notNull(),
    last4: text('last4').notNull(),
    baseUrl: text('base_url'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'provider_credentials_pk', columns: [t.workspaceId, t.provider] })],
);

/** Workspace secrets for `{{vault.NAME}}`, sealed like credentials. */
export const secrets = pgTable(
  'secrets',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    iv: bytea('iv').notNull(),
    tag: bytea('tag').notNull(),
    keyVersion: integer('key_version').notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'secrets_pk', columns: [t.workspaceId, t.name] })],
);
