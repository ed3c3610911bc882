import type { FieldValue } from '../../model/product.js';
import type { TemplateParts } from '../template.js';
import type { NumericStep } from './numeric.js';

/*
 * The evaluation steps every action plans to (actions/definition.ts `plan`): the only ones
 * the compiled evaluator and explain know.
 */

/** Why a product is out of the feed: the rule that excluded it, or `inactive`. */
export interface Exclusion {
  /** The rule set and rule of an `exclude`; null for the default "inactive" exclusion. */
  ruleSet: string | null;
  rule: string | null;
  reason: string;
}

/** Where an action writes: a canonical field or an attribute. */
export interface PlanTarget {
  field: string;
  canonical: boolean;
}

/**
 * One action, ready to apply: the steps every action of the registry (src/rules/actions/)
 * plans to, and the only ones the compiled evaluator and explain know. `action` is the key
 * of the action planned, for explain.
 */
export type PlanAction<Name extends string = string> =
  | { kind: 'set-value'; action: Name; path: string; target: PlanTarget; value: FieldValue }
  | { kind: 'set-template'; action: Name; path: string; target: PlanTarget; template: TemplateParts }
  | {
      kind: 'set-from';
      action: Name;
      path: string;
      target: PlanTarget;
      from: string;
      coerce: (v: unknown) => FieldValue | undefined;
    }
  | {
      /** The field's new value computed from its value, when that is a finite number. */
      kind: 'numeric';
      action: Name;
      path: string;
      target: PlanTarget;
      step: NumericStep;
    }
  | {
      /** The field's new value computed from its value (undefined: missing), or undefined to leave it. */
      kind: 'update';
      action: Name;
      path: string;
      target: PlanTarget;
      step: (current: FieldValue | undefined) => FieldValue | undefined;
      /** Why the field was left as it was, for explain. */
      skipReason: (current: FieldValue | undefined) => string;
    }
  | { kind: 'exclude'; action: Name; path: string; exclusion: Exclusion };
