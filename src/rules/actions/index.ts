import { add } from './add.js';
import { clamp } from './clamp.js';
import type { ActionDefinition } from './definition.js';
import { exclude } from './exclude.js';
import { keepActive } from './keep-active.js';
import { multiply } from './multiply.js';
import { percent } from './percent.js';
import { set } from './set.js';

/*
 * The rule actions, each declared once in its own file. This list is the only place they
 * are named together: rules/schema.json (its dispatch, in this order), validation,
 * planning (hence the compiled evaluator and explain), GET /api/rule-engine, the
 * dashboard's help and the README's table are all read from it. A new action is a file
 * here, a line below, and its test.
 */
export const ACTIONS = [set, percent, clamp, add, multiply, exclude, keepActive] as const;

export type { ActionDefinition } from './definition.js';

/** An action's key: `set`, `percent`… */
export type ActionName = (typeof ACTIONS)[number]['name'];

/** One action of a rule's `then`, as written. */
export type Action = (typeof ACTIONS)[number] extends infer D
  ? D extends ActionDefinition<infer A, string>
    ? A
    : never
  : never;

/** The actions' keys, in the registry's order. */
export const ACTION_NAMES: readonly ActionName[] = ACTIONS.map((a) => a.name);

/**
 * The definition of an action object: the first in the registry whose key it has (the
 * order the schema dispatches in); undefined for an unknown action.
 */
export function actionOf(action: object): ActionDefinition<object, ActionName> | undefined {
  return ACTIONS.find((a) => Object.hasOwn(action, a.name)) as
    | ActionDefinition<object, ActionName>
    | undefined;
}
