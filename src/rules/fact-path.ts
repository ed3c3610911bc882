/**
 * The JSONPath subset a condition's `path` may use: `$` followed by `.name` and `[index]`
 * steps (`$.dimensions.width`, `$.tags[0]`). It resolves exactly as json-rules-engine's
 * default resolver (jsonpath-plus with `wrap: false`) does on these paths.
 */
export const FACT_PATH_PATTERN = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[(?:0|[1-9][0-9]{0,8})\])+$/;

const STEP = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g;

/** The steps of a path (`$.a[0]` → `['a', '0']`); undefined when outside the subset. */
export function parseFactPath(path: string): string[] | undefined {
  if (!FACT_PATH_PATTERN.test(path)) return undefined;
  const steps: string[] = [];
  for (const m of path.matchAll(STEP)) steps.push((m[1] ?? m[2]) as string);
  return steps;
}

/**
 * Follows `steps` into a fact value. As in json-rules-engine, a fact that is not an object
 * (a string, a number, null, undefined) is returned as it is, path or not. Each step must
 * name an own property of a truthy value (jsonpath-plus's rule, so `$.name.length` of a
 * string is its length and a step into 0, '' or false finds nothing); a missing step
 * gives undefined.
 */
export function resolveFactPath(value: unknown, steps: readonly string[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  let current: unknown = value;
  for (const step of steps) {
    if (current && Object.hasOwn(current as object, step)) {
      current = (current as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
  }
  return current;
}
