/**
 * Claim check (api.md, "Large outputs"): a node output, or resolved input, whose JSON is larger
 * than WEFT_CLAIM_CHECK_BYTES is stored once, apart, and everything that carries results (hot
 * state, flush entries, events, the execution document) carries this reference instead. A
 * reference may sit anywhere in a value: a map's output gathers its items' outputs, an
 * execution's output its leaves'.
 */

/** WEFT_CLAIM_CHECK_BYTES' default: 256 KiB. */
export const CLAIM_CHECK_DEFAULT_BYTES = 262_144;

/** The placeholder of an offloaded value: `ref` names the blob, `size` its JSON's UTF-8 bytes. */
export interface OutputRef {
  ref: string;
  size: number;
}

const REF_PREFIX = 'weft-blob:';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const REF_PATTERN = new RegExp(`^${REF_PREFIX}(${UUID}):(${UUID})$`);

/** A blob's address: the execution it belongs to (its Redis hash tag) and its own id. */
export interface BlobAddress {
  executionId: string;
  blobId: string;
}

export function outputRef(address: BlobAddress, size: number): OutputRef {
  return { ref: `${REF_PREFIX}${address.executionId}:${address.blobId}`, size };
}

/** The blob an `OutputRef.ref` names, or null when it is not one. */
export function parseOutputRef(ref: string): BlobAddress | null {
  const match = REF_PATTERN.exec(ref);
  return match?.[1] && match[2] ? { executionId: match[1], blobId: match[2] } : null;
}

/** True for exactly the placeholder: an object of the two keys, with a well-formed `ref`. */
export function isOutputRef(value: unknown): value is OutputRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  return keys.length === 2 && typeof record.ref === 'string' && typeof record.size === 'number' && REF_PATTERN.test(record.ref);
}

/** Depth past which a value is not searched: node outputs are bounded well below it (WEFT_MAX_JSON_DEPTH). */
const MAX_DEPTH = 1000;

/** The refs found anywhere in `value` (each once). */
export function collectOutputRefs(value: unknown, into: Set<string> = new Set()): Set<string> {
  const visit = (v: unknown, depth: number): void => {
    if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return;
    if (isOutputRef(v)) {
      into.add(v.ref);
      return;
    }
    if (Array.isArray(v)) for (const item of v) visit(item, depth + 1);
    else for (const item of Object.values(v)) visit(item, depth + 1);
  };
  visit(value, 0);
  return into;
}

/**
 * `value` with every placeholder replaced by its resolved value (`values`: ref → value); parts
 * without one are the same objects, so a value without refs comes back as it is.
 */
export function replaceOutputRefs(value: unknown, values: ReadonlyMap<string, unknown>): unknown {
  const visit = (v: unknown, depth: number): unknown => {
    if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return v;
    if (isOutputRef(v)) return values.has(v.ref) ? values.get(v.ref) : v;
    if (Array.isArray(v)) {
      let out: unknown[] | null = null;
      v.forEach((item, i) => {
        const next = visit(item, depth + 1);
        if (next !== item) (out ??= [...(v as unknown[])])[i] = next;
      });
      return out ?? v;
    }
    let out: Record<string, unknown> | null = null;
    for (const [key, item] of Object.entries(v)) {
      const next = visit(item, depth + 1);
      if (next !== item) (out ??= { ...(v as Record<string, unknown>) })[key] = next;
    }
    return out ?? v;
  };
  return visit(value, 0);
}

/**
 * The UTF-8 size of a JSON text when it is over `threshold`, else null. Cheap for the common
 * case: UTF-8 takes at most 3 bytes per UTF-16 unit, so a short text is never measured.
 */
export function oversizeBytes(text: string, threshold: number): number | null {
  if (text.length * 3 <= threshold) return null;
  const bytes = utf8Length(text);
  return bytes > threshold ? bytes : null;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
