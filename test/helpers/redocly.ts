/** `@redocly/cli lint` on a document file (OpenAPI or AsyncAPI), offline: its errors as `ruleId pointer: message`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const REDOCLY = new URL('../../node_modules/@redocly/cli/bin/cli.js', import.meta.url).pathname;

export async function redoclyLintErrors(file: string): Promise<string[]> {
  const run = promisify(execFile);
  const result = await run(process.execPath, [REDOCLY, 'lint', file, '--format=json'], {
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: unknown) => ({ stdout: (err as { stdout?: string }).stdout ?? '' }));
  const report = JSON.parse(result.stdout) as { problems: Array<{ severity: string; ruleId: string; message: string; location?: Array<{ pointer?: string }> }> };
  return report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} ${p.location?.[0]?.pointer ?? ''}: ${p.message}`);
}
