/**
 * Planner tests as data: each case is a desired state and the facts of a host, and the plan the
 * recipe must make of them (the changes' summaries, what they write and notify, the warnings), or
 * the error it must stop with. A concern keeps its cases in recipes/<concern>/test/plan-cases.ts.
 *
 *   describe('upstreams plan', () => plannerCases(upstreamsRecipe, UPSTREAMS_CASES));
 */
import { expect, it } from 'vitest';
import type { HostFacts, Recipe } from '../src/engine/contract.js';

export interface ExpectedChange {
  summary: string | RegExp;
  /** paths written, in order */
  writes?: readonly string[];
  /** ids of the handlers notified, in order */
  notify?: readonly string[];
  disruptive?: boolean;
}

export interface PlannerCase<Desired> {
  name: string;
  desired: Desired;
  facts: HostFacts;
  /** the plan: its changes (none: in sync) and warnings; or the error planning stops with */
  expected:
    | { changes: readonly ExpectedChange[]; warnings?: readonly (string | RegExp)[] }
    | { error: RegExp };
}

const CONTEXT = { host: 'rp1', now: new Date('2026-01-01T00:00:00Z') };

export function plannerCases<Desired>(recipe: Recipe<Desired>, cases: readonly PlannerCase<Desired>[]): void {
  it.each(cases)('$name', ({ desired, facts, expected }) => {
    if ('error' in expected) {
      expect(() => recipe.plan(desired, facts, CONTEXT)).toThrow(expected.error);
      return;
    }
    const result = recipe.plan(desired, facts, CONTEXT);
    expect(result.changes).toHaveLength(expected.changes.length);
    result.changes.forEach((change, i) => {
      const want = expected.changes[i]!;
      expect(change.summary).toMatch(want.summary);
      if (want.writes) expect((change.writes ?? []).map((w) => w.path)).toEqual(want.writes);
      if (want.notify) expect((change.notify ?? []).map((h) => h.id)).toEqual(want.notify);
      if (want.disruptive !== undefined) expect(Boolean(change.disruptive)).toBe(want.disruptive);
    });
    const warnings = result.warnings ?? [];
    expect(warnings).toHaveLength(expected.warnings?.length ?? 0);
    (expected.warnings ?? []).forEach((want, i) => {
      expect(warnings[i]).toMatch(want);
    });
  });
}
