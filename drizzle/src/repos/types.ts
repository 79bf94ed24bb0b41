// The database contract is a port (shared/src/ports/database.ts): the engine facade is written
// against it, and these repos implement it.
export type {
  ApiKeyRow, CredentialSummary, CredentialsRepo, CurrentFlowStart, ExecutionRow, ExecutionsRepo, FinalExecution, FlowRecord, FlowsRepo, MasterKeyRepo,
  MasterKeyRotation, ModelPrice, ModelPricingRepo, NewExecution, NodeRunRow, NodeRunsRepo, OutputBlobRow, OutputBlobsRepo, Page, PriceRates, Repos, SecretSummary, SecretsRepo,
  WeftDatabase, WorkspaceRow, WorkspaceSettings, WorkspacesRepo, ScheduleRow, ScheduleTickRow, SchedulesRepo, HookRow, HooksRepo,
} from '@weft/shared/ports';
