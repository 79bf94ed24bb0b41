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
import type { Repos } from './types.js';
import { PgWorkspacesRepo } from './workspaces.repo.js';

/** Every repo over one drizzle database (node-postgres or PGlite). */
/** `masterKeyVersion`: the version rows sealed with `masterKey` carry (WEFT_MASTER_KEY_VERSION; 1 until a rotation). */
export function createRepos(deps: { db: WeftDb; masterKey: Buffer | null; masterKeyVersion?: number }): Repos {
  const sealing = new SealingKey(deps.masterKey, deps.masterKeyVersion ?? 1);
  return {
    workspaces: new PgWorkspacesRepo(deps.db),
    credentials: new PgCredentialsRepo(deps.db, sealing),
    secrets: new PgSecretsRepo(deps.db, sealing),
    flows: new PgFlowsRepo(deps.db),
    executions: new PgExecutionsRepo(deps.db),
    nodeRuns: new PgNodeRunsRepo(deps.db),
    pricing: new PgModelPricingRepo(deps.db),
    masterKey: new PgMasterKeyRepo(deps.db, deps.masterKey, sealing.version),
    events: new PgEventArchive(deps.db),
    outputBlobs: new PgOutputBlobsRepo(deps.db),
  };
}
