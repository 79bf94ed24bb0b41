import Type from 'typebox';
import type { ErrorDetail } from '../errors/weft-error.js';
import { WeftError } from '../errors/weft-error.js';
import { stringLeaves } from '../templates/json-leaves.js';
import { parseTemplate } from '../templates/parse-template.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';
import { nodeCommonProperties } from './node-common-schema.js';
import type { NodeTypeSpec, TemplatedField } from './node-type-spec.js';
import { HTTP_METHODS, type HttpNode } from './types.js';

/** RFC 9110 token: what node:http accepts as a header name. */
export const HTTP_HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Set by the client from the URL and the body; a node may not override them. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

export const HTTP_URL_MAX_LENGTH = 8192;

export const HttpNodeSchema = Type.Object(
  {
    ...nodeCommonProperties,
    type: Type.Literal('http'),
    method: Type.Enum(HTTP_METHODS),
    /** Templated; http or https only. */
    url: Type.String({ minLength: 1, maxLength: HTTP_URL_MAX_LENGTH }),
    /** Values templated; `{{vault.NAME}}` allowed. */
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    body: Type.Optional(
      Type.Unknown({
        description: 'A templated string sent as is, or a JSON value whose string leaves are templated, sent as JSON',
      }),
    ),
  },
  { additionalProperties: false, title: 'HttpNode' },
);

function httpTemplatedFields(node: object): TemplatedField[] {
  const n = node as Record<string, unknown>;
  const fields: TemplatedField[] = [];
  if (typeof n.url === 'string') fields.push({ pointer: '/url', text: n.url });
  if (isRecord(n.headers)) {
    for (const [name, value] of Object.entries(n.headers)) {
      if (typeof value === 'string') fields.push({ pointer: `/headers${jsonPointer(name)}`, text: value });
    }
  }
  // Iterative: a deep body cannot overflow the stack here (json-leaves.ts).
  for (const leaf of stringLeaves(n.body)) fields.push({ pointer: `/body${leaf.pointer}`, text: leaf.text });
  return fields;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * What can be known about the URL before it is rendered: the literal text before the first
 * reference must not name a scheme other than http or https, and a URL without references
 * must be a complete http(s) URL. `{{input.url}}` alone is checked at run time.
 */
function checkUrl(url: string): string | null {
  let segments;
  try {
    segments = parseTemplate(url);
  } catch (err) {
    if (err instanceof WeftError) return null; // reported by validateTemplates
    throw err;
  }
  const first = segments[0];
  const prefix = first?.kind === 'literal' ? first.text : '';
  const hasRefs = segments.some((s) => s.kind === 'ref');
  const scheme = SCHEME.exec(prefix)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // The scheme may still come from a reference: `{{input.base}}/x`, `http{{input.s}}://…`.
    if (hasRefs && 'https://'.startsWith(prefix.toLowerCase())) return null;
    return 'url must be an absolute http or https URL (or start with a reference)';
  }
  if (scheme !== 'http' && scheme !== 'https') return `url must be http or https, not ${scheme}:`;
  if (hasRefs) return null;
  let parsed: URL;
  try {
    parsed = new URL(prefix);
  } catch {
    return 'url is not a valid URL';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'url must not carry credentials; send an Authorization header';
  return null;
}

function httpCheck(node: object): ErrorDetail[] {
  const n = node as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  if (typeof n.url === 'string') {
    const problem = checkUrl(n.url);
    if (problem !== null) details.push({ path: '/url', message: problem, code: 'FLOW_INVALID_NODE_CONFIG' });
  }
  if (isRecord(n.headers)) {
    const seen = new Set<string>();
    for (const name of Object.keys(n.headers)) {
      const path = `/headers${jsonPointer(name)}`;
      const lower = name.toLowerCase();
      if (!HTTP_HEADER_NAME_PATTERN.test(name)) {
        details.push({ path, message: `'${name}' is not a valid header name`, code: 'FLOW_INVALID_NODE_CONFIG' });
      } else if (RESERVED_HEADERS.has(lower)) {
        details.push({ path, message: `header '${name}' is set by the client and cannot be given`, code: 'FLOW_INVALID_NODE_CONFIG' });
      } else if (seen.has(lower)) {
        details.push({ path, message: `header '${name}' is given twice (names are case-insensitive)`, code: 'FLOW_INVALID_NODE_CONFIG' });
      }
      seen.add(lower);
    }
  }
  if (n.method === 'HEAD' && Object.hasOwn(n, 'body')) {
    details.push({ path: '/body', message: 'a HEAD request has no body', code: 'FLOW_INVALID_NODE_CONFIG' });
  }
  return details;
}

export const httpNodeSpec: NodeTypeSpec = {
  // 5xx, 429, timeouts and resets are worth retrying; set retry.attempts 1 for non-idempotent calls.
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000 } },
  schema: HttpNodeSchema,
  templatedFields: httpTemplatedFields,
  check: httpCheck,
  branching: false,
  allowsVaultRefs: true,
};

// Compile-time guard: the schema and the hand-written HttpNode (types.ts) must agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _HttpNodeMatches = Assert<Same<Type.Static<typeof HttpNodeSchema>, HttpNode>>;
