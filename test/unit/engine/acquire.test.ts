/**
 * The stages of a host whose plan acquires (src/engine/acquire.ts): the other changes first, then
 * the acquisition, then what it returned, under a run id of its own; a failure stops the stages
 * after it. The apply of each stage and the acquirer are stand-ins here (the lab test runs them).
 */
import { describe, expect, it } from 'vitest';
import { type Acquirer, applyAcquiring } from '../../../src/engine/acquire.js';
import type { ApplyContext, ApplyResult } from '../../../src/engine/apply-result.js';
import type { Acquisition, Change } from '../../../src/engine/contract.js';
import type { PreparedHost } from '../../../src/engine/host.js';
import type { PlannedChange } from '../../../src/engine/plan.js';
import { HostError } from '../../../src/errors.js';
import { sh } from '../../../src/transport/shell.js';

const reload = { id: 'nginx:reload', command: sh`service nginx reload`, disruptive: false };
const acquisition = { kind: 'acme-certificate', request: {}, install: () => [] } as unknown as Acquisition;

function planned(recipe: string, change: Change): PlannedChange {
  return { recipe, summary: change.summary, diff: '', disruptive: false, deferred: false, change };
}

function hostWith(changes: PlannedChange[]): PreparedHost {
  const write = { path: '/etc/nginx/sites-available/pexapp', content: 'x' };
  return {
    appliance: { name: 'rp1' },
    facts: 'facts before',
    plan: {
      host: 'rp1',
      changes,
      warnings: [],
      writes: changes.some((c) => c.change.writes)
        ? [{ write, before: { path: write.path, exists: false } }]
        : [],
      steps: [],
      validate: [sh`nginx -t`],
      handlers: [reload],
    },
  } as unknown as PreparedHost;
}

const location = planned('challenge', {
  summary: 'location',
  writes: [{ path: '/etc/nginx/sites-available/pexapp', content: 'x' }],
  validate: [sh`nginx -t`],
  notify: [reload],
});
const renewal = planned('renewal', {
  summary: 'renew',
  acquire: acquisition,
  validate: [sh`nginx -t`],
  notify: [reload],
});
const ctx = { runId: 'RUN' } as ApplyContext;

function recorder(results: ApplyResult[] = []) {
  const stages: { changes: string[]; steps: string[]; writes: number; runId: string; facts: unknown }[] = [];
  const applyPlan = async (host: PreparedHost, c: ApplyContext): Promise<ApplyResult> => {
    stages.push({
      changes: host.plan.changes.map((ch) => ch.summary),
      steps: host.plan.steps.map((s) => s.summary),
      writes: host.plan.writes.length,
      runId: c.runId,
      facts: host.facts,
    });
    return (
      results[stages.length - 1] ?? {
        status: 'changed',
        verification: [{ ok: true, message: `stage ${stages.length}` }] as ApplyResult['verification'],
        factsAfter: `facts after stage ${stages.length}` as never,
        rolledBack: false,
      }
    );
  };
  return { stages, applyPlan };
}

const acquired: Acquirer = async () => ({
  steps: [{ summary: 'install', command: sh`true` }],
  notes: ['retried 1'],
});

describe('applying a plan that acquires', () => {
  it('applies the other changes, acquires, then installs under a run id of its own', async () => {
    const { stages, applyPlan } = recorder();
    const result = await applyAcquiring(hostWith([location, renewal]), ctx, applyPlan, acquired);
    expect(stages).toEqual([
      { changes: ['location'], steps: [], writes: 1, runId: 'RUN', facts: 'facts before' },
      { changes: ['renew'], steps: ['install'], writes: 0, runId: 'RUN-2', facts: 'facts after stage 1' },
    ]);
    expect(result.status).toBe('changed');
    expect(result.verification.map((v) => v.message)).toEqual(['stage 1', 'stage 2']);
    expect(result.notes).toEqual(['retried 1']);
  });

  it('without other changes: one stage after the acquisition', async () => {
    const { stages, applyPlan } = recorder();
    await applyAcquiring(hostWith([renewal]), ctx, applyPlan, acquired);
    expect(stages.map((s) => s.changes)).toEqual([['renew']]);
  });

  it('a refused acquisition installs nothing and says why', async () => {
    const { stages, applyPlan } = recorder();
    const refusing: Acquirer = async () => {
      throw new Error('ACME challenge for rp1.example.com failed: connection refused');
    };
    const result = await applyAcquiring(hostWith([location, renewal]), ctx, applyPlan, refusing);
    expect(stages).toHaveLength(1);
    expect(result.status).toBe('failed');
    expect(result.error).toBeInstanceOf(HostError);
    expect(result.error?.reason).toBe('acquire');
    expect(result.error?.message).toBe(
      'rp1: renewal: ACME challenge for rp1.example.com failed: connection refused; nothing installed',
    );
    expect(result.verification.map((v) => v.message)).toEqual(['stage 1']);
  });

  it('a failed first stage stops before the acquisition', async () => {
    let asked = false;
    const failed: ApplyResult = {
      status: 'failed',
      error: new HostError('validation', 'rp1: nginx -t failed'),
      verification: [],
      rolledBack: false,
    };
    const { stages, applyPlan } = recorder([failed]);
    const result = await applyAcquiring(hostWith([location, renewal]), ctx, applyPlan, async () => {
      asked = true;
      return { steps: [], notes: [] };
    });
    expect(result).toBe(failed);
    expect(asked).toBe(false);
    expect(stages).toHaveLength(1);
  });
});
