import { defaultServerConditions } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';

// Sources are resolved through the `weft-source` export condition, so tests run on
// the TypeScript sources without a build step.
const conditions = ['weft-source', ...defaultServerConditions];

const ALL_TESTS = ['shared/src/**/*.test.ts', 'api/src/**/*.test.ts', 'worker/src/**/*.test.ts', 'drizzle/src/**/*.test.ts', 'test/**/*.test.ts'];

/**
 * The pure tier (`npm run test:unit`): tests that start no service — no Redis, Postgres, PGlite,
 * child process or listening server — and so need no global set-up. A test file that starts one
 * belongs to `services` (or `alone`, below); `npm test` runs every project, every file exactly once.
 */
const UNIT_TESTS = [
  'shared/src/{flow,templates,engine,errors,config,crypto,ids,triggers}/**/*.test.ts',
  // Not expression-pool.test.ts: it starts worker threads.
  'shared/src/expressions/{expression-cache,bounded-in-process}.test.ts',
  'shared/src/mock-llm/answer.test.ts',
  'api/src/plugins/api-key-cache.test.ts',
  'api/src/events/stream-writer.test.ts',
  'shared/src/logging/serialize-error.test.ts',
  'shared/src/run-engine/{budget-pricing,map,restore-hot-state,running-jobs}.test.ts',
  'drizzle/src/repos/cursor.test.ts',
  'drizzle/src/database/migration-target.test.ts',
  'worker/src/sources/**/*.test.ts',
  'worker/src/http-client/{address-policy,guarded-lookup,judge-host,parse-body,redirect}.test.ts',
  'worker/src/nodes/{condition.node,switch.node,redact-secrets}.test.ts',
  'worker/src/providers/{classify-anthropic-error,classify-gemini-error,classify-openai-error,provider-error,provider-usage,retry-after}.test.ts',
  'worker/src/providers/guard/provider-health.test.ts',
  // Fastify through inject(): nothing listens, and the dependencies are plain objects.
  'api/src/plugins/{auth,error-handler,http-metrics}.plugin.test.ts',
  'api/src/redact-url.test.ts',
  'api/src/schemas/json-guard.test.ts',
  'test/bench/*.test.ts',
  // Reads the Lua sources only.
  'test/contract/lua-includes.test.ts',
  'shared/src/adapters/redis/keys.test.ts',
  'test/types/**/*.test.ts',
];

/** Tests that run after the others, one at a time (project `alone`). */
const ALONE_TESTS = ['test/fuzz/api-fuzz.test.ts'];

const exclude = [...configDefaults.exclude, '**/node_modules/**', '**/dist/**'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      // Pure modules hold no state between files, so one module graph per worker serves them all.
      { extends: true, test: { name: 'unit', include: UNIT_TESTS, exclude, isolate: false, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'services', include: ALL_TESTS, exclude: [...exclude, ...UNIT_TESTS, ...ALONE_TESTS], globalSetup: ['test/helpers/global-setup.ts'],
          sequence: { groupOrder: 0 },
          // An upper bound on tests that wait for real processes; a loaded machine is slow, not wrong.
          testTimeout: 60_000,
        },
      },
      {
        // After the rest, with the machine to itself: a test whose own budget is the property it
        // checks (the api fuzz: 20,000 cases within 60 s) must not share the two cores with a
        // code node spinning for 10 s or a fleet starting up.
        extends: true,
        test: {
          name: 'alone', include: ALONE_TESTS, exclude, globalSetup: ['test/helpers/global-setup.ts'],
          sequence: { groupOrder: 1 }, maxWorkers: 1, testTimeout: 60_000,
        },
      },
    ],
  },
});
