/**
 * fast-check arbitraries for the api fuzz test: valid-ish values derived from the JSON schemas of
 * the served OpenAPI document, and the hostile mutations a tenant would try on them (NUL, lone
 * surrogates, deep nesting, huge strings, wrong types, unknown and hostile keys).
 */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minProperties?: number;
}

/** A string value that the body serializer swaps for the text of a deeply nested value. */
export const DEEP_MARKER = '\u0001deep\u0001';

/** Strings Postgres refuses, or that no UTF-8 encoder can carry. */
export const HOSTILE_TEXTS = ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800', '{{input.\u0000}}', '\u0000'.repeat(40)] as const;

const HUGE_LENGTHS = [70_000, 300_000] as const;
const DEEP_LEVELS = [65, 1_000, 10_000] as const;

function boundedLength(schema: JsonSchema): { minLength: number; maxLength: number } {
  const minLength = schema.minLength ?? 0;
  return { minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 24, 48)) };
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const { minLength, maxLength } = boundedLength(schema);
  if (schema.pattern !== undefined) {
    const re = new RegExp(schema.pattern);
    try {
      return fc.stringMatching(re).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity));
    } catch {
      // fast-check cannot generate from every regex (lookaheads): plain strings, kept when they match.
      return fc.string({ minLength, maxLength }).filter((s) => re.test(s));
    }
  }
  return fc.string({ minLength, maxLength, unit: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...'abcxyz_-. {}01'.split('')) }, { weight: 1, arbitrary: fc.constantFrom('é', '✓', '😀', '\t', '"', '\\') }) });
}

/** A value that (mostly) satisfies `schema`. Unconstrained values are small JSON documents. */
export function schemaArb(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined) return fc.oneof(...alternatives.map((s) => schemaArb(s, depth + 1)));
  if (schema.allOf !== undefined) {
    const merged: JsonSchema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      Object.assign(merged.properties ?? {}, part.properties);
      merged.required?.push(...(part.required ?? []));
    }
    return schemaArb(merged, depth + 1);
  }
  const type = (Array.isArray(schema.type) ? schema.type[0] : schema.type) ?? 'any';
  switch (type) {
    case 'string':
      return stringArb(schema);
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum === undefined ? -1000 : Math.floor(schema.exclusiveMinimum) + 1);
      return fc.integer({ min, max: Math.max(min, Math.min(schema.maximum ?? min + 1000, 2_147_483_647)) });
    }
    case 'number': {
      const min = schema.minimum ?? schema.exclusiveMinimum ?? -1000;
      const max = Math.max(min, schema.maximum ?? min + 1000);
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((n) => schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum);
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schemaArb(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) });
    case 'object': {
      const props = schema.properties ?? {};
      const names = Object.keys(props);
      if (names.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      const record = Object.fromEntries(names.map((name) => [name, schemaArb(props[name], depth + 1)]));
      const requiredKeys = (schema.required ?? []).filter((name) => names.includes(name));
      return fc.record(record, { requiredKeys }).filter((o) => Object.keys(o).length >= (schema.minProperties ?? 0));
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** What a mutation does; `pick` chooses the node (or key) it applies to, modulo the candidates. */
export type Mutation =
  | { kind: 'none' }
  | { kind: 'hostile-text'; pick: number; text: string }
  | { kind: 'hostile-key'; pick: number; text: string }
  | { kind: 'unknown-key'; pick: number; key: string; value: unknown }
  | { kind: 'wrong-type'; pick: number; value: unknown }
  | { kind: 'deep'; pick: number; levels: number; shape: 'array' | 'object' }
  | { kind: 'huge-string'; pick: number; length: number }
  | { kind: 'drop-key'; pick: number }
  | { kind: 'replace-whole'; value: unknown };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hostile-text' as const), pick: fc.nat(), text: fc.constantFrom(...HOSTILE_TEXTS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hostile-key' as const), pick: fc.nat(), text: fc.constantFrom(...HOSTILE_TEXTS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown-key' as const), pick: fc.nat(), key: fc.string({ maxLength: 10 }), value: fc.jsonValue({ maxDepth: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wrong-type' as const), pick: fc.nat(), value: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 5 }), fc.constant([]), fc.constant({})) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deep' as const), pick: fc.nat(), levels: fc.constantFrom(...DEEP_LEVELS), shape: fc.constantFrom('array' as const, 'object' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('huge-string' as const), pick: fc.nat(), length: fc.constantFrom(...HUGE_LENGTHS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop-key' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace-whole' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(DEEP_MARKER)) }) },
);

interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}

/** Every place in `root` a value sits (object properties and array items), in document order. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      current.forEach((item: unknown, i) => {
        out.push({ parent: current, key: i });
        stack.push(item);
      });
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, item] of Object.entries(current)) {
        out.push({ parent: current as Record<string, unknown>, key });
        stack.push(item);
      }
    }
  }
  return out;
}

function objects(root: unknown): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  if (typeof root === 'object' && root !== null && !Array.isArray(root)) found.push(root as Record<string, unknown>);
  for (const slot of slots(root)) {
    const value = (slot.parent as Record<string, unknown>)[slot.key as string];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) found.push(value as Record<string, unknown>);
  }
  return found;
}

function setSlot(slot: Slot, value: unknown): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else Object.defineProperty(slot.parent, slot.key, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies a mutation to a (fresh, owned) JSON value and answers the mutated value. */
export function mutate(value: unknown, mutation: Mutation): unknown {
  const root = { value };
  const all = slots(root);
  const pickSlot = (pick: number): Slot | undefined => all[pick % all.length];
  switch (mutation.kind) {
    case 'none':
      return value;
    case 'replace-whole':
      return mutation.value;
    case 'hostile-text': {
      const strings = all.filter((s) => typeof (s.parent as Record<string, unknown>)[s.key as string] === 'string');
      const slot = strings.length > 0 ? strings[mutation.pick % strings.length] : pickSlot(mutation.pick);
      if (slot) setSlot(slot, mutation.text);
      return root.value;
    }
    case 'huge-string': {
      const slot = pickSlot(mutation.pick);
      if (slot) setSlot(slot, 'x'.repeat(mutation.length));
      return root.value;
    }
    case 'wrong-type': {
      const slot = pickSlot(mutation.pick);
      if (slot) setSlot(slot, mutation.value);
      return root.value;
    }
    case 'deep': {
      const slot = pickSlot(mutation.pick);
      if (slot) setSlot(slot, `${DEEP_MARKER}${mutation.shape}:${mutation.levels}`);
      return root.value;
    }
    case 'hostile-key':
    case 'unknown-key': {
      const targets = objects(root.value);
      const target = targets[mutation.pick % Math.max(1, targets.length)];
      if (target === undefined) return root.value;
      const key = mutation.kind === 'hostile-key' ? mutation.text : mutation.key;
      const extra = mutation.kind === 'hostile-key' ? 1 : mutation.value;
      Object.defineProperty(target, key, { value: extra, enumerable: true, writable: true, configurable: true });
      return root.value;
    }
    case 'drop-key': {
      const targets = objects(root.value).filter((o) => Object.keys(o).length > 0);
      const target = targets[mutation.pick % Math.max(1, targets.length)];
      if (target === undefined) return root.value;
      const keys = Object.keys(target);
      const key = keys[mutation.pick % keys.length];
      if (key !== undefined) Reflect.deleteProperty(target, key);
      return root.value;
    }
  }
}

function deepText(shape: string, levels: number): string {
  return shape === 'array' ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

/**
 * The JSON text of a (mutated) body. A deep marker becomes the text of a value nested that
 * many levels: built as text, because JSON.stringify itself overflows on it.
 */
export function bodyText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  const marker = JSON.stringify(DEEP_MARKER).slice(0, -1);
  const parts = text.split(marker);
  if (parts.length === 1) return text;
  return parts
    .map((part, i) => {
      if (i === 0) return part;
      // `<shape>:<levels>"…` or (replace-whole) just `"…`
      const match = /^(array|object):(\d+)"/.exec(part);
      if (match) return deepText(match[1] ?? 'array', Number(match[2])) + part.slice(match[0].length);
      return deepText('array', 10_000) + part.slice(1);
    })
    .join('');
}
