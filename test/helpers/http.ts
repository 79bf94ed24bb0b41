/** A tiny JSON HTTP client for tests against a running api. */
export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  ms: number;
}

export function apiClient(baseUrl: string, apiKey?: string) {
  return async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (apiKey && !('authorization' in h)) h.authorization = `Bearer ${apiKey}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}${path}`, { method, headers: h, ...(payload === undefined ? {} : { body: payload }) });
    const ms = performance.now() - t0;
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed as T, headers: res.headers, ms };
  };
}
