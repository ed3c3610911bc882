/**
 * The rule engine (SPEC §2 "Rule set", §3 "Rules and channels"): validate rule sets,
 * compile them for a channel, apply, explain and preview. Storage, HTTP and CLI call this.
 */
export { INACTIVE_EXCLUSION } from './compile.js';
export { type CompileOptions, compileRuleSets, type Evaluator } from './engine.js';
export { RuleSetInvalidError } from './errors.js';
export type { ActionTrace, ConditionTrace, Explanation, RuleTrace } from './explain.js';
export {
  type LoadedRuleSets,
  loadRuleSetFiles,
  type ParsedRuleSet,
  parseRuleSet,
  SCHEMA_FILE,
} from './files.js';
export { RULE_LIMITS } from './limits.js';
export type { PreviewOptions, PreviewResult, PreviewRuleStats, PreviewSample } from './preview.js';
export { RULE_SET_SCHEMA } from './schema.js';
export type * from './types.js';
export { formatProblem, formatProblems, validateRuleSet } from './validate.js';
export { nextBoundary } from './window.js';
