/** Process lifecycle shared by the api and worker entry points. */
import { ConfigError, loadConfig, type Role, type WeftConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';

/** Loads the config or exits with one line naming every bad variable. */
export function loadConfigOrExit(input: { role: Role; name: string }): WeftConfig {
  try {
    return loadConfig(process.env, input.role);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${input.name}: ${err.problems.join('; ')}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * On SIGTERM or SIGINT, runs the shutdown steps once, in order, then exits (0, or 1 if a step
 * failed). A second signal while shutting down is ignored rather than cutting the steps short.
 */
export function exitOnSignals(input: { logger: Logger; steps: Array<() => Promise<unknown>> }): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    input.logger.info({ signal }, 'shutting down');
    void (async () => {
      for (const step of input.steps) await step();
      process.exit(0);
    })().catch((err: unknown) => {
      input.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => { stop('SIGTERM'); });
  process.on('SIGINT', () => { stop('SIGINT'); });
}

/** Entry points end here when start-up throws. */
export function exitOnStartFailure(name: string): (err: unknown) => void {
  return (err) => {
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  };
}
