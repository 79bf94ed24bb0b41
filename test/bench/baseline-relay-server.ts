/**
 * Relay baseline, in a process of its own like Weft's api: a bare ioredis pattern subscriber on
 * Weft's event channels that sends every message, as is, to every WebSocket client. What relaying
 * an event costs at least. Environment: PORT, REDIS_URL, BENCH_CHANNEL_PATTERN.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const clients = new Set<WebSocket>();
  const subscriber = new Redis(required('REDIS_URL'));
  subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
    for (const ws of clients) ws.send(message);
  });
  await subscriber.psubscribe(required('BENCH_CHANNEL_PATTERN'));

  const server = createServer((_req, res) => { res.writeHead(200).end('ok'); });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
  await new Promise<void>((resolve) => server.listen(Number(required('PORT')), '127.0.0.1', resolve));
  const stop = (): void => {
    for (const ws of clients) ws.terminate();
    wss.close();
    server.close();
    subscriber.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline relay server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
