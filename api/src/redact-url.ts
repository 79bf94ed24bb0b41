/**
 * What of a request URL may be written to a log. Credentials travel in URLs in two ways: the
 * `?token=` query parameter (the event routes, for browsers' EventSource and WebSocket) and a
 * path segment (signed resume links, `/v1/resume/<token>`, inbound webhooks, `/v1/hooks/<token>`).
 * Both are replaced by `[redacted]`.
 */

/** The path parameter names that carry a credential: a route segment `:token` (or `:resumeToken`…). */
const TOKEN_PARAM = /^:(?:[A-Za-z]*Token|token)$/;

/**
 * Path patterns (in Fastify's syntax) whose token segment is never logged. Routes the app
 * registers with a token parameter are added to an app's redactor when they are registered
 * (`UrlRedactor.addRoute`), so a later route is covered without editing this list; the list
 * covers the same paths when they answer 404 (an unknown or mistyped link is still a token).
 */
export const TOKEN_PATH_PATTERNS: readonly string[] = ['/v1/resume/:token', '/v1/hooks/:token'];

const REDACTED = '[redacted]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `/v1/resume/:token` → a RegExp with one group per segment; null when no segment is a token. */
function compile(pattern: string): { regex: RegExp; tokenGroups: number[] } | null {
  const segments = pattern.split('/');
  const tokenGroups: number[] = [];
  const parts = segments.map((segment, i) => {
    if (TOKEN_PARAM.test(segment)) tokenGroups.push(i + 1);
    return segment.startsWith(':') ? '([^/?#]*)' : `(${escapeRegExp(segment)})`;
  });
  if (tokenGroups.length === 0) return null;
  // Case-insensitive and tolerant of a trailing slash, as the router is (ignoreTrailingSlash).
  return { regex: new RegExp(`^${parts.join('/')}(?=[/?#]|$)`, 'i'), tokenGroups };
}

export class UrlRedactor {
  private readonly rules: Array<{ regex: RegExp; tokenGroups: number[] }> = [];
  private readonly seen = new Set<string>();

  constructor(patterns: Iterable<string> = TOKEN_PATH_PATTERNS) {
    for (const pattern of patterns) this.addRoute(pattern);
  }

  /** Adds a route's path: its token segments are redacted from now on. Routes without one are ignored. */
  addRoute(pattern: string): void {
    if (this.seen.has(pattern)) return;
    this.seen.add(pattern);
    const rule = compile(pattern);
    if (rule) this.rules.push(rule);
  }

  /** The URL (path and query string) with every token replaced by `[redacted]`. */
  redact(url: string): string {
    const query = url.indexOf('?');
    let path = query < 0 ? url : url.slice(0, query);
    const rest = query < 0 ? '' : url.slice(query);
    for (const { regex, tokenGroups } of this.rules) {
      const match = regex.exec(path);
      if (!match) continue;
      const segments = match.slice(1).map((segment, i) => (tokenGroups.includes(i + 1) ? REDACTED : segment));
      path = segments.join('/') + path.slice(match[0].length);
      break;
    }
    return path + rest.replace(/([?&]token=)[^&#]*/gi, `$1${REDACTED}`);
  }
}

const defaultRedactor = new UrlRedactor();

/** The request URL as logged, with the default patterns: `?token=` and path tokens are never written out. */
export function redactUrl(url: string): string {
  return defaultRedactor.redact(url);
}
