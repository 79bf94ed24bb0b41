/** `npm run mock-llm`: the mock provider server on MOCK_LLM_PORT (4010) and HOST (127.0.0.1). */
import { pino } from 'pino';
import { startMockLlm } from './server.js';

const log = pino({ name: 'mock-llm' });

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 4010;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`MOCK_LLM_PORT must be a port number, got "${value}"`);
  return port;
}

async function main(): Promise<void> {
  const host = process.env.HOST ?? '127.0.0.1';
  const mock = await startMockLlm({ port: parsePort(process.env.MOCK_LLM_PORT), host });
  // Base URLs as each provider's credential takes them (the Anthropic and Gemini SDKs add the version).
  log.info({ url: mock.url, openaiBaseUrl: `${mock.url}/v1`, anthropicBaseUrl: mock.url, geminiBaseUrl: mock.url }, 'mock LLM provider listening');
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, requests: mock.requests.length }, 'mock LLM provider stopping');
    mock.close().then(
      () => { process.exit(0); },
      (err: unknown) => {
        log.error({ err }, 'mock LLM provider did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'mock LLM provider failed to start');
  process.exit(1);
});
