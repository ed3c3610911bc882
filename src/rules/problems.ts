import type { RuleProblem } from './types.js';

/** One problem as one line: `rules/buffer.json: $.rules[2].then[0].rounding: is required`. */
export function formatProblem(p: RuleProblem): string {
  return `${p.file ? `${p.file}: ` : ''}${p.path}: ${p.message}`;
}

/** Every problem, one line each. */
export function formatProblems(problems: readonly RuleProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

/** JSON path of a property: `.name` when it is an identifier, `["a b"]` otherwise. */
export function propertyPath(base: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}
