/**
 * Preloaded (`--import`) into a worker started with `--expose-gc` by the bench: on an IPC message
 * `{type: 'heap'}` it forces full collections and answers the heap in use. Nothing of Weft's own
 * code changes; the IPC channel is unref'd so it never keeps the worker alive.
 */
interface HeapRequest {
  type: 'heap';
  id: number;
}

function isHeapRequest(m: unknown): m is HeapRequest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'heap' && typeof (m as { id?: unknown }).id === 'number';
}

const collect = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.channel?.unref();
  process.on('message', (message: unknown) => {
    if (!isHeapRequest(message)) return;
    // Twice: the first pass may only queue finalizers whose memory the second frees.
    collect?.();
    collect?.();
    process.send?.({ type: 'heap', id: message.id, heapUsed: process.memoryUsage().heapUsed, gc: collect !== undefined });
  });
}
