import { toWeftError, WeftError } from '@weft/shared/errors';
import { SECRET_PLACEHOLDER } from '@weft/shared/templates';

/**
 * Length of the pieces matched: any run of this many characters of a secret (or of one of its
 * encoded forms) is redacted, so a provider that echoes a key masked (`sk-ant-api03-abcd****wxyz`)
 * or cut short leaks nothing longer than 7 characters of it.
 */
export const SECRET_FRAGMENT_CHARS = 8;

function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  // Inside a longer encoded value (Basic auth's `user:key`) the secret starts at any offset mod 3:
  // keep, for each offset, only the characters its bytes alone decide.
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = Math.ceil((shift * 8) / 6);
    const end = Math.floor(((shift + bytes.length) * 8) / 6);
    if (end <= start) continue;
    const inner = encoded.slice(start, end);
    forms.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  // A value encoded alone also ends with its last partial character (and padding).
  const whole = bytes.toString('base64');
  forms.push(whole, bytes.toString('base64url'));
  return forms;
}

/**
 * The texts a secret may travel as: itself, URL-encoded (either hex case, `+` for spaces),
 * JSON-escaped, and base64 (standard and URL-safe alphabets, at every byte offset).
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const url = encodeURIComponent(secret);
  forms.add(url);
  forms.add(url.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
  forms.add(url.replace(/%20/g, '+'));
  forms.add(JSON.stringify(secret).slice(1, -1));
  // JSON inside JSON (an error body quoted in another body's message).
  forms.add(JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1));
  for (const form of base64Forms(Buffer.from(secret, 'utf8'))) forms.add(form);
  return [...forms].filter((form) => form !== '');
}

const HASH_BASE = 31;
/** HASH_BASE ** (SECRET_FRAGMENT_CHARS - 1), mod 2^32: removes the leaving character of a rolling hash. */
const HASH_LEAD = (() => {
  let p = 1;
  for (let i = 1; i < SECRET_FRAGMENT_CHARS; i++) p = Math.imul(p, HASH_BASE);
  return p;
})();

function windowHash(text: string, start: number): number {
  let h = 0;
  for (let i = start; i < start + SECRET_FRAGMENT_CHARS; i++) h = (Math.imul(h, HASH_BASE) + text.charCodeAt(i)) | 0;
  return h;
}

export interface SecretRedactorOptions {
  /** What replaces a match. Default `[secret]`. */
  marker?: string;
  /** Values shorter than this are ignored: replacing them would mangle ordinary words. Default 1. */
  minLength?: number;
}

/**
 * Redacts every secret value, and every piece of SECRET_FRAGMENT_CHARS or more characters of it
 * or of its encoded forms (see `secretForms`), in one pass: each covered run of the text becomes
 * one marker, and a marker is never redacted again.
 *
 * Every window of SECRET_FRAGMENT_CHARS characters of every form is indexed once (a Set of
 * strings, and a Set of their rolling hashes); a text is scanned with a rolling hash, so each
 * position costs a few integer operations and a string is built only on a hash hit. Forms
 * shorter than a window are matched whole.
 */
export class SecretRedactor {
  private readonly windows = new Set<string>();
  private readonly hashes = new Set<number>();
  private readonly shortForms: string[];
  private readonly marker: string;
  /** Runs of text replaced so far by this redactor: non-zero once a target echoed a secret. */
  hits = 0;

  constructor(values: Iterable<string>, options: SecretRedactorOptions = {}) {
    this.marker = options.marker ?? SECRET_PLACEHOLDER;
    const minLength = Math.max(1, options.minLength ?? 1);
    const short = new Set<string>();
    for (const value of new Set(values)) {
      if (value.length < minLength) continue;
      for (const form of secretForms(value)) {
        if (form.length < SECRET_FRAGMENT_CHARS) {
          short.add(form);
          continue;
        }
        for (let i = 0; i + SECRET_FRAGMENT_CHARS <= form.length; i++) {
          const piece = form.slice(i, i + SECRET_FRAGMENT_CHARS);
          if (!this.windows.has(piece)) {
            this.windows.add(piece);
            this.hashes.add(windowHash(piece, 0));
          }
        }
      }
    }
    // Longest first, so that a form containing another is covered whole.
    this.shortForms = [...short].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.windows.size === 0 && this.shortForms.length === 0;
  }

