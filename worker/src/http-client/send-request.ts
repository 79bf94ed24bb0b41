import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { abortReason, toHttpClientError } from './http-client-error.js';
import type { HopRequest } from './redirect.js';

export interface SendRequestOptions {
  readonly request: HopRequest;
  /** Resolver for host names (the guarded one); IP literals never reach it, node:net connects directly. */
  readonly lookup: LookupFunction;
  /** Aborting destroys the socket; the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

/**
 * Sends one request, without following redirects, and resolves once the response head has
 * arrived; the caller reads or discards the body. A fresh agent per request: no pooled socket
 * (connected to whatever a name resolved to earlier) is ever reused, and no proxy settings
 * from the environment apply.
 */
export function sendRequest({ request, lookup, signal }: SendRequestOptions): Promise<IncomingMessage> {
  const { url, method, headers, body } = request;
  const origin = url.origin;
  return new Promise<IncomingMessage>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const options: RequestOptions = {
      method,
      // URL keeps brackets around IPv6 literals; node:net wants the bare address.
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: body === undefined ? headers : { ...headers, 'content-length': String(body.length) },
      lookup,
      agent: false,
    };
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(abortReason(signal));
    };
    let req: ReturnType<typeof httpRequest>;
    try {
      req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options);
    } catch (err) {
      // Invalid header names or values, or a bad method, throw synchronously.
      reject(toHttpClientError(err, origin));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('response', (response) => {
      signal.removeEventListener('abort', onAbort);
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      resolve(response);
    });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      reject(signal.aborted ? abortReason(signal) : toHttpClientError(err, origin));
    });
    req.end(body);
  });
}
