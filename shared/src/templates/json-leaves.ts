/**
 * Walkers over the string leaves of a JSON value (an http node's body): iterative, with an
 * explicit stack, so that no nesting depth can overflow the call stack. The api bounds the depth
 * of what it accepts (WEFT_MAX_JSON_DEPTH); these hold whatever reaches them (stored flows,
 * values from upstream nodes).
 */
import { jsonPointer } from '../flow/json-pointer.js';

export interface StringLeaf {
  /** JSON pointer of the leaf below the walked value (`''` for a string value itself). */
  pointer: string;
  text: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every string leaf of a JSON value with its pointer, in document order. */
export function stringLeaves(value: unknown): StringLeaf[] {
  const leaves: StringLeaf[] = [];
  const stack: Array<{ value: unknown; pointer: string }> = [{ value, pointer: '' }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined) break;
    const current = item.value;
    if (typeof current === 'string') {
      leaves.push({ pointer: item.pointer, text: current });
      continue;
    }
    const children: Array<{ value: unknown; pointer: string }> = [];
    if (Array.isArray(current)) {
      current.forEach((child: unknown, i) => children.push({ value: child, pointer: `${item.pointer}/${i}` }));
    } else if (isPlainObject(current)) {
      for (const [key, child] of Object.entries(current)) children.push({ value: child, pointer: item.pointer + jsonPointer(key) });
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (child !== undefined) stack.push(child);
    }
  }
  return leaves;
}

/** Sets an own, enumerable property: a key such as `__proto__` stays a plain key, as JSON.parse makes it. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A copy of a JSON value with every string leaf replaced by `render(text)`, keys kept as
 * written, in document order (so the first leaf that throws is the first in the document).
 */
export function mapStringLeaves(value: unknown, render: (text: string) => unknown): unknown {
  const root: Record<string, unknown> = {};
  const stack: Array<{ value: unknown; target: Record<string, unknown> | unknown[]; key: string | number }> = [{ value, target: root, key: 'value' }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined) break;
    const current = item.value;
    let out: unknown;
    const children: Array<{ value: unknown; target: Record<string, unknown> | unknown[]; key: string | number }> = [];
    if (typeof current === 'string') {
      out = render(current);
    } else if (Array.isArray(current)) {
      const copy: unknown[] = new Array<unknown>(current.length);
      current.forEach((child: unknown, i) => children.push({ value: child, target: copy, key: i }));
      out = copy;
    } else if (isPlainObject(current)) {
      const copy: Record<string, unknown> = {};
      // Keys are laid down now, so the copy keeps the original's key order.
      for (const [key, child] of Object.entries(current)) {
        setOwn(copy, key, undefined);
        children.push({ value: child, target: copy, key });
      }
      out = copy;
    } else {
      out = current;
    }
    if (Array.isArray(item.target)) item.target[item.key as number] = out;
    else setOwn(item.target, item.key as string, out);
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (child !== undefined) stack.push(child);
    }
  }
  return root.value;
}
