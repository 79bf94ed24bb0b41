export * from './types.js';
export { createRepos } from './create-repos.js';
export { IDEMPOTENCY_WINDOW_MS } from './executions.repo.js';
export type { WeftDb, WeftSchema } from './db.js';
