import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// I/O libraries the pure folders (flow, templates, engine) must never import.
const ioModules = ['ioredis', 'bullmq', 'pg', 'openai', '@anthropic-ai/sdk', '@google/genai', 'node:fs', 'node:net', 'node:http', 'fs', 'net', 'http'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'drizzle/migrations/**', 'coverage/**', '.weft/**'] },
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
        patterns: [{ group: ['@weft/db', '@weft/db/*'], message: 'Node executors and provider adapters do not read the database: declare or use a source (worker/src/nodes/sources.ts).' }],
      }],
    },
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
