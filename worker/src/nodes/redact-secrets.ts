import { SECRET_PLACEHOLDER } from '@weft/shared/templates';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces every occurrence of the given secret values with `[secret]`, in one pass (a
 * placeholder is never redacted again), longest value first so that a secret containing
 * another is replaced whole.
 */
export class SecretRedactor {
  private readonly pattern: RegExp | null;

  constructor(values: Iterable<string>) {
    const distinct = [...new Set(values)].filter((v) => v !== '').sort((a, b) => b.length - a.length);
    this.pattern = distinct.length === 0 ? null : new RegExp(distinct.map(escapeRegExp).join('|'), 'g');
  }

  get empty(): boolean {
    return this.pattern === null;
  }

  text(input: string): string {
    return this.pattern === null ? input : input.replace(this.pattern, SECRET_PLACEHOLDER);
  }

  /** A copy of a JSON value with every string (values and keys) redacted; other leaves kept. */
  value(input: unknown): unknown {
    if (this.pattern === null) return input;
    if (typeof input === 'string') return this.text(input);
    if (Array.isArray(input)) return input.map((item: unknown) => this.value(item));
    if (typeof input === 'object' && input !== null) {
      return Object.fromEntries(Object.entries(input).map(([key, item]) => [this.text(key), this.value(item)]));
    }
    return input;
  }
}
