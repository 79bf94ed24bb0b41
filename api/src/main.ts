/**
 * The api's entry point, distributed mode: `npm run start:api` (`node api/dist/main.js
 * --role=api` in images). The worker fleet runs apart (`npm run start:worker`); `npm start`
 * runs both in one process (api/embedded).
 */
import { createDatabase } from '@weft/db/database';
import { createProcessResources } from '@weft/shared/infrastructure';
import { exitOnSignals, exitOnStartFailure, loadConfigOrExit } from '@weft/shared/lifecycle';
import { createLogger } from '@weft/shared/logging';
import { createMetrics } from '@weft/shared/metrics';
import { buildApp } from './app.js';

function checkRole(argv: readonly string[]): void {
  const arg = argv.find((a) => a.startsWith('--role='));
  const role = arg?.slice('--role='.length) ?? 'api';
  if (role !== 'api') {
    process.stderr.write(`weft: this entry point runs the api alone (--role=api); api and worker together run with npm start, got '${role}'\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  checkRole(process.argv.slice(2));
  const config = loadConfigOrExit({ role: 'api', name: 'weft' });
  const logger = createLogger({ level: config.logLevel, name: 'weft-api', base: { role: 'api', mode: config.mode } });
  const metrics = createMetrics({ defaultLabels: { component: 'api' } });
  const resources = await createProcessResources({ config, logger, metrics, createDatabase });
  await resources.database.migrate();
  const app = await buildApp({ ...resources, config, logger, metrics });
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ url: address.replace('[::1]', 'localhost') }, 'api listening');
  exitOnSignals({ logger, steps: [() => app.close(), () => resources.close()] });
}

main().catch(exitOnStartFailure('weft'));
