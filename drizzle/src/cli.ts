/**
 * `npm run weft -- <command>`: operator commands on Weft's database (DATABASE_URL, or the
 * PGlite folder of embedded mode under WEFT_DATA_DIR).
 *
 *   rotate-master-key   re-encrypt credentials and secrets from WEFT_MASTER_KEY to WEFT_NEW_MASTER_KEY
 */
import { createLogger } from '@weft/shared/logging';
import { rotateMasterKeyCommand, type CommandContext } from './commands/rotate-master-key.js';

const COMMANDS: Readonly<Record<string, (ctx: CommandContext) => Promise<number>>> = {
  'rotate-master-key': rotateMasterKeyCommand,
};

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

async function main(argv: readonly string[]): Promise<number> {
  const level = process.env.LOG_LEVEL && LOG_LEVELS.has(process.env.LOG_LEVEL) ? process.env.LOG_LEVEL : 'info';
  const logger = createLogger({ level, name: 'weft-cli' });
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command || rest.length > 0) {
    logger.error({ given: argv, commands: Object.keys(COMMANDS) }, 'usage: npm run weft -- <command>');
    return 2;
  }
  return command({ env: process.env, logger });
}

process.exitCode = await main(process.argv.slice(2));
