/**
 * The `fetch` handed to the provider SDKs: undici's fetch over a dispatcher that judges every
 * connection by the workspace's address policy (see http-client/egress-agent), with a cap on
 * what a response may make this process hold.
 */
import { WeftError } from '@weft/shared/errors';
import { fetch as undiciFetch, type Dispatcher, type Response as UndiciResponse } from 'undici';
import { HttpClientError } from '../http-client/index.js';

/** The shape of fetch the openai, @anthropic-ai/sdk and @google/genai SDKs accept. */
export type ProviderFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface EgressFetchOptions {
  /** Label at the start of messages (`openai`, `anthropic`…). */
  readonly provider: string;
  /** Judges every connection (createEgressAgent). */
  readonly dispatcher: Dispatcher;
  /**
   * Cap on a response: on the whole body of a JSON (or any non-streamed) answer, and on each
   * line of a `text/event-stream`, so that neither a huge answer nor one endless SSE line is
   * buffered by the SDK. The answer text itself is capped by the LLM node.
   */
  readonly maxResponseBytes: number;
  /**
   * Told once which error ended the exchange: the SDKs wrap whatever fetch throws in their own
   * connection errors, so the caller rethrows this one instead (see ProviderEgress).
   */
  readonly onFailure: (error: WeftError) => void;
}

const MAX_CAUSE_DEPTH = 8;

/** The address refusal somewhere in an error's cause chain (undici wraps it in `TypeError: fetch failed`). */
function findRefusal(err: unknown): HttpClientError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth += 1) {
    if (current instanceof HttpClientError && current.reason === 'address_blocked') return current;
    current = current.cause;
  }
  return undefined;
}

function isEventStream(response: UndiciResponse): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().includes('text/event-stream');
}

const NEWLINE = 0x0a;

/**
 * Counts bytes as they pass and errors the stream past the cap: the source is then cancelled,
 * which closes the connection, so nothing past the cap is read.
 */
function byteCap(input: { limit: number; perLine: boolean; fail: () => WeftError }): TransformStream<Uint8Array, Uint8Array> {
  let count = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (input.perLine) {
        // The line in progress carries over from earlier chunks; each newline ends one.
        let start = 0;
        for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
          if (count + (i - start) > input.limit) break;
          count = 0;
          start = i + 1;
        }
        count += chunk.byteLength - start;
      } else {
        count += chunk.byteLength;
      }
      if (count > input.limit) {
        controller.error(input.fail());
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

export function createEgressFetch(options: EgressFetchOptions): ProviderFetch {
  const { provider, dispatcher, maxResponseBytes: limit, onFailure } = options;
  const tooLarge = (): WeftError => {
    const error = new WeftError('LLM_OUTPUT_TOO_LARGE', `${provider}: the response is larger than ${limit} bytes`);
    onFailure(error);
    return error;
  };
  return async (input, init) => {
    let response: UndiciResponse;
    try {
      // undici's own fetch, so that the dispatcher is of the same undici; the SDKs pass a URL
      // string and a plain init, which both fetches read alike.
      response = await undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher });
    } catch (err) {
      const refusal = findRefusal(err);
      if (refusal !== undefined) {
        const error = new WeftError('LLM_ADDRESS_BLOCKED', `${provider}: ${refusal.message}`);
        onFailure(error);
        throw error;
      }
      throw err;
    }
    const { body } = response;
    // A response of the global fetch's own classes, which is what the SDKs are typed for.
    const responseInit = { status: response.status, statusText: response.statusText, headers: [...response.headers] };
    if (body === null) return new Response(null, responseInit);
    const streamed = isEventStream(response);
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (!streamed && Number.isFinite(declared) && declared > limit && (response.headers.get('content-encoding') ?? 'identity') === 'identity') {
      await body.cancel();
      throw tooLarge();
    }
    const capped = body.pipeThrough(byteCap({ limit, perLine: streamed, fail: tooLarge }));
    return new Response(capped, responseInit);
  };
}
