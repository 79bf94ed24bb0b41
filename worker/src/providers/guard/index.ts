export { ProviderGuard, isProviderGuardRefusal } from './provider-guard.js';
export type { GuardedCall, ProviderGuardOptions } from './provider-guard.js';
export { isProviderHealthFailure } from './provider-health.js';
export { llmLeaseMs } from './lease.js';
