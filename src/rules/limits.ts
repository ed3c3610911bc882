/**
 * Limits on one rule set, so a rule set cannot make validation, compilation or evaluation
 * slow. A rule set over any of them is refused with a message naming the limit.
 */
export const RULE_LIMITS = {
  /** Rules in one rule set. */
  rules: 500,
  /** Condition nodes (all/any/not and fact conditions) in one rule set. */
  conditions: 2000,
  /** Nesting depth of all/any/not inside one rule's `when` (the root is depth 1). */
  depth: 10,
  /** Actions in one rule's `then`. */
  actions: 50,
  /** Elements of one `in`/`notIn` list. */
  listItems: 10_000,
  /** Characters of one `matches` pattern. */
  patternLength: 1000,
} as const;

/** Depth at which validation stops before even running the schema (hostile input). */
export const HARD_DEPTH_LIMIT = 64;
