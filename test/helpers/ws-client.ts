/** A WebSocket test client that records every message and can wait for one. */
import WebSocket from 'ws';
import { waitFor } from './wait-for.js';

export interface RecordedSocket {
  messages: Array<Record<string, unknown>>;
  send(message: unknown): void;
  /** Sends text as is (for malformed messages). */
  sendRaw(text: string): void;
  waitForMessage(predicate: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

export async function connectWs(url: string, headers: Record<string, string> = {}): Promise<RecordedSocket> {
  const ws = new WebSocket(url, { headers });
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data: Buffer) => { messages.push(JSON.parse(data.toString()) as Record<string, unknown>); });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve(); });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`websocket upgrade refused: ${res.statusCode}`)); });
  });
  return {
    messages,
    send: (m) => { ws.send(JSON.stringify(m)); },
    sendRaw: (text) => { ws.send(text); },
    waitForMessage: (predicate, timeoutMs = 15_000) => waitFor(() => messages.find(predicate), { timeoutMs, message: 'websocket message' }),
    close: () => { ws.close(); },
  };
}
