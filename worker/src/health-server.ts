/** The worker's own small HTTP server: liveness, readiness and Prometheus metrics. */
import { createServer, type Server } from 'node:http';
import type { WeftMetrics } from '@weft/shared/metrics';
import type { Readiness } from '@weft/shared/infrastructure';

export async function startHealthServer(options: { host: string; port: number; metrics: WeftMetrics; readiness: Readiness[] }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      if (path === '/health' || path === '/health/live') {
        send(200, { status: 'ok' });
        return;
      }
      if (path === '/health/ready') {
        const checks: Record<string, string> = {};
        let ok = true;
        for (const r of options.readiness) {
          try {
            await r.check();
            checks[r.name] = 'ok';
          } catch (err) {
            ok = false;
            checks[r.name] = err instanceof Error ? err.message : 'unreachable';
          }
        }
        if (ok) {
          send(200, { status: 'ok', checks });
          return;
        }
        send(503, { error: { code: 'dependency_unavailable', message: 'a dependency is down', details: Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k, v]) => ({ path: k, message: v })) } }, { 'retry-after': '5' });
        return;
      }
      if (path === '/metrics') {
        const text = await options.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
        res.end(text);
        return;
      }
      send(404, { error: { code: 'not_found', message: 'not found' } });
    })().catch(() => { send(500, { error: { code: 'internal_error', message: 'internal error' } }); });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  return server;
}
