/**
 * Deep equality of JSON values: same type, arrays element by element in order, objects by
 * key set regardless of key order. Used to match `switch` case values (`"when"`), which come
 * from a JSON document and are compared with the value of a JSONata expression. Iterative, so
 * no nesting depth overflows the stack.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[a, b]];
  while (stack.length > 0) {
    const pair = stack.pop();
    if (pair === undefined) break;
    const [left, right] = pair;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
    if (Array.isArray(left) || Array.isArray(right)) {
      if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
      left.forEach((item: unknown, i) => stack.push([item, right[i]]));
      continue;
    }
    const l = left as Record<string, unknown>;
    const r = right as Record<string, unknown>;
    const keys = Object.keys(l);
    if (keys.length !== Object.keys(r).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(r, key)) return false;
      stack.push([l[key], r[key]]);
    }
  }
  return true;
}
