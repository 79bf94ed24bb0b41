import { SealingKey } from './sealing-key.js';
import { PgCredentialsRepo } from './credentials.repo.js';
import type { WeftDb } from './db.js';
import { PgEventArchive } from './events.repo.js';
import { PgExecutionsRepo } from './executions.repo.js';
import { PgFlowsRepo } from './flows.repo.js';
import { PgMasterKeyRepo } from './master-key.repo.js';
import { PgNodeRunsRepo } from './node-runs.repo.js';
import { PgOutputBlobsRepo } from './output-blobs.repo.js';
import { PgModelPricingRepo } from './pricing.repo.js';
import { PgSecretsRepo } from './secrets.repo.js';
import { PgHooksRepo } from './hooks.repo.js';
import { PgSchedulesRepo } from './schedules.repo.js';
import { PgTasksRepo } from './tasks.repo.js';
import { PgWorkerTokensRepo } from './worker-tokens.repo.js';
import { createTenantScope, type TenantScope } from './tenant.js';
import type { Repos } from './types.js';
import { PgWorkspacesRepo } from './workspaces.repo.js';

/**
 * Every repo over one drizzle database (node-postgres or PGlite). A method given a workspace id
 * runs its statements in a tenant transaction of that workspace (row-level security); the others
 * run as the connecting role, the system context (docs/architecture.md, "Row-level security").
 * `masterKeyVersion`: the version rows sealed with `masterKey` carry (WEFT_MASTER_KEY_VERSION; 1 until a rotation).
 */
export function createRepos(deps: { db: WeftDb; tenant?: TenantScope; masterKey: Buffer | null; masterKeyVersion?: number }): Repos {
  const sealing = new SealingKey(deps.masterKey, deps.masterKeyVersion ?? 1);
  const system = deps.db;
  const tenant = deps.tenant ?? createTenantScope(deps.db);
  return {
    workspaces: new PgWorkspacesRepo(system, tenant),
    credentials: new PgCredentialsRepo(tenant, sealing),
    secrets: new PgSecretsRepo(tenant, sealing),
    flows: new PgFlowsRepo(system, tenant),
    executions: new PgExecutionsRepo(system, tenant),
    nodeRuns: new PgNodeRunsRepo(system, tenant),
    pricing: new PgModelPricingRepo(system),
    masterKey: new PgMasterKeyRepo(system, deps.masterKey, sealing.version),
    events: new PgEventArchive(system),
    outputBlobs: new PgOutputBlobsRepo(system, tenant),
    schedules: new PgSchedulesRepo(system, tenant),
    hooks: new PgHooksRepo(system, tenant, sealing),
    tasks: new PgTasksRepo(system, tenant),
    workerTokens: new PgWorkerTokensRepo(system, tenant),
  };
}
