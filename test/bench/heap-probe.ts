/**
 * Preloaded (`--import`) into a worker started with `--expose-gc` by the bench: on an IPC message
 * `{type: 'heap'}` it forces full collections and answers the heap in use. Nothing of Weft's own
 * code changes; the IPC channel is unref'd so it never keeps the worker alive.
 */
import { writeHeapSnapshot } from 'node:v8';

interface HeapRequest {
  type: 'heap' | 'snapshot';
  id: number;
  /** snapshot: where to write it. */
  path?: string;
}

function isHeapRequest(m: unknown): m is HeapRequest {
  const type = (m as { type?: unknown } | null)?.type;
  return typeof m === 'object' && m !== null && (type === 'heap' || type === 'snapshot') && typeof (m as { id?: unknown }).id === 'number';
}

const collect = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.channel?.unref();
  process.on('message', (message: unknown) => {
    if (!isHeapRequest(message)) return;
    if (message.type === 'snapshot') {
      // A heap snapshot (BENCH_HEAP_SNAPSHOT_DIR): what the parked executions hold, by constructor.
      process.send?.({ type: 'snapshot', id: message.id, path: writeHeapSnapshot(message.path) });
      return;
    }
    // Twice: the first pass may only queue finalizers whose memory the second frees.
    collect?.();
    collect?.();
    process.send?.({ type: 'heap', id: message.id, heapUsed: process.memoryUsage().heapUsed, gc: collect !== undefined });
  });
}
