/** Reads an SSE stream that does not end by itself (a waiting execution) until `done` holds, then hangs up. */
import { waitFor } from './wait-for.js';

export interface SseEvent {
  id: string;
  event: string;
  data: any;
}

export async function readSseUntil(url: string, headers: Record<string, string>, done: (events: SseEvent[]) => boolean, timeoutMs = 15_000): Promise<SseEvent[]> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status}`);
  const events: SseEvent[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  const pump = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const field = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const id = field('id');
        const event = field('event');
        const data = field('data');
        if (id && event && data) events.push({ id, event, data: JSON.parse(data) });
        end = buffer.indexOf('\n\n');
      }
    }
  })();
  try {
    await waitFor(() => done(events), { timeoutMs, message: `SSE ${url}` });
    return [...events];
  } finally {
    abort.abort();
    await pump;
  }
}
