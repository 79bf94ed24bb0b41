/**
 * The `fetch` handed to the provider SDKs: a request over a dispatcher that judges every
 * connection by the workspace's address policy (see http-client/egress-agent), with a cap on
 * what a response may make this process hold.
 *
 * It sends with undici's `Dispatcher.request`, not with `fetch`: a call waiting for its answer
 * (an LLM call is mostly that) then holds undici's request and socket only, about 8 KB, where a
 * pending WHATWG fetch holds its whole machinery (request and response objects, streams, the
 * fetch controller and its async frames), about 22 KB. A fetch-shaped `Response` is built once
 * the headers are in. Measured with 1000 calls parked on a hanging server, the openai SDK over
 * each: 31.6 KB a call over undici's fetch, 17.2 KB over this.
 */
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { WeftError } from '@weft/shared/errors';
import type { Dispatcher } from 'undici';
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

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The request headers as undici's flat list, from whatever HeadersInit the SDK passed. */
function flatHeaders(init: RequestInit['headers']): string[] {
  const flat: string[] = [];
  for (const [name, value] of new Headers(init)) flat.push(name, value);
  return flat;
}

/** A body the dispatcher sends as is; anything else (a form, a stream…) is read whole first. */
async function requestBody(body: RequestInit['body']): Promise<string | Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Undoes a Content-Encoding that the server applied anyway (nothing asks for one). */
function decoded(body: Readable, encoding: string): Readable {
  switch (encoding.trim().toLowerCase()) {
    case 'gzip': case 'x-gzip': return body.pipe(createGunzip());
    case 'deflate': return body.pipe(createInflate());
    case 'br': return body.pipe(createBrotliDecompress());
    default: return body;
  }
}

const NEWLINE = 0x0a;

/**
 * Counts bytes of a streamed answer's lines as they pass and errors the stream past the cap:
 * the source is then cancelled, which closes the connection, so nothing past the cap is read.
 */
function lineCap(input: { limit: number; fail: () => WeftError }): TransformStream<Uint8Array, Uint8Array> {
  let count = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // The line in progress carries over from earlier chunks; each newline ends one.
      let start = 0;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
        if (count + (i - start) > input.limit) break;
        count = 0;
        start = i + 1;
      }
      count += chunk.byteLength - start;
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
    // The SDKs pass a URL string (or URL) and a plain init.
    const url = new URL(input instanceof Request ? input.url : input);
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: (init?.method ?? 'GET'),
        headers: flatHeaders(init?.headers),
        body: await requestBody(init?.body),
        signal: init?.signal ?? null,
      });
    } catch (err) {
      const refusal = findRefusal(err);
      if (refusal !== undefined) {
        const error = new WeftError('LLM_ADDRESS_BLOCKED', `${provider}: ${refusal.message}`);
        onFailure(error);
        throw error;
      }
      throw err;
    }
    const { statusCode: status, headers, body } = response;
    // A response of the global fetch's own classes, which is what the SDKs are typed for.
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) responseHeaders.append(name, one);
    }
    const encoding = headerText(headers['content-encoding']) || 'identity';
    if (encoding !== 'identity') responseHeaders.delete('content-length');
    const responseInit = { status, headers: responseHeaders };
    // Statuses that carry no body (fetch's own rule: a Response refuses one for them).
    if (status === 204 || status === 205 || status === 304 || (init?.method ?? 'GET').toUpperCase() === 'HEAD') {
      body.destroy();
      return new Response(null, responseInit);
    }
    const streamed = headerText(headers['content-type']).toLowerCase().includes('text/event-stream');
    const declared = Number(headers['content-length'] ?? Number.NaN);
    if (!streamed && Number.isFinite(declared) && declared > limit && encoding === 'identity') {
      body.destroy();
      throw tooLarge();
    }
    if (!streamed) {
      // A JSON answer is read whole by the SDK anyway: read here, within the cap, it reaches the
      // SDK as bytes, without a web stream and a transform per chunk.
      return new Response(await readCapped(decoded(body, encoding), limit, tooLarge), responseInit);
    }
    const web = Readable.toWeb(decoded(body, encoding)) as ReadableStream<Uint8Array>;
    const capped = web.pipeThrough(lineCap({ limit, fail: tooLarge }));
    return new Response(capped, responseInit);
  };
}

/** The whole body, or `fail()` thrown (and the body destroyed, closing its connection) past `limit` bytes. */
async function readCapped(body: Readable, limit: number, fail: () => WeftError): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let count = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    count += chunk.byteLength;
    if (count > limit) {
      body.destroy();
      throw fail();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
}
