import { lookup as dnsLookup } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { normaliseHostName, parseHostLiteral, type AddressPolicy, type AddressRefusal } from './address-policy.js';
import { createGuardedLookup } from './guarded-lookup.js';
import { abortReason, HttpClientError } from './http-client-error.js';
import { judgeHost } from './judge-host.js';
import { parseBody } from './parse-body.js';
import { readBody } from './read-body.js';
import { followRedirect, isRedirectStatus, type HopRequest } from './redirect.js';
import { sendRequest } from './send-request.js';

export const DEFAULT_MAX_REDIRECTS = 5;
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export interface SafeFetchRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Deadline for the whole exchange: every hop, and reading the body. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Redirects followed before failing; 0 returns the 3xx response as it is. Default 5. */
  readonly maxRedirects?: number;
  /** Cap on the decoded response body. Default 10 MB. */
  readonly maxResponseBytes?: number;
  /** The workspace allows loopback, private, CGNAT and link-local destinations. */
  readonly allowPrivateNetworks?: boolean;
  /** The workspace allows cloud metadata endpoints (not implied by `allowPrivateNetworks`). */
  readonly allowMetadataEndpoints?: boolean;
  /**
   * Host names (or IP literals) exempt from the address policy, matched exactly per hop: a
   * redirect away from one of them is judged afresh.
   */
  readonly allowHosts?: readonly string[];
  /** Resolver, `dns.lookup` by default; injected by tests. Its answers are always checked. */
  readonly lookup?: LookupFunction;
}

export interface SafeFetchResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Parsed JSON when the content type is JSON and the text parses, the text otherwise. */
  readonly body: unknown;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

const defaultLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options, callback);
};

function refused(url: URL, refusal: AddressRefusal): HttpClientError {
  const message = `refused ${url.protocol}//${url.host}: ${refusal.reason}; the workspace does not allow this destination`;
  return new HttpClientError('address_blocked', message, { target: refusal.target });
}

function parseTarget(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch (err) {
    throw new HttpClientError('invalid_url', `not a valid URL${base === undefined ? '' : ` in redirect from ${base.origin}`}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpClientError('unsupported_protocol', `only http and https are allowed, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new HttpClientError('invalid_url', `credentials in the URL of ${url.origin} are not supported; send an Authorization header`);
  }
  return url;
}

interface HopGuard {
  readonly policy: AddressPolicy;
  readonly allowHosts: ReadonlySet<string>;
  readonly lookup: LookupFunction;
}

/**
 * Checks what can be checked before connecting and returns the resolver for this hop. IP
 * literals are judged here because node:net connects to them without any lookup; names are
 * judged by the guarded lookup, at connect time.
 */
function resolverFor(url: URL, guard: HopGuard): LookupFunction {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = parseHostLiteral(host);
  const exempt = guard.allowHosts.has(normaliseHostName(host)) || (literal !== undefined && guard.allowHosts.has(literal.address));
  if (exempt) return guard.lookup;
  // Literals (node:net skips the lookup for a canonical one), unparsable literals (fail closed)
  // and refused names; other names are judged by the guarded lookup, which also covers any
  // other spelling of a literal.
  const refusal = judgeHost(host, guard.policy);
  if (refusal !== undefined) throw refused(url, refusal);
  return createGuardedLookup({ lookup: guard.lookup, policy: guard.policy });
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** HEAD, 204 and 304 answers carry no body whatever their Content-Length says. */
function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new HttpClientError('invalid_request', `${name} must be a positive number`);
  return value;
}

/** Links the caller's signal and the deadline into one; `dispose` clears the timer. */
function deadlineSignal(timeoutMs: number, outer: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new HttpClientError('timeout', `request timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onOuterAbort = (): void => {
    controller.abort(new HttpClientError('cancelled', 'request cancelled', { cause: outer?.reason }));
  };
  if (outer?.aborted === true) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}

/**
 * An outbound HTTP request that cannot reach internal addresses unless the workspace allows
 * them: only http and https; IP literals in any spelling are judged before connecting; names
 * are judged on every resolved address at connect time; every redirect hop is judged again.
 * Non-2xx responses are returned, not thrown. Errors are `HttpClientError`s: refusals and bad
 * input are permanent, timeouts and connection failures transient.
 */
export async function safeFetch(request: SafeFetchRequest): Promise<SafeFetchResponse> {
  const timeoutMs = positive('timeoutMs', request.timeoutMs);
  const maxBytes = positive('maxResponseBytes', request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  const maxRedirects = request.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new HttpClientError('invalid_request', 'maxRedirects must be a non-negative integer');
  const guard: HopGuard = {
    policy: { allowPrivateNetworks: request.allowPrivateNetworks === true, allowMetadataEndpoints: request.allowMetadataEndpoints === true },
    allowHosts: new Set((request.allowHosts ?? []).map((h) => parseHostLiteral(h)?.address ?? normaliseHostName(h))),
    lookup: request.lookup ?? defaultLookup,
  };
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
  let hop: HopRequest = { method: request.method.toUpperCase(), url: parseTarget(request.url), headers: { ...request.headers }, body };

  const deadline = deadlineSignal(timeoutMs, request.signal);
  try {
    for (let redirects = 0; ; redirects += 1) {
      if (deadline.signal.aborted) throw abortReason(deadline.signal);
      const lookup = resolverFor(hop.url, guard);
      const response = await sendRequest({ request: hop, lookup, signal: deadline.signal });
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (isRedirectStatus(status) && location !== undefined && maxRedirects > 0) {
        response.destroy();
        if (redirects >= maxRedirects) {
          throw new HttpClientError('too_many_redirects', `more than ${maxRedirects} redirects, last from ${hop.url.origin}`);
        }
        hop = followRedirect({ request: hop, status, target: parseTarget(location, hop.url) });
        continue;
      }
      const bytes = hasBody(hop.method, status)
        ? await readBody({ response, maxBytes, signal: deadline.signal, origin: hop.url.origin })
        : (response.destroy(), Buffer.alloc(0));
      return { status, headers: flattenHeaders(response.headers), body: parseBody(response.headers['content-type'], bytes), url: hop.url.href };
    }
  } finally {
    deadline.dispose();
  }
}
