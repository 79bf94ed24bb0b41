/**
 * A flow's `inputSchema`: a JSON Schema (draft 2020-12) its executions' input must match, checked
 * by every start (API, single-node run, schedule tick, webhook) before anything is recorded.
 *
 * The schema is a tenant's, and it is compiled and run inside the api, so it is bounded before
 * ajv sees it: at most INPUT_SCHEMA_MAX_BYTES of JSON and INPUT_SCHEMA_MAX_DEPTH levels; no
 * keyword that runs a tenant's regular expression (`pattern`, `patternProperties`, `format:
 * "regex"`: JavaScript's backtracking engine can be made to run for ever) and no `$ref` or
 * `$dynamicRef` outside the document (nothing is fetched), no `$id` (ids would meet in the one
 * ajv instance). Formats are annotations, not checked. Compiled once per flow version (FlowCache).
 *
 * Library: ajv (draft 2020-12 build), the JSON Schema validator Fastify itself uses.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { ErrorDetail } from '../errors/weft-error.js';
import type { ErrorCode } from '../model/error-codes.js';
import { isRecord } from './is-record.js';
import { jsonPointer } from './json-pointer.js';

/** Bounds on a flow's inputSchema (its JSON text, and how deep it nests). */
export const INPUT_SCHEMA_MAX_BYTES = 64 * 1024;
export const INPUT_SCHEMA_MAX_DEPTH = 32;
/** At most this many problems of one input are reported. */
export const INPUT_ERRORS_MAX = 20;

const REFUSED_KEYWORDS: Readonly<Record<string, string>> = {
  pattern: 'pattern runs a regular expression of the flow on every input; it is refused (describe the value with enum, const, minLength/maxLength or format instead)',
  patternProperties: 'patternProperties runs regular expressions of the flow on every input; it is refused (use properties or propertyNames with enum)',
  $id: '$id is refused: the schema is one document, referenced from within only ($ref "#…")',
};

/** The one `$schema` allowed (it may be left out): inputSchema is draft 2020-12. */
const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Keywords whose value is data, not a schema: not walked for keywords. */
const DATA_KEYWORDS: ReadonlySet<string> = new Set(['enum', 'const', 'default', 'examples']);

function detail(path: string, message: string, code: ErrorCode): ErrorDetail {
  return { path, message, code };
}

/** Keywords whose value is a map of names to schemas: its keys are names, not keywords. */
const NAMED_SCHEMAS: ReadonlySet<string> = new Set(['properties', '$defs', 'definitions', 'dependentSchemas']);

/**
 * The structural problems of an inputSchema, each at its JSON pointer under `base` (the flow's
 * `/inputSchema`): size, depth, refused keywords and references. Iterative: a schema nested
 * past the bound cannot overflow the stack here.
 */
