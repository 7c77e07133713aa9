/**
 * Applying a host whose plan has changes that acquire something (recipe.ts `Acquisition`: a
 * certificate ordered from an ACME CA), in three stages on the host's one connection, under its lock:
 *
 *   1. the plan's other changes, applied and verified as usual (e.g. the challenge location the
 *      order needs, nginx reloaded); a failure stops here, rolled back as usual
 *   2. each acquisition, run from this machine (it may run commands on the host); a failure stops
 *      here with the acquirer's message, the host's certificate untouched
 *   3. the steps the acquisitions' `install` returns, with those changes' validations and handlers,
 *      applied and verified (rolled back on failure) like any change, under a run id of their own
 */
import { HostError, oneLine } from '../errors.js';
import type { ApplyContext, ApplyResult } from './apply-result.js';
import type { AcquirerRegistry, Acquisition, Handler, HostCommands, RemoteStep } from './contract.js';
import type { PreparedHost } from './host.js';
import { appliedChanges, type HostPlan, type PlannedChange } from './plan.js';

/** Obtains what an acquisition asks for: the steps that install it, and notes for the report. */
export type Acquirer = (
  acquisition: Acquisition,
  host: HostCommands,
  ctx: ApplyContext,
) => Promise<{ steps: RemoteStep[]; notes: string[] }>;

/** The acquirer a concern registered for the acquisition's kind. */
export function registeredAcquirer(registry: AcquirerRegistry): Acquirer {
  return async (acquisition, host, ctx) => {
    const kind = registry.get(acquisition.kind);
    if (!kind) throw new HostError('acquire', `no acquirer ${acquisition.kind} is registered`);
    const { obtained, notes } = await kind.obtain(acquisition.request, host, ctx);
    return { steps: acquisition.install(obtained), notes };
  };
}

export const acquires = (plan: HostPlan): boolean => appliedChanges(plan).some((c) => c.change.acquire);

function planOf(
  changes: PlannedChange[],
  base: Pick<HostPlan, 'host' | 'warnings'>,
  extra: Partial<HostPlan>,
): HostPlan {
  const validate = new Map(changes.flatMap((c) => c.change.validate ?? []).map((v) => [v.text, v]));
  const handlers = new Map<string, Handler>();
  for (const handler of changes.flatMap((c) => c.change.notify ?? []))
    if (!handlers.has(handler.id)) handlers.set(handler.id, handler);
  return {
    host: base.host,
    warnings: base.warnings,
    changes,
    writes: [],
    steps: [],
    validate: [...validate.values()],
    handlers: [...handlers.values()],
    ...extra,
  };
}

export async function applyAcquiring(
  host: PreparedHost,
  ctx: ApplyContext,
  applyPlan: (host: PreparedHost, ctx: ApplyContext) => Promise<ApplyResult>,
  acquirer: Acquirer = registeredAcquirer(ctx.acquirers ?? new Map()),
): Promise<ApplyResult> {
  const name = host.appliance.name;
  const changes = appliedChanges(host.plan);
  const acquiring = changes.filter((c) => c.change.acquire);
  const others = changes.filter((c) => !c.change.acquire);
  const firstPlan = planOf(others, host.plan, {
    writes: host.plan.writes,
    steps: host.plan.steps,
    ...(host.plan.commitConfirmed ? { commitConfirmed: host.plan.commitConfirmed } : {}),
  });
  let first: ApplyResult | undefined;
  if (others.length > 0) {
    first = await applyPlan({ ...host, plan: firstPlan }, ctx);
    if (first.status !== 'changed') return first;
  }
  const commands: HostCommands = {
    run: async (command, stdin) => {
      const result = await host.session.exec(command, { sudo: true, stdin, timeoutMs: 120_000 });
      return {
        code: result.code,
        stdout: result.stdout.toString('utf8'),
        stderr: result.stderr.toString('utf8'),
      };
    },
  };
  const steps: RemoteStep[] = [];
  const notes: string[] = [];
  for (const planned of acquiring) {
    try {
      const acquired = await acquirer(planned.change.acquire!, commands, ctx);
      steps.push(...acquired.steps);
      notes.push(...acquired.notes);
    } catch (err) {
      const why = err instanceof HostError ? err.message : oneLine(err);
      return {
        status: 'failed',
        error: new HostError('acquire', `${name}: ${planned.recipe}: ${why}; nothing installed`),
        verification: first?.verification ?? [],
        factsAfter: first?.factsAfter,
        rolledBack: false,
      };
    }
  }
  const secondPlan = planOf(acquiring, host.plan, { steps });
  // the first stage's facts are what the second starts from (its backups, its restore checks)
  const second = await applyPlan(
    { ...host, plan: secondPlan, facts: first?.factsAfter ?? host.facts },
    { ...ctx, runId: `${ctx.runId}-2` },
  );
  const allNotes = [...(first?.notes ?? []), ...notes, ...(second.notes ?? [])];
  return {
    ...second,
    verification: [...(first?.verification ?? []), ...second.verification],
    ...(allNotes.length ? { notes: allNotes } : {}),
  };
}
