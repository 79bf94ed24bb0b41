/**
 * `POST /v1/resume/<token>`: a signed, single-use, expiring link that resumes one waiting node
 * without an API key (architecture: Waits). The signature names the workspace, execution, node
 * and waiting spell; the expiry is checked after the signature, so a forged token learns
 * nothing; the single use is a claim in hot state (SET NX in Redis), so of two concurrent calls
 * on any api instances exactly one is accepted.
 */
import { TERMINAL_EXECUTION_STATUSES } from '../model/index.js';
import { WeftError } from '../errors/index.js';
import { enqueueEventResume, linkResumableNode, type ControlDeps } from './control.js';

export type ResumeByLink = (input: { token: string; data: unknown }) => Promise<{ executionId: string; nodeId: string }>;

type Result = 'resumed' | 'used' | 'expired' | 'invalid' | 'not_waiting';

export function createResumeByLink(deps: ControlDeps): ResumeByLink {
  const log = deps.logger.child({ component: 'resume-link' });
  const refuse = (result: Exclude<Result, 'resumed'>, error: WeftError, context: object): never => {
    deps.metrics.resumeLinksTotal.inc({ result });
    log.info({ ...context, result }, 'resume link refused');
    throw error;
  };
  return async ({ token, data }) => {
    const claims = deps.resumeLinks.verify(token);
    if (!claims) return refuse('invalid', new WeftError('RESUME_LINK_INVALID', 'no such resume link'), {});
    const { executionId, nodeId, waitingSince } = claims;
    const context = { executionId, nodeId, workspaceId: claims.workspaceId, waitingSince };
    const now = deps.clock().getTime();
    if (now >= claims.expiresAtMs) {
      return refuse('expired', new WeftError('RESUME_LINK_EXPIRED', `this resume link expired at ${new Date(claims.expiresAtMs).toISOString()}`), context);
    }
    const row = await deps.repos.executions.get({ workspaceId: claims.workspaceId, executionId });
    if (!row) return refuse('invalid', new WeftError('RESUME_LINK_INVALID', 'no such resume link'), context);
    const hot = await deps.state.getExecution(executionId);
    if (!hot && !TERMINAL_EXECUTION_STATUSES.has(row.status)) {
      // Live in Postgres, not (yet) in hot state: the recovery sweep is about to rebuild it, and
      // the wait will carry on in its spell. Not a refusal: the link keeps its use.
      throw new WeftError('EXECUTION_STATE_MISSING', `execution ${executionId} is being recovered: try again shortly`, { retryAfterMs: 5000 });
    }
    if (!(await deps.state.claimResumeLink({ executionId, nodeId, waitingSince, expiresAtMs: claims.expiresAtMs }))) {
      return refuse('used', new WeftError('RESUME_LINK_USED', 'this resume link was already used'), context);
    }
    // The use is taken: from here, a refusal burns it, which is right (its spell is over), and a
    // failure to enqueue gives it back.
    const waiting = hot?.nodes[nodeId];
    const node = hot ? linkResumableNode(await deps.repos.flows.getVersion(hot.flowId, hot.flowVersion), nodeId) : null;
    if (!hot || !node || waiting?.status !== 'waiting' || waiting.startedAt !== waitingSince) {
      return refuse('not_waiting', new WeftError('CONFLICT', `node '${nodeId}' is no longer waiting for this link`), { ...context, status: waiting?.status });
    }
    try {
      await enqueueEventResume(deps, { row, hot, nodeId, waitingSince, data });
    } catch (err) {
      await deps.state.releaseResumeLink({ executionId, nodeId, waitingSince }).catch(() => undefined);
      throw err;
    }
    deps.metrics.resumeLinksTotal.inc({ result: 'resumed' });
    log.info({ ...context, event: node.type === 'task' ? 'task' : node.event }, 'waiting node resumed through its link');
    return { executionId, nodeId };
  };
}
