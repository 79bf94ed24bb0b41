/** The bench as a WebSocket client of an api (`/v1/ws`), or of the bare relay baseline. */
import WebSocket from 'ws';
import { withTimeout } from './waits.js';

export async function openSocket(url: string, headers: Record<string, string>, onEvent: (message: string) => void): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  ws.on('message', (data: Buffer) => { onEvent(data.toString('utf8')); });
  await withTimeout(new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve(); });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`websocket upgrade refused: ${String(res.statusCode)}`)); });
  }), 10_000, `websocket ${url}`);
  return ws;
}

/** Subscribes an api WebSocket to a flow's events; resolves once the api acknowledged it. */
export async function subscribeToFlow(ws: WebSocket, flowId: string, what: string): Promise<void> {
  const subscribed = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => { if (data.toString('utf8').includes('"subscribed"')) resolve(); });
  });
  ws.send(JSON.stringify({ type: 'subscribe', flowId }));
  await withTimeout(subscribed, 10_000, what);
}
