/** What a response's headers ask us to wait before retrying; shared by every provider adapter. */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * `retry-after-ms` (milliseconds, OpenAI and Anthropic send it) wins over `retry-after`
 * (delta-seconds or an HTTP date). Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfterMs(headers: HeaderReader | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Date.parse is lenient ('-3' is a year); an HTTP date always names a day or month.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
