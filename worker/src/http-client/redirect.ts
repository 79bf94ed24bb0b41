/**
 * How a request changes when it follows a redirect, per the Fetch standard's HTTP-redirect
 * fetch. Pure.
 */

export interface HopRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers that describe the request body; they go when the body goes. */
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'transfer-encoding']);

/** Headers that carry credentials or name the old host; they never follow to another origin. */
const CROSS_ORIGIN_DROPPED: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/**
 * The request to send after a redirect: 301/302 turn POST into GET, 303 turns anything but GET/HEAD into GET, both
 * dropping the body; 307/308 keep method and body. Credentials are dropped on a change of
 * origin (scheme, host or port).
 */
export interface RedirectStep {
  readonly request: HopRequest;
  readonly status: number;
  /** The Location, already resolved against the current URL and checked to be http(s). */
  readonly target: URL;
}

export function followRedirect({ request, status, target }: RedirectStep): HopRequest {
  const method = request.method;
  const toGet = ((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD');
  const crossOrigin = target.origin !== request.url.origin;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (toGet && BODY_HEADERS.has(lower)) continue;
    if (crossOrigin && CROSS_ORIGIN_DROPPED.has(lower)) continue;
    headers[name] = value;
  }
  return { method: toGet ? 'GET' : method, url: target, headers, body: toGet ? undefined : request.body };
}
