import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../schema/index.js';

export type WeftSchema = typeof schema;

/** The drizzle database the repos run on: node-postgres and PGlite both fit. */
export type WeftDb = PgDatabase<PgQueryResultHKT, WeftSchema>;
