import { formatProblems } from './problems.js';
import type { RuleProblem } from './types.js';

/**
 * Thrown when a rule set that is refused reaches compilation; carries every problem. The
 * HTTP and CLI layers show `problems` (one line each with `formatProblems`).
 */
export class RuleSetInvalidError extends Error {
  readonly problems: RuleProblem[];

  constructor(problems: RuleProblem[]) {
    super(`rule set refused:\n${formatProblems(problems)}`);
    this.name = 'RuleSetInvalidError';
    this.problems = problems;
  }
}
