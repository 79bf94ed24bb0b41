/**
 * First-run conveniences of embedded mode: a master key and admin token generated into the
 * data folder, a local workspace whose key is kept there, and — while the workspace has no
 * real provider credentials — the local mock provider, so a first run works offline (the local
 * workspace then allows private networks, since the mock listens on loopback).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WeftDatabase } from '@weft/db/repos';
import type { WeftConfig } from '@weft/shared/config';
import type { LlmProviderName } from '@weft/shared/flow';
import type { Logger } from '@weft/shared/logging';
import { startMockLlm, type MockLlm } from '@weft/shared/mock-llm';

/** The credential embedded mode writes for the mock; recognised so it can be re-pointed. */
export const MOCK_API_KEY = 'weft-local-mock-key';

function readOrCreate(path: string, make: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

export function withEmbeddedSecrets(config: WeftConfig): WeftConfig {
  mkdirSync(config.dataDir, { recursive: true });
  const masterKey = config.masterKey ?? Buffer.from(readOrCreate(join(config.dataDir, 'master.key'), () => randomBytes(32).toString('base64')), 'base64');
  const adminToken = config.adminToken ?? readOrCreate(join(config.dataDir, 'admin.token'), () => randomBytes(24).toString('base64url'));
  return { ...config, masterKey, adminToken };
}

export interface LocalWorkspace {
  workspaceId: string;
  apiKey: string;
  mock: MockLlm | null;
}

export async function bootstrapLocalWorkspace(input: { config: WeftConfig; database: WeftDatabase; logger: Logger }): Promise<LocalWorkspace> {
  const { config, database, logger } = input;
  const repos = database.repos;
  const file = join(config.dataDir, 'local-workspace.json');
  let local: { workspaceId: string; apiKey: string } | null = null;
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { workspaceId: string; apiKey: string };
    const auth = await repos.workspaces.authenticate(saved.apiKey);
    if (auth?.workspaceId === saved.workspaceId) local = saved;
  }
  if (!local) {
    const created = await repos.workspaces.create({ name: 'local' });
    local = { workspaceId: created.workspace.id, apiKey: created.apiKey };
    writeFileSync(file, JSON.stringify(local), { mode: 0o600 });
    logger.info({ workspaceId: local.workspaceId }, 'created the local workspace');
  }

  let mock: MockLlm | null = null;
  if (config.mockProvider) {
    const existing = await repos.credentials.resolve(local.workspaceId, 'openai');
    if (!existing || existing.apiKey === MOCK_API_KEY) {
      mock = await startMockLlm({ port: 0, host: '127.0.0.1' });
      // OpenAI-style base URLs include /v1; Anthropic and Gemini SDKs add their own paths.
      // Typed, so that a new provider is a compile error here until the mock answers it.
      const baseUrls = { openai: `${mock.url}/v1`, 'openai-compatible': `${mock.url}/v1`, anthropic: mock.url, gemini: mock.url } satisfies Record<LlmProviderName, string>;
      for (const [provider, baseUrl] of Object.entries(baseUrls) as Array<[LlmProviderName, string]>) {
        await repos.credentials.put({ workspaceId: local.workspaceId, provider, apiKey: MOCK_API_KEY, baseUrl });
      }
      // The mock listens on loopback, which provider calls reach only where the workspace allows
      // private networks: the local workspace does while it uses the mock (a property of this
      // one workspace on this machine, not an exemption in the egress wall). Cloud metadata
      // stays refused.
      await repos.workspaces.updateSettings({ workspaceId: local.workspaceId, patch: { httpAllowPrivateNetworks: true } });
      logger.warn({ mockUrl: mock.url }, 'no provider credentials: LLM nodes answer from the local mock provider');
    }
  }
  return { ...local, mock };
}

export function banner(input: { url: string; config: WeftConfig; local: LocalWorkspace }): string {
  const { url, config, local } = input;
  const key = local.apiKey;
  const flow = JSON.stringify({
    name: 'research',
    inputSchema: { type: 'object', required: ['topic'], properties: { topic: { type: 'string', minLength: 1 } } },
    nodes: [
      { id: 'research', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'What is {{input.topic}}?' },
      { id: 'summary', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', system: 'Summarize this: {{research}}', prompt: 'Make it 3 sentences' },
      { id: 'actions', type: 'llm', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Extract action items from: {{summary.output}}' },
    ],
    edges: [{ from: 'research', to: 'summary' }, { from: 'summary', to: 'actions' }],
  });
  const lines = [
    '',
    `Weft is running in embedded mode at ${url}`,
    `  data folder  ${config.dataDir} (PGlite; queue, state and events in memory)`,
    `  API key      ${key}   (workspace "local"; also in ${join(config.dataDir, 'local-workspace.json')})`,
    `  admin token  ${config.adminToken ?? ''}   (creates workspaces, edits prices; kept in ${join(config.dataDir, 'admin.token')})`,
    local.mock
      ? `  LLM          mock provider at ${local.mock.url} (no credentials set). Use a real key: curl -X PUT ${url}/v1/credentials/openai -H "Authorization: Bearer ${key}" -H 'content-type: application/json' -d '{"apiKey":"sk-..."}'`
      : '  LLM          the workspace\'s own provider credentials',
    '',
    'Create and run the 3-node example flow:',
    `  export WEFT_KEY=${key}`,
    `  FLOW=$(curl -s -X POST ${url}/v1/flows -H "Authorization: Bearer $WEFT_KEY" -H 'content-type: application/json' -d '${flow}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')`,
    `  curl -s -X POST ${url}/v1/flows/$FLOW/executions -H "Authorization: Bearer $WEFT_KEY" -H 'content-type: application/json' -d '{"input":{"topic":"durable execution"},"wait":true}'`,
    '',
  ];
  return lines.join('\n');
}
