/** Embedded mode (`npm start`) as a real process on a data folder, for end-to-end tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startWeftProcess, waitForHttp, type WeftProcess } from './processes.js';
import { PROCESS_READY_MS } from './stack.js';
import { waitFor } from './wait-for.js';

/**
 * Starts `api/embedded/src/main.ts` on `dataDir` and a free port, with none of the distributed
 * mode's variables, and waits until it is ready. `env` adds to (or overrides) the environment.
 */
export async function startEmbedded(input: { dataDir: string; env?: Record<string, string | undefined> }): Promise<{ proc: WeftProcess; baseUrl: string }> {
  const port = await freePort();
  const proc = startWeftProcess({
    name: 'embedded',
    script: 'api/embedded/src/main.ts',
    env: {
      REDIS_URL: undefined, DATABASE_URL: undefined, WEFT_MASTER_KEY: undefined, WEFT_ADMIN_TOKEN: undefined, WEFT_PUBLIC_URL: undefined,
      WEFT_DATA_DIR: input.dataDir, PORT: String(port), LOG_LEVEL: 'warn',
      ...input.env,
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/health/ready`, proc, PROCESS_READY_MS);
  return { proc, baseUrl };
}

/** The local workspace's API key, once the first start has written it to the data folder. */
export function localApiKey(dataDir: string): Promise<string> {
  return waitFor(() => {
    try {
      return (JSON.parse(readFileSync(join(dataDir, 'local-workspace.json'), 'utf8')) as { apiKey: string }).apiKey;
    } catch {
      return null;
    }
  }, { timeoutMs: 30_000, message: 'local workspace written' });
}
