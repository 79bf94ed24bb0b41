import { WeftError } from '../errors/weft-error.js';
import { NODE_ID_PATTERN, RESERVED_NODE_IDS } from '../flow/types.js';
import { USAGE_KEYS, type TemplateRef, type TemplateSegment } from './types.js';

const PATH_SEGMENT = /^[\p{L}\p{N}_$-]+$/u;
const USAGE_KEY_SET: ReadonlySet<string> = new Set(USAGE_KEYS);

function syntaxError(message: string): WeftError {
  return new WeftError('TEMPLATE_SYNTAX', message);
}

/** A node reference reads the node's result: its output (whole or a path) or one usage counter. */
function checkNodeRefPath(root: string, path: readonly string[], source: string): void {
  const [field, ...rest] = path;
  if (field === undefined || field === 'output') return;
  if (field === 'usage') {
    const [key, ...extra] = rest;
    if (extra.length === 0 && (key === undefined || USAGE_KEY_SET.has(key))) return;
    throw syntaxError(`invalid reference {{${source}}}: usage fields are ${USAGE_KEYS.join(', ')}`);
  }
  throw syntaxError(
    `invalid reference {{${source}}}: write {{${root}}}, {{${root}.output.…}} or {{${root}.usage.…}}`,
  );
}

function parseRef(inner: string, offset: number): TemplateRef {
  const source = inner.trim();
  if (source === '') throw syntaxError(`empty reference at offset ${offset}`);
  const [root = '', ...path] = source.split('.');
  if (!NODE_ID_PATTERN.test(root)) {
    throw syntaxError(`invalid reference {{${source}}} at offset ${offset}: '${root}' is not a node id or input`);
  }
  for (const segment of path) {
    if (!PATH_SEGMENT.test(segment)) {
      throw syntaxError(`invalid reference {{${source}}} at offset ${offset}: bad path segment '${segment}'`);
    }
  }
  if (!RESERVED_NODE_IDS.has(root)) checkNodeRefPath(root, path, source);
  return { kind: 'ref', root, path, source, offset };
}

/**
 * Splits a template into literal text and `{{ref}}` segments. `\{{` is a literal `{{`; in a
 * run of three or more braces the extra leading ones are literal (`{{{x}}}` → `{`, x, `}`),
 * which keeps JSON-shaped prompts writable. Throws TEMPLATE_SYNTAX on an unclosed `{{`, an
 * empty reference or one that is not `root(.segment)*`.
 */
export function parseTemplate(text: string): TemplateSegment[] {
  const segments: TemplateSegment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open === -1) {
      literal += text.slice(i);
      break;
    }
    if (open > i && text[open - 1] === '\\') {
      literal += `${text.slice(i, open - 1)}{{`;
      i = open + 2;
      continue;
    }
    if (text[open + 2] === '{') {
      literal += text.slice(i, open + 1);
      i = open + 1;
      continue;
    }
    const close = text.indexOf('}}', open + 2);
    if (close === -1) throw syntaxError(`unclosed '{{' at offset ${open}`);
    const ref = parseRef(text.slice(open + 2, close), open);
    literal += text.slice(i, open);
    if (literal !== '') segments.push({ kind: 'literal', text: literal });
    literal = '';
    segments.push(ref);
    i = close + 2;
  }
  if (literal !== '') segments.push({ kind: 'literal', text: literal });
  return segments;
}