function structuralProblems(schema: unknown, base: string): ErrorDetail[] {
  if (!isRecord(schema)) return [detail(base, 'inputSchema must be a JSON Schema object', 'FLOW_INVALID_INPUT_SCHEMA')];
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > INPUT_SCHEMA_MAX_BYTES) {
    return [detail(base, `inputSchema is ${bytes} bytes of JSON; at most ${INPUT_SCHEMA_MAX_BYTES} are allowed`, 'FLOW_INPUT_SCHEMA_TOO_LARGE')];
  }
  const problems: ErrorDetail[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number; names: boolean }> = [{ value: schema, path: base, depth: 1, names: false }];
  while (stack.length > 0) {
    const { value, path, depth, names } = stack.pop() as (typeof stack)[number];
    if (depth > INPUT_SCHEMA_MAX_DEPTH) {
      problems.push(detail(path, `inputSchema nests deeper than ${INPUT_SCHEMA_MAX_DEPTH} levels`, 'FLOW_INPUT_SCHEMA_TOO_DEEP'));
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => { stack.push({ value: item, path: `${path}/${i}`, depth: depth + 1, names: false }); });
      continue;
    }
    if (!isRecord(value)) continue;
    for (const [key, child] of Object.entries(value)) {
      const at = `${path}${jsonPointer(key)}`;
      if (!names) {
        const refused = REFUSED_KEYWORDS[key];
        if (refused !== undefined) problems.push(detail(at, refused, 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED'));
        if (key === '$schema' && child !== DRAFT_2020_12) problems.push(detail(at, `$schema may only be "${DRAFT_2020_12}"`, 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED'));
        if (key === 'format' && child === 'regex') problems.push(detail(at, 'format "regex" compiles the input as a regular expression; it is refused', 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED'));
        if ((key === '$ref' || key === '$dynamicRef') && (typeof child !== 'string' || !child.startsWith('#'))) {
          problems.push(detail(at, `${key} must point inside the schema ("#/$defs/…"): nothing is fetched`, 'FLOW_INPUT_SCHEMA_KEYWORD_REFUSED'));
        }
      }
      if (!names && DATA_KEYWORDS.has(key)) continue;
      // Under `properties` and the like, the keys are the names of schemas; their values are schemas.
      stack.push({ value: child, path: at, depth: depth + 1, names: !names && NAMED_SCHEMAS.has(key) });
    }
  }
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * One ajv instance for the process: strict (an unknown keyword is an error, not ignored), every
 * error of an input reported, formats as annotations, nothing logged. Schemas are removed from it
 * once compiled, so tenants' schemas do not accumulate in it.
 */
let shared: Ajv2020 | undefined;
function ajv(): Ajv2020 {
  shared ??= new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, allErrors: true, validateFormats: false, logger: false, code: { optimize: 1 } });
  return shared;
}

function compile(schema: Record<string, unknown>): ValidateFunction {
  const instance = ajv();
  // A copy: ajv keys its cache on the object, and the copy is dropped from it at once.
  const own = structuredClone(schema);
  try {
    return instance.compile(own);
  } finally {
    instance.removeSchema(own);
  }
}

/**
 * Every problem of a flow's inputSchema (absent: none), each with its JSON pointer under
 * `/inputSchema` and a code: the bounds and refusals above, then what ajv finds compiling it
 * (FLOW_INVALID_INPUT_SCHEMA: not valid draft 2020-12, or an unknown keyword).
 */
export function inputSchemaProblems(schema: unknown, base = '/inputSchema'): ErrorDetail[] {
  const structural = structuralProblems(schema, base);
  if (structural.length > 0) return structural;
  try {
    compile(schema as Record<string, unknown>);
    return [];
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return [detail(base, `inputSchema is not a valid JSON Schema (draft 2020-12): ${message.slice(0, 500)}`, 'FLOW_INVALID_INPUT_SCHEMA')];
  }
}

/** An input's problems against a flow's inputSchema: empty when it matches. */
export type InputValidator = (input: unknown) => ErrorDetail[];

/** The pointer of an ajv error into the start's body (`/input/…`), at the property it names when it names one. */
function pathOf(error: ErrorObject): string {
  const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown; unevaluatedProperty?: unknown };
  const named = params.missingProperty ?? params.additionalProperty ?? params.unevaluatedProperty;
  return `/input${error.instancePath}${typeof named === 'string' ? jsonPointer(named) : ''}`;
}

/** Compiles a flow's inputSchema (already checked by validateFlow when the flow was written). */
export function compileInputSchema(schema: Record<string, unknown>): InputValidator {
  const validate = compile(schema);
  return (input) => {
    // A start without input runs with null: a schema that wants an object says so.
    if (validate(input ?? null)) return [];
    const errors = validate.errors ?? [];
    const details = errors.slice(0, INPUT_ERRORS_MAX).map((e) => detail(pathOf(e), `${e.message ?? 'does not match'} (${e.keyword})`, 'INPUT_SCHEMA_MISMATCH'));
    if (errors.length > INPUT_ERRORS_MAX) details.push(detail('/input', `and ${errors.length - INPUT_ERRORS_MAX} more problems`, 'INPUT_SCHEMA_MISMATCH'));
    return details;
  };
}
