/**
 * Lint proves itself: the boundary rules of eslint.config.js fire on small fixtures that break
 * them (an import cycle, a database import in a node executor, the api importing the worker),
 * and stay quiet on the real files they guard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(import.meta.dirname, 'fixtures');

/** The project's own config; type-aware rules off (the fixtures are read as text at other paths). */
function eslint(): ESLint {
  return new ESLint({ cwd: root, ignore: false, overrideConfig: [tseslint.configs.disableTypeChecked] });
}

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint().lintText(code, { filePath: join(root, filePath) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('lint rules', () => {
  it('reports an import cycle', async () => {
    const results = await eslint().lintFiles([join(fixtures, 'cycle-a.ts'), join(fixtures, 'cycle-b.ts')]);
    const cycles = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'import-x/no-cycle').map(() => r.filePath));
    expect(cycles.map((p) => p.slice(fixtures.length + 1)).sort()).toEqual(['cycle-a.ts', 'cycle-b.ts']);
  }, 120_000);

  it('reports a database import under the node executors, and not elsewhere in the worker', async () => {
    const code = readFileSync(join(fixtures, 'node-reads-database.ts'), 'utf8');
    expect(await ruleIds(code, 'worker/src/nodes/reads-database.ts')).toContain('no-restricted-imports');
    expect(await ruleIds(code, 'worker/src/providers/reads-database.ts')).toContain('no-restricted-imports');
    expect(await ruleIds(code, 'shared/src/run-engine/reads-database.ts')).toContain('no-restricted-imports');
    expect(await ruleIds(code, 'worker/src/sources/reads-database.ts')).not.toContain('no-restricted-imports');
  }, 120_000);

  it('reports the api importing the worker', async () => {
    const code = readFileSync(join(fixtures, 'api-imports-worker.ts'), 'utf8');
    expect(await ruleIds(code, 'api/src/routes/imports-worker.ts')).toContain('no-restricted-imports');
    expect(await ruleIds(code, 'api/embedded/src/imports-worker.ts')).not.toContain('no-restricted-imports');
  }, 120_000);

  it('reports the model importing outside itself', async () => {
    expect(await ruleIds("import type { FlowNode } from '../flow/types.js';\nexport type N = FlowNode;\n", 'shared/src/model/x.ts')).toContain('no-restricted-imports');
    expect(await ruleIds("import type { Usage } from './usage.js';\nexport type U = Usage;\n", 'shared/src/model/x.ts')).not.toContain('no-restricted-imports');
  }, 120_000);
});
