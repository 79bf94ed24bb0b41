/** The engine facade and the parts the worker and the tests reach directly. */
export * from './run-engine.js';
export type { EngineResources } from './resources.js';
export { FlowCache, compileFlow, resolveNode, type CompiledFlow, type CompiledMap, type ResolvedNode } from './flow-cache.js';
export { RunningJobs } from './running-jobs.js';
export { StartBatcher } from './start-batcher.js';
export { ClaimCheck, type ClaimCheckDeps } from './claim-check.js';
export { endExecution } from './end-execution.js';
export { hashResumeToken } from './wait.js';
export { eventWaitNode } from './control.js';
export type { CreatedExecution, CreateExecutionInput } from './start.js';
export { assertInputMatches } from './start.js';
export type { RecoverySweep } from './recovery.js';
export type { DeleteWorkspace, WorkspaceDeletion } from './delete-workspace.js';
export { createScheduleTickProcessor, SCHEDULE_TICKS_KEPT, type ScheduleSkipReason } from './schedule-tick.js';
