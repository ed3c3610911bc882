import { CANONICAL_FIELDS, FIELD_TYPES, type FieldType } from '../model/fields.js';
import { ACTIONS } from './actions/index.js';
import { NOW_FACT, NUMERIC_FIELDS } from './fields.js';
import { RULE_LIMITS } from './limits.js';
import { ADDED_OPERATORS, DECORATORS, OPERATORS, type ValueKind } from './operators.js';

/*
 * What a rule set can say, read from the engine itself: the operators and decorators it
 * evaluates, the actions of its registry (src/rules/actions/, with their schemas' own
 * descriptions), the facts and the limits. The dashboard's help and GET /api/rule-engine
 * show it, so the help can never name an operator or action the engine does not know, or
 * miss one it does.
 */

/** One operator a fact condition can use. */
export interface OperatorInfo {
  name: string;
  /** json-rules-engine's built-in, or one feedwright adds. */
  origin: 'json-rules-engine' | 'feedwright';
  /** What the condition's `value` must be. */
  value: ValueKind;
  description: string;
}

/** One operator decorator (`not:equal`, `someFact:in`…). */
export interface DecoratorInfo {
  name: string;
  description: string;
}

/** One property of an action, as the schema describes it. */
export interface ActionPropertyInfo {
  name: string;
  required: boolean;
  description: string;
}

/** One action a rule's `then` can hold. */
export interface ActionInfo {
  /** The key that names the action (`set`, `percent`…). */
  name: string;
  description: string;
  /** Whether it works on a numeric field (the facts marked numeric, or a numeric source column). */
  numeric: boolean;
  properties: ActionPropertyInfo[];
  /** A minimal example, valid as written. */
  example: Record<string, unknown>;
}

/** One fact a condition can read by name (any other source column can be read too). */
export interface FactInfo {
  name: string;
  type: FieldType | 'time';
  /** Whether the numeric actions (percent, clamp…: those marked numeric) work on it. */
  numeric: boolean;
}

/** Everything a rule set can use. */
export interface RuleVocabulary {
  operators: OperatorInfo[];
  decorators: DecoratorInfo[];
  actions: ActionInfo[];
  facts: FactInfo[];
  limits: typeof RULE_LIMITS;
}

// One sentence each; a test checks every operator and decorator the engine has is described.
const OPERATOR_TEXT: Record<string, string> = {
  equal: 'the fact is exactly the value (===)',
  notEqual: 'the fact is not exactly the value',
  in: 'the fact is one of the listed values',
  notIn: 'the fact is none of the listed values',
  contains: 'the fact (a list) holds the value',
  doesNotContain: 'the fact (a list) does not hold the value',
  lessThan: 'the fact is a number below the value',
  lessThanInclusive: 'the fact is a number at or below the value',
  greaterThan: 'the fact is a number above the value',
  greaterThanInclusive: 'the fact is a number at or above the value',
  startsWith: 'the fact is text beginning with the value',
  endsWith: 'the fact is text ending with the value',
  matches:
    'the fact is text the regular expression matches ("…" or { "pattern": "…", "flags": "i" }); RE2 syntax, run in time linear in the text (no backreferences or lookaround)',
  isEmpty: 'the fact is missing, null, "" or [] (no value needed)',
  isNotEmpty: 'the fact has a value other than null, "" or []',
};

const DECORATOR_TEXT: Record<string, string> = {
  someFact: 'the fact is a list and at least one of its items passes',
  someValue: 'the value is a list and the fact passes against at least one of its items',
  everyFact: 'the fact is a list and every item passes',
  everyValue: 'the value is a list and the fact passes against every item',
  swap: 'the fact and the value change sides',
  not: 'the opposite of the operator',
};

/** The registry's actions, as the help shows them: each property with its schema's description. */
function actionInfos(): ActionInfo[] {
  return ACTIONS.map((a) => ({
    name: a.name,
    description: a.schema.description,
    numeric: a.numeric,
    properties: Object.entries(a.schema.properties).map(([p, s]) => ({
      name: p,
      required: a.schema.required.includes(p),
      description: s.description,
    })),
    example: a.example,
  }));
}

/** What the rule engine knows, for help pages and editors. */
export function ruleVocabulary(): RuleVocabulary {
  const added: ReadonlySet<string> = new Set(ADDED_OPERATORS);
  return {
    operators: Object.entries(OPERATORS).map(([name, def]) => ({
      name,
      origin: added.has(name) ? 'feedwright' : 'json-rules-engine',
      value: def.value,
      description: OPERATOR_TEXT[name] ?? '',
    })),
    decorators: Object.keys(DECORATORS).map((name) => ({ name, description: DECORATOR_TEXT[name] ?? '' })),
    actions: actionInfos(),
    facts: [
      ...CANONICAL_FIELDS.map((name) => ({
        name,
        type: FIELD_TYPES[name],
        numeric: NUMERIC_FIELDS.has(name),
      })),
      { name: NOW_FACT, type: 'time' as const, numeric: false },
    ],
    limits: RULE_LIMITS,
  };
}
