import { PgCredentialsRepo } from './credentials.repo.js';
import type { WeftDb } from './db.js';
import { PgExecutionsRepo } from './executions.repo.js';
import { PgFlowsRepo } from './flows.repo.js';
import { PgMasterKeyRepo } from './master-key.repo.js';
import { PgNodeRunsRepo } from './node-runs.repo.js';
import { PgModelPricingRepo } from './pricing.repo.js';
import { PgSecretsRepo } from './secrets.repo.js';
import type { Repos } from './types.js';
import { PgWorkspacesRepo } from './workspaces.repo.js';

/** Every repo over one drizzle database (node-postgres or PGlite). */
export function createRepos(deps: { db: WeftDb; masterKey: Buffer | null }): Repos {
  return {
    workspaces: new PgWorkspacesRepo(deps.db),
    credentials: new PgCredentialsRepo(deps.db, deps.masterKey),
    secrets: new PgSecretsRepo(deps.db, deps.masterKey),
    flows: new PgFlowsRepo(deps.db),
    executions: new PgExecutionsRepo(deps.db),
    nodeRuns: new PgNodeRunsRepo(deps.db),
    pricing: new PgModelPricingRepo(deps.db),
    masterKey: new PgMasterKeyRepo(deps.db, deps.masterKey),
  };
}
