import type { IncomingMessage } from 'node:http';
import { addAbortSignal, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { abortReason, HttpClientError, toHttpClientError } from './http-client-error.js';

export interface ReadBodyOptions {
  readonly response: IncomingMessage;
  /** Cap on the decoded body: a small gzip bomb must not fill the worker's memory. */
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  /** Names the target in error messages. */
  readonly origin: string;
}

function decoderFor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

function tooLarge(origin: string, maxBytes: number): HttpClientError {
  return new HttpClientError('response_too_large', `response from ${origin} is larger than ${maxBytes} bytes`);
}

/**
 * Reads the whole response body, decoding gzip, deflate and br, and fails as soon as the decoded
 * size passes `maxBytes` (or at once when Content-Length already says so). Aborting `signal`
 * destroys the socket and rejects with the signal's reason.
 */
export async function readBody({ response, maxBytes, signal, origin }: ReadBodyOptions): Promise<Buffer> {
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = decoderFor(encoding);
  const declared = Number(response.headers['content-length']);
  if (decoder === undefined && Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge(origin, maxBytes);
  }
  let source: Readable = response;
  if (decoder !== undefined) {
    response.once('error', (err) => decoder.destroy(err));
    response.pipe(decoder);
    source = decoder;
  }
  addAbortSignal(signal, source);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source) {
      const buffer = chunk as Buffer;
      total += buffer.length;
      if (total > maxBytes) throw tooLarge(origin, maxBytes);
      chunks.push(buffer);
    }
  } catch (err) {
    if (signal.aborted) throw abortReason(signal);
    throw toHttpClientError(err, origin);
  } finally {
    response.destroy();
  }
  return Buffer.concat(chunks, total);
}
