/**
 * What the Database contract suite (db-repos.contract.ts) runs on, and the small builders its
 * areas share. A fixture is one migrated database per backend and test file: every test makes
 * its own workspace, so tests share the database without seeing each other's rows.
 */
import type { NodeRunRow, Repos, WeftDatabase } from '@weft/db/repos';
import type { FlowDefinition } from '@weft/shared/flow';

export interface DbReposFixture {
  /** A migrated database whose repos seal with `masterKey` and key version 1. */
  database: WeftDatabase;
  masterKey: Buffer;
  /** Repos over the same data that seal with another key (null: none) and key version. */
  reposWith(input: { masterKey: Buffer | null; masterKeyVersion?: number }): Promise<Repos>;
  /**
   * Raw SQL on the same data, for states the repos cannot reach (an old row, a forged one).
   * bytea comes back as a Buffer on both backends; cast numbers to text in the query.
   */
  query<T extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** What every area of the suite receives; readable once the suite's beforeAll has run. */
export interface DbReposSuite {
  readonly fx: DbReposFixture;
  readonly repos: Repos;
  newWorkspace(name?: string): Promise<{ id: string; apiKey: string }>;
  /** A workspace, a flow of flowDef() in it, and a queued execution of its version 1. */
  newExecution(): Promise<{ ws: string; flowId: string; executionId: string }>;
}

/**
 * The zone every session of both backends runs in: a half-hour offset with daylight saving,
 * so a timestamp read or written in the wrong zone is off by a visible amount.
 */
export const SESSION_TIME_ZONE = 'America/St_Johns';

export function flowDef(name: string, prompt = 'Hello {{input.name}}'): FlowDefinition {
  return {
    name,
    nodes: [
      { id: 'a', type: 'llm', provider: 'openai', model: 'gpt-4o', prompt },
      { id: 'b', type: 'transform', expression: '$.nodes.a' },
    ],
    edges: [{ from: 'a', to: 'b' }],
  };
}

export function nodeRun(base: { ws: string; flowId: string; executionId: string }, patch: Partial<NodeRunRow> = {}): NodeRunRow {
  return {
    executionId: base.executionId, workspaceId: base.ws, flowId: base.flowId, nodeId: 'a', iteration: 0, nodeType: 'llm',
    status: 'running', attempts: 1, input: { prompt: 'hi' }, output: null, error: null, usage: null, cost: null,
    pricing: null, pricedAs: null, provider: 'openai', model: 'gpt-4o', workerId: 'w1', startedAt: new Date('2026-01-01T00:00:00Z'), finishedAt: null, runtimeMs: null,
    ...patch,
  };
}

/** The SQLSTATE of a database error, wherever it sits in the cause chain (drizzle wraps driver errors). */
export function sqlState(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** What a promise rejected with; fails the test when it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
