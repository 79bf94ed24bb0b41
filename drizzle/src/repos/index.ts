export * from './types.js';
export { createRepos } from './create-repos.js';
export { IDEMPOTENCY_WINDOW_MS } from './executions.repo.js';
export type { WeftDb, WeftSchema } from './db.js';
export { createTenantScope, TENANT_ROLE, WORKSPACE_SETTING, type TenantScope } from './tenant.js';
export { hookSecretAad } from './hooks.repo.js';
