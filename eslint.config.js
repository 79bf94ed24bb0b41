import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// I/O libraries the pure folders (flow, templates, engine) must never import.
const ioModules = ['ioredis', 'bullmq', 'pg', 'openai', '@anthropic-ai/sdk', '@google/genai', 'node:fs', 'node:net', 'node:http', 'fs', 'net', 'http'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'drizzle/migrations/**', 'coverage/**', '.weft/**', 'test/lint/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    files: ['shared/src/flow/**', 'shared/src/templates/**', 'shared/src/engine/**'],
    rules: { 'no-restricted-imports': ['error', { paths: ioModules }] },
  },
  {
    // Executors and provider adapters get data through the sources in worker/src/nodes/sources.ts;
    // the runtime implements those over the repos (worker/src/sources).
    files: ['worker/src/nodes/**', 'worker/src/providers/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@weft/db', '@weft/db/*'], message: 'Node executors and provider adapters do not read the database: declare or use a source (worker/src/nodes/sources.ts).' },
          { group: ['@weft/api', '@weft/api/*', '@weft/embedded', '**/api/src/**'], message: 'The worker does not import the api.' },
        ],
      }],
    },
  },
  {
    // The engine facade is written against ports only: no I/O library, no database package.
    files: ['shared/src/run-engine/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules,
        patterns: [{ group: ['@weft/db', '@weft/db/*'], message: 'The engine facade reads the database through the port (shared/src/ports/database.ts).' }],
      }],
    },
  },
  {
    // The model is a leaf: ports, engine and errors import it; it imports only its own files.
    files: ['shared/src/model/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'shared/src/model imports nothing outside itself.' }] }],
    },
  },
  {
    // Two deployables: the api never ships the worker (its provider SDKs), nor the worker the api.
    // Only their composition root, api/embedded, depends on both.
    files: ['api/src/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['@weft/worker', '@weft/worker/*', '@weft/embedded', '**/worker/src/**'], message: 'The api does not import the worker: go through the engine facade (@weft/shared/run-engine).' }],
      }],
    },
  },
  {
    files: ['worker/src/**'],
    ignores: ['worker/src/nodes/**', 'worker/src/providers/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['@weft/api', '@weft/api/*', '@weft/embedded', '**/api/src/**'], message: 'The worker does not import the api.' }],
      }],
    },
  },
  {
    // Zero import cycles, across packages too (imports resolve to the sources through the
    // weft-source condition, as tsx and vitest load them).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': importX.flatConfigs.typescript.settings['import-x/extensions'],
      'import-x/parsers': importX.flatConfigs.typescript.settings['import-x/parsers'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json', conditionNames: ['weft-source', 'types', 'import', 'node', 'default'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['test/**', '**/*.test.ts', 'eslint.config.js', 'vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
