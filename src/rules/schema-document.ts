// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${1:…}" is a VS Code snippet placeholder, not a template.
// biome-ignore-all lint/suspicious/noThenProperty: JSON Schema if/then/else, not a thenable.
import { CANONICAL_FIELDS } from '../model/fields.js';
import { ID_PATTERN } from '../model/ids.js';
import { ACTIONS } from './actions/index.js';
import { ADDED_OPERATORS, ENGINE_OPERATORS } from './operators.js';

/*
 * rules/schema.json, built here: the rule set, its rules, conditions and windows written
 * below, and the actions read from their registry (src/rules/actions/), each action its own
 * definition in the dispatch on its key. rules/schema.json is this document written out
 * (npm run docs:write); a test holds the two equal.
 */

const HEAD = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'feedwright rule set',
  description:
    "A rule set: rules applied in order to every product of a channel's catalog, each to the result of the one before (SPEC §2). Conditions use json-rules-engine's syntax.",
  type: 'object',
  additionalProperties: false,
  required: ['id', 'rules'],
  properties: {
    $schema: {
      type: 'string',
      description: 'Where editors find this schema, e.g. "./schema.json". Ignored by feedwright.',
    },
    id: {
      type: 'string',
      pattern: ID_PATTERN,
      description:
        'The rule set\'s id, named by channels in their "rules" list: lowercase letters, digits, - or _, at most 64 characters.',
    },
    description: {
      type: 'string',
      maxLength: 2000,
      description: 'What this rule set is for, for the people who read it.',
    },
    rules: {
      type: 'array',
      items: {
        $ref: '#/definitions/rule',
      },
      description:
        'The rules, in the order they apply; each sees the product as the rules before it left it.',
    },
  },
};

const BEFORE_ACTIONS = {
  rule: {
    type: 'object',
    description: 'One rule: a condition, actions and an optional date window.',
    additionalProperties: false,
    required: ['id', 'when', 'then'],
    properties: {
      id: {
        type: 'string',
        pattern: ID_PATTERN,
        description:
          "The rule's id, unique in its rule set; explain and exclusions name it. Lowercase letters, digits, - or _.",
      },
      description: {
        type: 'string',
        maxLength: 2000,
        description: 'What the rule does and why; the default reason recorded by an exclude.',
      },
      when: {
        $ref: '#/definitions/rootCondition',
        description:
          'When the rule applies: json-rules-engine conditions rooted in all, any or not. { "all": [] } always holds.',
      },
      then: {
        type: 'array',
        minItems: 1,
        items: {
          $ref: '#/definitions/action',
        },
        description: 'The actions, applied in order when the condition holds.',
      },
      window: {
        $ref: '#/definitions/window',
      },
    },
    defaultSnippets: [
      {
        label: 'rule',
        body: {
          id: '${1:rule-id}',
          description: '${2}',
          when: {
            all: [
              {
                fact: '${3:quantity}',
                operator: '${4:lessThanInclusive}',
                value: 3,
              },
            ],
          },
          then: [
            {
              set: '${5:quantity}',
              value: 0,
            },
          ],
        },
      },
    ],
  },
  rootCondition: {
    description:
      "The root of a rule's condition: all, any or not (json-rules-engine requires a boolean root).",
    type: 'object',
    if: {
      type: 'object',
      required: ['all'],
    },
    then: {
      $ref: '#/definitions/allCondition',
    },
    else: {
      if: {
        type: 'object',
        required: ['any'],
      },
      then: {
        $ref: '#/definitions/anyCondition',
      },
      else: {
        if: {
          type: 'object',
          required: ['not'],
        },
        then: {
          $ref: '#/definitions/notCondition',
        },
        else: {
          $ref: '#/definitions/booleanRoot',
        },
      },
    },
  },
  booleanRoot: {
    type: 'object',
    required: ['all'],
    description: 'A rule\'s when must be { "all": [...] }, { "any": [...] } or { "not": {...} }.',
  },
  condition: {
    description: 'A condition: all, any, not, or a fact compared with a value.',
    type: 'object',
    if: {
      type: 'object',
      required: ['all'],
    },
    then: {
      $ref: '#/definitions/allCondition',
    },
    else: {
      if: {
        type: 'object',
        required: ['any'],
      },
      then: {
        $ref: '#/definitions/anyCondition',
      },
      else: {
        if: {
          type: 'object',
          required: ['not'],
        },
        then: {
          $ref: '#/definitions/notCondition',
        },
        else: {
          $ref: '#/definitions/factCondition',
        },
      },
    },
    defaultSnippets: [
      {
        label: 'fact condition',
        body: {
          fact: '${1:quantity}',
          operator: '${2:lessThanInclusive}',
          value: '^${3:3}',
        },
      },
      {
        label: 'all',
        body: {
          all: ['$1'],
        },
      },
      {
        label: 'any',
        body: {
          any: ['$1'],
        },
      },
      {
        label: 'not',
        body: {
          not: {
            $1: '',
          },
        },
      },
    ],
  },
  allCondition: {
    type: 'object',
    description: 'All of these conditions.',
    additionalProperties: false,
    required: ['all'],
    properties: {
      all: {
        type: 'array',
        items: {
          $ref: '#/definitions/condition',
        },
        description: 'True when every condition in the list is true; an empty list is true.',
      },
      name: {
        type: 'string',
        maxLength: 200,
        description: 'A label for this condition, shown by explain.',
      },
    },
  },
  anyCondition: {
    type: 'object',
    description: 'Any of these conditions.',
    additionalProperties: false,
    required: ['any'],
    properties: {
      any: {
        type: 'array',
        items: {
          $ref: '#/definitions/condition',
        },
        description:
          'True when at least one condition in the list is true. (json-rules-engine counts an empty any as true, so feedwright refuses it.)',
      },
      name: {
        type: 'string',
        maxLength: 200,
        description: 'A label for this condition, shown by explain.',
      },
    },
  },
  notCondition: {
    type: 'object',
    description: 'The opposite of a condition.',
    additionalProperties: false,
    required: ['not'],
    properties: {
      not: {
        $ref: '#/definitions/condition',
        description: 'True when this condition is false.',
      },
      name: {
        type: 'string',
        maxLength: 200,
        description: 'A label for this condition, shown by explain.',
      },
    },
  },
  factCondition: {
    type: 'object',
    description: 'A fact compared with a value by an operator.',
    additionalProperties: false,
    required: ['fact', 'operator'],
    properties: {
      fact: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description:
          'The fact compared: a canonical field (quantity, price, brand, status, manage_stock…), any other source column by its name, or now (the evaluation time as an ISO string). A missing one is undefined.',
        examples: [...CANONICAL_FIELDS, 'now'],
      },
      operator: {
        type: 'string',
        minLength: 1,
        maxLength: 100,
        description:
          'json-rules-engine\'s operators (equal, notEqual, in, notIn, contains, doesNotContain, lessThan, lessThanInclusive, greaterThan, greaterThanInclusive; number operators are false on a fact that is not a number) and feedwright\'s startsWith, endsWith, matches (a regular expression in RE2 syntax, run in linear time), isEmpty, isNotEmpty (undefined, null, "" or []). Its decorators apply too: not:equal, someFact:in, everyValue:…, swap:….',
        examples: [...ENGINE_OPERATORS, ...ADDED_OPERATORS],
      },
      value: {
        description:
          'The value compared with: a number for lessThan and the like, a list for in/notIn, a pattern (or { "pattern": "…", "flags": "i" }) for matches, none for isEmpty/isNotEmpty; or { "fact": "other" } to compare with another fact.',
        if: {
          type: 'object',
          required: ['fact'],
        },
        then: {
          $ref: '#/definitions/factReference',
        },
      },
      path: {
        type: 'string',
        pattern: '^\\$(\\.[A-Za-z_][A-Za-z0-9_]*|\\[(0|[1-9][0-9]{0,8})\\])+$',
        description: 'A path into an object fact: $.a.b or $.list[0].',
      },
      name: {
        type: 'string',
        maxLength: 200,
        description: 'A label for this condition, shown by explain.',
      },
    },
  },
  factReference: {
    type: 'object',
    description: "Another fact's value, in place of a literal value.",
    additionalProperties: false,
    required: ['fact'],
    properties: {
      fact: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description: 'The other fact whose value is compared with.',
        examples: [...CANONICAL_FIELDS, 'now'],
      },
      path: {
        type: 'string',
        pattern: '^\\$(\\.[A-Za-z_][A-Za-z0-9_]*|\\[(0|[1-9][0-9]{0,8})\\])+$',
        description: 'A path into that fact when it is an object.',
      },
    },
  },
  fieldName: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: 'A product field: a canonical field or any other source column by its name.',
    examples: [...CANONICAL_FIELDS],
  },
  numericFieldName: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description:
      'A field holding a number: quantity, price, sale_price, weight, or a numeric source column. A product whose value here is not a number is left unchanged (explain says so).',
    examples: ['quantity', 'price', 'sale_price', 'weight'],
  },
};

