/**
 * Workspace deletion, the api's half: the request marks the workspace and revokes its keys at
 * once, then a `weft-maintenance` job deletes the rest in the background (the engine's
 * deleteWorkspace). Every api instance consumes that queue; BullMQ redelivers a job whose api
 * died mid-way, and an api that starts re-enqueues the deletion of every workspace still marked,
 * so a deletion survives restarts and a Redis that lost its jobs.
 */
import { workspaceDeletionJob } from '@weft/shared/jobs';
import { QUEUES } from '@weft/shared/ports';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiDeps } from '../deps.js';
import type { ApiKeysState } from '../plugins/api-key-cache.js';
import { invalidateProviderClients } from './provider-clients.js';

/** Marks the workspace, revokes its keys everywhere, enqueues its deletion; false when there is no such workspace. */
export async function requestWorkspaceDeletion(input: { deps: ApiDeps; apiKeys: ApiKeysState; workspaceId: string; log: FastifyBaseLogger }): Promise<boolean> {
  const { deps, apiKeys, workspaceId, log } = input;
  if (!(await deps.database.repos.workspaces.markDeleting(workspaceId))) return false;
  await apiKeys.revoked({ workspaceId });
  deps.metrics.apiKeysTotal.inc({ event: 'revoked_with_workspace' });
  await invalidateProviderClients({ deps, log, change: { reason: 'workspace_deleted', workspaceId } });
  await deps.queue.add(workspaceDeletionJob(workspaceId));
  deps.metrics.workspaceDeletionsTotal.inc({ event: 'requested' });
  log.info({ workspaceId }, 'workspace deletion requested: keys revoked, deletion enqueued');
  return true;
}

/** Consumes deletion jobs and re-enqueues the deletions left unfinished; answers the stopper. */
export function startWorkspaceDeletions(deps: ApiDeps): () => Promise<void> {
  const log = deps.logger.child({ component: 'workspace-deletion' });
  const consumer = deps.queue.process(QUEUES.maintenance, deps.engine.maintenanceProcessor(), { concurrency: 1 });
  const resumed = (async () => {
    try {
      const pending = await deps.database.repos.workspaces.listDeleting();
      for (const workspaceId of pending) await deps.queue.add(workspaceDeletionJob(workspaceId));
      if (pending.length > 0) log.info({ workspaces: pending.length }, 'unfinished workspace deletions re-enqueued');
    } catch (err) {
      log.warn({ err }, 'could not re-enqueue unfinished workspace deletions: they resume at the next start');
    }
  })();
  return async () => {
    await resumed;
    await consumer.close();
  };
}
