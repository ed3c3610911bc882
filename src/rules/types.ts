import type { FieldValue } from '../model/product.js';
import type { Action } from './actions/index.js';
import type { Exclusion } from './actions/steps.js';

/**
 * A rule set as written in `rules/*.json` or sent to the API (SPEC §2). Its JSON Schema is
 * `rules/schema.json`; `validateRuleSet` checks both the schema and the semantics.
 */
export interface RuleSet {
  /** Editors' pointer to the schema; ignored by the engine. */
  $schema?: string;
  id: string;
  description?: string;
  /** Applied in this order, each rule to the result of the one before. */
  rules: Rule[];
}

/** One rule: a condition, the actions applied when it holds, and an optional window. */
export interface Rule {
  id: string;
  description?: string;
  when: Condition;
  then: Action[];
  window?: RuleWindow;
}

/**
 * When a rule applies: `[start, end)` read as wall-clock times in `timezone` (IANA, default
 * UTC). Either bound may be left out for a window open on that side.
 */
export interface RuleWindow {
  /** Local date-time, `2026-12-01T00:00:00` (seconds optional), or a date `2026-12-01`. */
  start?: string;
  end?: string;
  timezone?: string;
}

/** A condition in json-rules-engine syntax. */
export type Condition = AllCondition | AnyCondition | NotCondition | FactCondition;

/** True when every sub-condition is true (an empty list is true). */
export interface AllCondition {
  all: Condition[];
  name?: string;
}

/** True when one sub-condition is true (json-rules-engine treats an empty list as true). */
export interface AnyCondition {
  any: Condition[];
  name?: string;
}

/** True when its sub-condition is false. */
export interface NotCondition {
  not: Condition;
  name?: string;
}

/** Compares a fact (a product field or attribute, or `now`) with a value. */
export interface FactCondition {
  fact: string;
  operator: string;
  /** A JSON value, or `{ "fact": "other" }` to compare with another fact. */
  value?: unknown;
  /** A JSONPath into an object fact (`$.a.b`, `$.list[0]`). */
  path?: string;
  name?: string;
}

/** `{ "fact": "name", "path"?: "$.a" }` in a condition's value: compare with another fact. */
export interface FactReference {
  fact: string;
  path?: string;
}

/** One action of a rule's `then`: one of the registry's (src/rules/actions/index.ts), each typed in its file. */
export type { Action } from './actions/index.js';

/**
 * A product as rules see and return it (the shape the store keeps): canonical fields and
 * every other source column as an attribute. Rules treat it as immutable.
 */
export interface Product {
  sku: string;
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
}

/** What `apply` returns: the final product and whether it is in the feed. */
export interface ApplyResult {
  product: Product;
  included: boolean;
  excludedBy?: Exclusion;
}

/** One fault of a rule set: where (file, JSON path) and what is wrong. */
export interface RuleProblem {
  file: string | undefined;
  /** JSON path of the fault, `$.rules[2].then[0].rounding`. */
  path: string;
  message: string;
}