const WINDOW = {
  type: 'object',
  description:
    'When the rule applies: from start (included) to end (excluded), wall-clock times in timezone. Either bound may be left out.',
  additionalProperties: false,
  properties: {
    start: {
      type: 'string',
      pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2})?)?$',
      description:
        'Local date-time the window opens, without offset: 2026-12-01T00:00:00 (or a date: 2026-12-01).',
    },
    end: {
      type: 'string',
      pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2})?)?$',
      description: 'Local date-time the window closes (excluded), after start.',
    },
    timezone: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description:
        'The IANA time zone the times are read in (default UTC); daylight-saving changes are followed.',
      examples: ['UTC', 'Europe/Paris', 'Europe/London', 'America/New_York'],
    },
  },
  anyOf: [
    {
      required: ['start'],
    },
    {
      required: ['end'],
    },
  ],
};

/** "a, b or c". */
function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** The name of an action's definition in the schema: `setAction`, `keepActiveAction`. */
export function actionDefinitionName(action: string): string {
  return `${action}Action`;
}

/** `if it has this key then that action, else …`, in the registry's order, ending in `unknownAction`. */
function dispatch(names: readonly string[]): Record<string, unknown> {
  const [first, ...rest] = names;
  if (first === undefined) return { $ref: '#/definitions/unknownAction' };
  return {
    if: { type: 'object', required: [first] },
    then: { $ref: `#/definitions/${actionDefinitionName(first)}` },
    else: dispatch(rest),
  };
}

/** The JSON Schema of a rule set, with the registry's actions; rules/schema.json holds it written out. */
export function buildRuleSetSchema(): Record<string, unknown> {
  const names = ACTIONS.map((a) => a.name);
  const { else: chain, ...first } = dispatch(names);
  return {
    ...HEAD,
    definitions: {
      ...BEFORE_ACTIONS,
      action: {
        description: `One action: ${orList(names)}.`,
        type: 'object',
        ...first,
        else: chain,
        defaultSnippets: ACTIONS.flatMap((a) => a.snippets),
      },
      ...Object.fromEntries(ACTIONS.map((a) => [actionDefinitionName(a.name), a.schema])),
      unknownAction: {
        not: {},
        description: `An action must be one of ${names.join(', ')}.`,
      },
      window: WINDOW,
    },
  };
}
