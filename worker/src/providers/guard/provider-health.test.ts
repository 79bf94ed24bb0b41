import { describe, expect, it } from 'vitest';
import { WeftError } from '@weft/shared/errors';
import { isProviderHealthFailure } from './provider-health.js';

describe('isProviderHealthFailure', () => {
  it('counts 5xx, timeouts, dropped connections, malformed answers and 429s', () => {
    for (const code of ['LLM_SERVER_ERROR', 'LLM_TIMEOUT', 'LLM_CONNECTION', 'LLM_INVALID_RESPONSE', 'LLM_RATE_LIMITED', 'NODE_TIMEOUT'] as const) {
      expect(isProviderHealthFailure(new WeftError(code, 'x')), code).toBe(true);
    }
  });

  it('ignores requests the provider rightly refused, an exhausted quota, and our own errors', () => {
    for (const code of ['LLM_BAD_REQUEST', 'LLM_AUTH', 'LLM_MODEL_NOT_FOUND', 'LLM_CONTENT_POLICY', 'INTERNAL_ERROR', 'DEPENDENCY_UNAVAILABLE', 'PROVIDER_RATE_LIMITED'] as const) {
      expect(isProviderHealthFailure(new WeftError(code, 'x')), code).toBe(false);
    }
    expect(isProviderHealthFailure(new WeftError('LLM_RATE_LIMITED', 'insufficient_quota', { category: 'permanent' }))).toBe(false);
  });

  it('counts a cancellation only when the signal was aborted by a timeout', () => {
    const cancelled = new WeftError('NODE_CANCELLED', 'aborted');
    const byUser = new AbortController();
    byUser.abort();
    const byTimeout = new AbortController();
    byTimeout.abort(new DOMException('timed out', 'TimeoutError'));
    expect(isProviderHealthFailure(cancelled)).toBe(false);
    expect(isProviderHealthFailure(cancelled, byUser.signal)).toBe(false);
    expect(isProviderHealthFailure(cancelled, byTimeout.signal)).toBe(true);
  });
});
