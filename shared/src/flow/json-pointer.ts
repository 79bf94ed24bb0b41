/** Builds a JSON pointer (RFC 6901) from path segments: `jsonPointer('nodes', 1, 'prompt')` → `/nodes/1/prompt`. */
export function jsonPointer(...segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
