/**
 * How deeply a JSON value received from outside may nest. JSON.parse copes with any depth, but what
 * comes after does not: JSON.stringify (on the way to an app) and most code that walks a value recurse,
 * and a few thousand levels overflow the stack (a RangeError, answered as a 500 instead of a refusal).
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Whether `value` nests deeper than `maxDepth` arrays and objects. Walks with its own stack, never by
 * recursion, so the check cannot overflow on the very values it exists to refuse.
 */
export function jsonTooDeep(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}
