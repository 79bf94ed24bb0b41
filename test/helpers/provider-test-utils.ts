/** Small helpers shared by the provider adapter tests. */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';

/** Runs `fn` with environment variables set, then puts the environment back. */
export async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

/** Consumes a stream to its end. */
export async function drain(parts: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of parts) { /* drain */ }
}

/**
 * A mock provider server for the current describe block: started before its tests, reset
 * before each, closed after them. Read `suite.mock` inside tests.
 */
export function mockLlmPerSuite(): { readonly mock: MockLlm } {
  let current: MockLlm | undefined;
  beforeAll(async () => { current = await startMockLlm(); });
  afterAll(async () => { await current?.close(); });
  beforeEach(() => { current?.reset(); });
  return {
    get mock() {
      if (!current) throw new Error('the mock provider starts in beforeAll');
      return current;
    },
  };
}