  /** Sorted, merged [start, end) runs of `input` that belong to a secret. */
  private covered(input: string): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    const add = (start: number, end: number): void => {
      const last = runs[runs.length - 1];
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else runs.push([start, end]);
    };
    if (this.windows.size > 0 && input.length >= SECRET_FRAGMENT_CHARS) {
      let h = windowHash(input, 0);
      for (let i = 0; ; i++) {
        if (this.hashes.has(h) && this.windows.has(input.slice(i, i + SECRET_FRAGMENT_CHARS))) add(i, i + SECRET_FRAGMENT_CHARS);
        const next = i + SECRET_FRAGMENT_CHARS;
        if (next >= input.length) break;
        h = (Math.imul(h - Math.imul(input.charCodeAt(i), HASH_LEAD), HASH_BASE) + input.charCodeAt(next)) | 0;
      }
    }
    if (this.shortForms.length === 0) return runs;
    const extra: Array<[number, number]> = [];
    for (const form of this.shortForms) {
      for (let at = input.indexOf(form); at >= 0; at = input.indexOf(form, at + form.length)) extra.push([at, at + form.length]);
    }
    if (extra.length === 0) return runs;
    const all = [...runs, ...extra].sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [start, end] of all) {
      const last = merged[merged.length - 1];
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  }

  /** True when `input` holds a secret or a piece of one. */
  detects(input: string): boolean {
    return !this.empty && this.covered(input).length > 0;
  }

  text(input: string): string {
    if (this.empty) return input;
    const runs = this.covered(input);
    if (runs.length === 0) return input;
    this.hits += runs.length;
    let out = '';
    let from = 0;
    for (const [start, end] of runs) {
      out += input.slice(from, start) + this.marker;
      from = end;
    }
    return out + input.slice(from);
  }

  /** A copy of a JSON value with every string (values and keys) redacted; other leaves kept. */
  value(input: unknown): unknown {
    if (this.empty) return input;
    if (typeof input === 'string') return this.text(input);
    if (Array.isArray(input)) return input.map((item: unknown) => this.value(item));
    if (typeof input === 'object' && input !== null) {
      return Object.fromEntries(Object.entries(input).map(([key, item]) => [this.text(key), this.value(item)]));
    }
    return input;
  }
}

/** Default cap on the message of a node's error (WEFT_NODE_ERROR_MAX_CHARS): a target's body never rides in one wholesale. */
export const MAX_NODE_ERROR_MESSAGE_CHARS = 1000;

export interface RedactErrorOptions {
  /** Default MAX_NODE_ERROR_MESSAGE_CHARS. */
  maxChars?: number;
  /** Keep `err` itself, cause included, when redaction and the cap leave its message as it is. Default false. */
  keepUnchanged?: boolean;
}

/**
 * The error to throw in place of `err`: a WeftError whose message holds no secret (nor a piece
 * of one) and at most `maxChars` characters. A rebuilt error has no cause: node:http and the
 * SDKs quote header values and bodies in their messages, and causes end up in stacks and logs.
 */
export function redactError(err: unknown, redactor: SecretRedactor, options: RedactErrorOptions = {}): WeftError {
  const weft = toWeftError(err);
  const maxChars = options.maxChars ?? MAX_NODE_ERROR_MESSAGE_CHARS;
  const redacted = redactor.text(weft.message);
  const message = redacted.length > maxChars ? `${redacted.slice(0, maxChars)}…` : redacted;
  if (message === weft.message && (options.keepUnchanged === true || redactor.empty)) return weft;
  return new WeftError(weft.code, message, {
    category: weft.category,
    ...(weft.details === undefined ? {} : { details: weft.details.map((d) => ({ ...d, message: redactor.text(d.message) })) }),
    ...(weft.retryAfterMs === undefined ? {} : { retryAfterMs: weft.retryAfterMs }),
    ...(weft.billed === undefined ? {} : { billed: weft.billed }),
  });
}

/**
 * The deployment's own secrets, in the text forms they are configured in: the master key
 * (base64, base64url, hex), the admin token and the provider keys of the environment. Every
 * node's errors are redacted of them too.
 */
export function deploymentSecrets(config: { masterKey: Buffer | null; adminToken: string | null; envProviderKeys: Partial<Record<string, string>> }): string[] {
  const values: string[] = [];
  if (config.masterKey) values.push(config.masterKey.toString('base64'), config.masterKey.toString('base64url'), config.masterKey.toString('hex'));
  if (config.adminToken) values.push(config.adminToken);
  for (const key of Object.values(config.envProviderKeys)) if (key) values.push(key);
  return values;
}
