/**
 * The kinds of answer the install wizard gets (recipes/install/questions.ts decides which): a value,
 * yes/no, a list's "Use these default ...?", a list item. Each one types [ENTER] when the wizard
 * already offers the inventory's value, and takes the wizard's default for a value left out.
 */
import type { SecretRef } from '../../src/engine/contract.js';
import type { WizardScreen } from './screen.js';

export type Answer =
  | { text: string; usesDefault?: boolean; from: string }
  | { secret: SecretRef; from: string };
export type Stop = { stop: string };
export type QuestionScreen = Extract<WizardScreen, { kind: 'question' }>;

export const DEFAULT = "the wizard's default";

export function noAnswer(q: QuestionScreen, from: string): Stop {
  return { stop: `the wizard asks "${q.question}" and the inventory has no answer for it (set ${from})` };
}

export function value(q: QuestionScreen, wanted: string | undefined, from: string): Answer | Stop {
  if (wanted === undefined)
    return q.default === undefined ? noAnswer(q, from) : { text: '', usesDefault: true, from: DEFAULT };
  return q.default === wanted ? { text: '', usesDefault: true, from } : { text: wanted, from };
}

export function yesNo(q: QuestionScreen, wanted: boolean | undefined, from: string): Answer | Stop {
  const offered = q.default === undefined ? undefined : /^y/i.test(q.default);
  if (wanted === undefined)
    return offered === undefined ? noAnswer(q, from) : { text: '', usesDefault: true, from: DEFAULT };
  return offered === wanted ? { text: '', usesDefault: true, from } : { text: wanted ? 'yes' : 'no', from };
}

/** "Use these default X?": [ENTER] (yes) when the listed values are the inventory's, in order. */
export function useDefaults(q: QuestionScreen, wanted: readonly string[] | undefined, from: string): Answer {
  if (wanted === undefined) return { text: '', usesDefault: true, from: DEFAULT };
  const same = wanted.length === q.listed.length && wanted.every((v, i) => v === q.listed[i]);
  return same ? { text: '', usesDefault: true, from } : { text: 'no', from };
}

/** "DNS Server N?": the Nth value, then an empty line. */
export function item(
  q: QuestionScreen,
  wanted: readonly string[] | undefined,
  n: number,
  from: string,
): Answer | Stop {
  if (wanted === undefined) return noAnswer(q, from);
  return {
    text: wanted[n - 1] ?? '',
    from: n <= wanted.length ? `${from}[${n - 1}]` : `${from} (end of the list)`,
  };
}
