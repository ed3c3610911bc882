import type { PlanAction, PlanTarget } from './steps.js';

/*
 * What one rule action is, declared once in its own file (src/rules/actions/*.ts) and listed
 * in src/rules/actions/index.ts: its key, its JSON Schema (from which rules/schema.json, the
 * validator's messages, GET /api/rule-engine, the dashboard's help and the README's table are
 * derived), its checks beyond the schema, and its plan: the evaluation steps the compiled
 * evaluator and explain both run.
 */

/** A JSON Schema (draft-07) fragment, as it goes into rules/schema.json. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One property of an action in its schema: every one is described, for the help. */
export type ActionPropertySchema = JsonSchema & { readonly description: string };

/** An action's JSON Schema: `definitions.<name>Action` of rules/schema.json. */
export interface ActionSchema {
  readonly type: 'object';
  readonly description: string;
  readonly additionalProperties: false;
  /** Its key first (the dispatch and the help name the action by it). */
  readonly required: readonly string[];
  readonly properties: { readonly [property: string]: ActionPropertySchema };
  readonly [keyword: string]: unknown;
}

/** An editor snippet (VS Code's `defaultSnippets`) for one form of an action. */
export interface ActionSnippet {
  label: string;
  body: Record<string, unknown>;
}

/** What validation offers an action's own checks. */
export interface ActionChecks {
  /** Records a problem at a JSON path. */
  add(path: string, message: string): void;
  /** Checks a field the action writes (not sku or now, not a misspelt canonical field); false when refused. */
  target(name: string, path: string): boolean;
  /** `target`, and a canonical field must hold numbers. */
  numericTarget(name: string, path: string, action: string): void;
  /** Checks the name of a fact the action reads (a misspelt canonical field). */
  factName(name: string, path: string): void;
}

/** What planning offers an action. */
export interface ActionPlanning {
  ruleSet: string;
  /** The rule it is an action of. */
  rule: { id: string; description?: string };
  /** JSON path of the action inside its rule set. */
  path: string;
  /** Where a write to this field goes: a canonical field or an attribute. */
  target(field: string): PlanTarget;
  /** Notes a fact the action reads (so `now` is computed only when something reads it). */
  noteFact(name: string): void;
}

/** One rule action. `A` is the action object as written in a rule's `then`. */
export interface ActionDefinition<A extends object = object, N extends string = string> {
  /** The key that names the action (`set`, `percent`…). */
  readonly name: N;
  readonly schema: ActionSchema;
  /** Whether it works on a numeric field (the help lists the fields it takes). */
  readonly numeric: boolean;
  /** Whether it ends the product's turn: actions after it in the same rule never apply. */
  readonly final?: boolean;
  /** A minimal example, valid as written (the help shows it, a test validates it). */
  readonly example: Record<string, unknown>;
  readonly snippets: readonly ActionSnippet[];
  /**
   * Sentences for this action's schema faults, in place of ajv's: the summary of its `oneOf`
   * or `anyOf`, and a missing required property.
   */
  readonly schemaMessages?: {
    readonly oneOf?: string;
    readonly anyOf?: string;
    readonly required?: Readonly<Record<string, string>>;
  };
  /** What the schema cannot say, for an action that matched it. */
  check?(action: A, path: string, checks: ActionChecks): void;
  /** The action ready to apply, for a validated rule set. */
  plan(action: A, planning: ActionPlanning): PlanAction<N>;
}
