/**
 * A run over the selected hosts: facts -> plan -> (confirm) -> apply in batches -> verify.
 *
 *   plan / drift  read-only: facts in one exec per host, plan, close. No lock, no prompt.
 *   apply         facts under the appliance's lock, the whole plan shown and confirmed, then the
 *                 hosts with changes in rolling batches (--serial, group serial, --max-fail).
 *   facts         facts only.
 *
 * Desired state is computed for every host before any host is contacted, so bad input fails the
 * run with nothing touched. One host failing never stops the others (unless --max-fail says so).
 *
 * The steps, each a function below, share one FleetRun (options, run id, per-host progress):
 *   1 desiredStates               2 gatherFactsAndPlan (factsAndPlanOf per host)
 *   3 releaseHostsWithoutChanges  4 confirmChanges  5 applyInBatches  6 applyAndVerify per host
 *   7 fleetResult
 */
import { randomBytes } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import { HostError, type HostErrorReason, oneLine } from '../errors.js';
import type { ApplianceConfig, GroupConfig, SecretRef, Serial } from '../inventory/model.js';
import type { HostSession, SessionStats } from '../transport/types.js';

import { batches, failureBudget, GroupLimits } from './batches.js';
import type { AcquirerRegistry, FactSpec, Recipe, ServiceStatus } from './contract.js';
import { type GatheredFacts, mergeFactSpecs } from './facts.js';
import {
  type ApplyResult,
  applyHost,
  type HostWork,
  lockAndReadFacts,
  newRunId,
  type PreparedHost,
  prepareFromFacts,
  readFacts,
  resolveInterrupted,
} from './host.js';
import { describeJournal, JOURNAL, parseJournal } from './journal.js';
import type { LockHolder } from './lock.js';
import {
  appliedChanges,
  deferredChanges,
  type HostPlan,
  type PlannedChange,
  type PlanOptions,
} from './plan.js';
import type { Redactor } from './redact.js';
import type { CheckResult, Probes } from './verify.js';

export type RunMode = 'plan' | 'drift' | 'apply' | 'facts';
/** `unknown` (apply): the connection dropped during the apply and its outcome could not be read */
export type HostStatus = 'in-sync' | 'drift' | 'changed' | 'failed' | 'unreachable' | 'unknown';

/** Not known to be good: failed, unreachable, or an apply whose outcome is unknown (exit 1, --max-fail). */
export const isFailure = (status: HostStatus): status is 'failed' | 'unreachable' | 'unknown' =>
  status === 'failed' || status === 'unreachable' || status === 'unknown';
export type HostPhase = 'waiting' | 'connecting' | 'facts' | 'planned' | 'applying' | 'verifying' | 'done';

export interface HostOutcome {
  name: string;
  status: HostStatus;
  /** the recipes this host manages (desired state defined), with a digest of that desired state */
  managed: { recipe: string; digest?: string }[];
  /** plan/drift: pending changes; apply: the changes made (or attempted, when failed) */
  changes: PlannedChange[];
  /** disruptive changes left for --allow-disruptive, and changes not reached (max-fail stop) */
  pending: PlannedChange[];
  warnings: string[];
  /** `internal`: a bug in rpctl rather than a failure of the host */
  error?: { reason: HostErrorReason | 'internal'; message: string; detail?: string };
  verification: CheckResult[];
  rolledBack: boolean;
  facts?: GatheredFacts;
  /** every SSH connection of the host in this run, added up */
  stats?: SessionStats;
  /** what the report says besides changes and checks (e.g. a commit-confirmed reconnection) */
  notes?: string[];
  /** the services the host's recipes keep running, as the last facts read show them */
  services?: ServiceStatus[];
  /** plan/drift: an apply cut short left its journal (`interrupted apply RUN at TIME (files …)`) */
  interrupted?: string;
  durationMs: number;
}

export interface FleetEvents {
  phase?(host: string, phase: HostPhase, detail?: string): void;
  done?(outcome: HostOutcome): void;
}

export interface FleetOptions {
  mode: RunMode;
  appliances: readonly ApplianceConfig[];
  groups: ReadonlyMap<string, GroupConfig>;
  recipes: readonly Recipe[];
  /** facts gathered on every host whatever the recipes (e.g. the appliance's identity) */
  baseFacts?: FactSpec;
  connect(appliance: ApplianceConfig): Promise<HostSession>;
  /** where probes reach the appliance (its SSH host address by default) */
  probeAddress?(appliance: ApplianceConfig): string;
  secret(ref: SecretRef): string;
  redactor: Redactor;
  probes: Probes;
  /** acquirers of changes that obtain what they install during apply (an ACME order) */
  acquirers?: AcquirerRegistry;
  concurrency: number;
  serial?: Serial;
  maxFail?: Serial;
  allowDisruptive: boolean;
  lockWaitSeconds: number;
  holder: Omit<LockHolder, 'since'>;
  /** apply: shown the plans of hosts with changes; resolve false to apply nothing */
  confirm?(hosts: readonly HostOutcome[]): Promise<boolean>;
  /** digest of a recipe's desired state, to tell later whether the inventory changed (history) */
  digest?(desired: unknown): string;
  events?: FleetEvents;
  now?: () => Date;
  applyTimeoutMs?: number;
  /** commit-confirmed (a handler may cut the SSH path): seconds before the host rolls back by itself */
  confirmTimeoutSeconds?: number;
  /** the run's id (default: a new one); the CLI chooses it to name a record it may write early */
  runId?: string;
  /**
   * apply: true once the user asked to stop (a signal). Hosts whose apply has started finish;
   * no other host is started.
   */
  interrupted?(): boolean;
}

export const DEFAULT_CONFIRM_TIMEOUT_S = 120;

export interface FleetResult {
  runId: string;
  mode: RunMode;
  startedAt: string;
  durationMs: number;
  hosts: HostOutcome[];
  /** apply: false when the confirmation was declined (nothing applied) */
  confirmed: boolean;
}

const JOURNAL_FACT: FactSpec = { files: [{ path: JOURNAL }] };

/** What the steps of one run share: its options and identity, and where each host has got to. */
interface FleetRun {
  options: FleetOptions;
  runId: string;
  startedAt: Date;
  works: HostWork[];
  /** hosts not yet contacted wait here: at most `concurrency` hosts are busy at once */
  busy: LimitFunction;
  planOptions: PlanOptions;
  /** per host: the recipes it manages, with the digest of their desired state */
  managed: Map<string, HostOutcome['managed']>;
  /** per host: when its work started (Date.now()) */
  started: Map<string, number>;
  /** apply: hosts planned and still holding their connection and lock */
  prepared: Map<string, PreparedHost>;
  /** per host: its outcome, once final */
  outcomes: Map<string, HostOutcome>;
}

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const startedAt = (options.now ?? (() => new Date()))();
  const run = startRun(options, startedAt, desiredStates(options, startedAt));
  await gatherFactsAndPlan(run);
  if (options.mode !== 'apply') return fleetResult(run, true);

  const toChange = await releaseHostsWithoutChanges(run);
  try {
    if (!(await confirmChanges(run, toChange))) {
      for (const host of toChange) notApplied(run, host);
      return fleetResult(run, false);
    }
    await applyInBatches(run, toChange);
    return fleetResult(run, true);
  } finally {
    await Promise.all([...run.prepared.values()].map((h) => releaseHost(h, h.session)));
  }
}

/**
 * Step 1, no host contacted: the desired state of every host and the facts its recipes need. An
 * input error here stops the run before any contact. `facts` only reads: a desired state it does
 * not use (an expired certificate) must not stop it.
 */
function desiredStates(options: FleetOptions, now: Date): HostWork[] {
  return options.appliances.map((appliance) => {
    const planned = options.mode === 'facts' ? [] : options.recipes;
    const selected = planned.flatMap((recipe) => {
      const desired = recipe.desired({
        appliance,
        now,
        secret: options.secret,
        addSecret: (value) => options.redactor.add(value),
      });
      return desired === undefined ? [] : [{ recipe, desired }];
    });
    const specs = [options.baseFacts ?? {}, JOURNAL_FACT, ...selected.map((s) => s.recipe.facts)];
    if (options.mode === 'facts') specs.push(...options.recipes.map((r) => r.facts));
    return { appliance, selected, spec: mergeFactSpecs(specs) };
  });
}

function startRun(options: FleetOptions, startedAt: Date, works: HostWork[]): FleetRun {
  return {
    options,
    runId: options.runId ?? newRunId(startedAt),
    startedAt,
    works,
    busy: pLimit(Math.max(1, options.concurrency)),
    planOptions: { allowDisruptive: options.allowDisruptive, now: startedAt, redactor: options.redactor },
    managed: new Map(
      works.map((w) => [
        w.appliance.name,
        w.selected.map((s) => ({ recipe: s.recipe.name, digest: options.digest?.(s.desired) })),
      ]),
    ),
    started: new Map(),
    prepared: new Map(),
    outcomes: new Map(),
  };
}

/** Step 2, every host at once (up to `concurrency`): connect, read facts (under the lock when applying), plan. */
async function gatherFactsAndPlan(run: FleetRun): Promise<void> {
  await Promise.all(run.works.map((work) => run.busy(() => factsAndPlanOf(run, work))));
}

async function factsAndPlanOf(run: FleetRun, work: HostWork): Promise<void> {
  const { options } = run;
  const name = work.appliance.name;
  run.started.set(name, Date.now());
  let session: HostSession | undefined;
  try {
    options.events?.phase?.(name, 'connecting');
    session = await options.connect(work.appliance);
    options.events?.phase?.(name, 'facts');
    const uploadDir = `/tmp/rpctl-${run.runId}-${randomBytes(4).toString('hex')}`;
    if (options.mode === 'apply') {
      // the lock and the connection stay held until the host is applied (or let go of)
      const holder = { ...options.holder, since: run.startedAt.toISOString() };
      const lockWait = options.lockWaitSeconds;
      const locked = await lockAndReadFacts(session, work, holder, lockWait, uploadDir);
      const { lock } = locked;
      const { facts, resolved } = await resolveInterrupted(session, work, locked.facts).catch(
        async (err: unknown) => {
          await lock.finish().catch(() => undefined);
          throw err;
        },
      );
      const host = prepareFromFacts(work, session, facts, run.planOptions, { lock, uploadDir, resolved });
      run.prepared.set(name, host);
    } else {
      const facts = await readFacts(session, work);
      const plan =
        options.mode === 'facts'
          ? undefined
          : prepareFromFacts(work, session, facts, run.planOptions, { uploadDir }).plan;
      await session.close();
      finish(run, readOnlyOutcome(run, name, session, facts, plan));
      if (options.mode === 'facts') return;
    }
    options.events?.phase?.(name, 'planned');
  } catch (err) {
    await releaseHost(run.prepared.get(name), session);
    run.prepared.delete(name);
    finish(run, failure(run, name, err, session));
  }
}

/** plan, drift (with the host's plan) and facts (without): the outcome once the session is closed. */
function readOnlyOutcome(
  run: FleetRun,
  name: string,
  session: HostSession,
  facts: GatheredFacts,
  plan: HostPlan | undefined,
): HostOutcome {
  if (!plan) return baseOutcome(run, name, 'in-sync', { facts, stats: session.stats });
  const journal = parseJournal(facts.text(JOURNAL));
  const status = plan.changes.length > 0 || journal ? 'drift' : 'in-sync';
  return {
    ...baseOutcome(run, name, status, { facts, stats: session.stats }),
    changes: appliedChanges(plan),
    pending: deferredChanges(plan),
    warnings: plan.warnings,
    ...(journal ? { interrupted: describeJournal(journal) } : {}),
  };
}

/**
 * Step 3 (apply): hosts with nothing to apply are done (their lock and connection let go of now);
 * the others, in the inventory's order (not the order they finished planning in), are returned.
 */
async function releaseHostsWithoutChanges(run: FleetRun): Promise<PreparedHost[]> {
  const order = new Map(run.options.appliances.map((a, i) => [a.name, i]));
  const toChange = [...run.prepared.values()]
    .filter((h) => appliedChanges(h.plan).length > 0)
    .sort((a, b) => order.get(a.appliance.name)! - order.get(b.appliance.name)!);
  for (const host of [...run.prepared.values()]) {
    if (appliedChanges(host.plan).length > 0) continue;
    await releaseHost(host, host.session);
    run.prepared.delete(host.appliance.name);
    const pending = deferredChanges(host.plan);
    const status = host.resolved ? 'changed' : pending.length > 0 ? 'drift' : 'in-sync';
    finish(run, {
      ...baseOutcome(run, host.appliance.name, status, { facts: host.facts, stats: host.session.stats }),
      pending,
      warnings: host.plan.warnings,
      ...resolvedNote(host),
    });
  }
  return toChange;
}

/** Step 4 (apply): the plans of the hosts with changes shown, and the user's answer. */
async function confirmChanges(run: FleetRun, toChange: readonly PreparedHost[]): Promise<boolean> {
  const { confirm } = run.options;
  if (toChange.length === 0 || !confirm) return true;
  return confirm(
    toChange.map((h) => ({
      ...baseOutcome(run, h.appliance.name, 'drift', {}),
      changes: appliedChanges(h.plan),
      pending: deferredChanges(h.plan),
      warnings: h.plan.warnings,
    })),
  );
}

/**
 * Step 5 (apply): rolling batches (--serial), at most a group's `serial` of its members at once,
 * stopping before the next batch once more than --max-fail hosts have failed.
 */
async function applyInBatches(run: FleetRun, toChange: readonly PreparedHost[]): Promise<void> {
  const { options } = run;
  const members = new Map<string, number>();
  for (const host of toChange)
    for (const g of host.appliance.groups) members.set(g, (members.get(g) ?? 0) + 1);
  const groupLimits = new GroupLimits(options.groups, members);
  const budget = failureBudget(options.maxFail, run.works.length);
  const rounds = batches(toChange, options.serial);
  for (let i = 0; i < rounds.length; i++) {
    if (budget !== undefined && failedHosts(run) > budget) {
      for (const host of rounds.slice(i).flat()) {
        notApplied(run, host, `not applied: more than ${budget} host(s) failed (--max-fail)`);
      }
      return;
    }
    await Promise.all(
      rounds[i]!.map((host) =>
        run.busy(() =>
          groupLimits.run(host.appliance.groups, async () => {
            // a signal: hosts already applying finish, the others are left as they are
            if (options.interrupted?.()) notApplied(run, host, 'not applied: interrupted');
            else await applyAndVerify(run, host);
          }),
        ),
      ),
    );
  }
}

function failedHosts(run: FleetRun): number {
  return [...run.outcomes.values()].filter((o) => isFailure(o.status)).length;
}

/** Step 6, one host: apply, verify, roll back when verification fails (host.ts), and its outcome. */
async function applyAndVerify(run: FleetRun, host: PreparedHost): Promise<void> {
  const { options } = run;
  const name = host.appliance.name;
  try {
    options.events?.phase?.(name, 'applying');
    const applied = await applyHost(host, {
      runId: run.runId,
      probes: options.probes,
      acquirers: options.acquirers,
      secret: options.secret,
      address: options.probeAddress?.(host.appliance) ?? host.appliance.ssh.host,
      now: run.startedAt,
      applyTimeoutMs: options.applyTimeoutMs ?? 300_000,
      confirmSeconds: options.confirmTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_S,
      reconnect: (address, connectTimeout) =>
        options.connect({ ...host.appliance, ssh: { ...host.appliance.ssh, host: address, connectTimeout } }),
    });
    finish(run, appliedOutcome(run, host, applied));
  } catch (err) {
    finish(run, failure(run, name, err, host.session));
  }
}

function appliedOutcome(run: FleetRun, host: PreparedHost, applied: ApplyResult): HostOutcome {
  const { redactor } = run.options;
  return {
    ...baseOutcome(run, host.appliance.name, applied.status, {
      facts: applied.factsAfter ?? host.facts,
      stats: addStats(host.session.stats, applied.moreSessions ?? []),
    }),
    changes: appliedChanges(host.plan),
    pending: deferredChanges(host.plan),
    warnings: host.plan.warnings,
    error: applied.error && redactedError(run, applied.error),
    verification: applied.verification,
    rolledBack: applied.rolledBack,
    ...(applied.notes?.length || host.resolved
      ? {
          notes: [...(resolvedNote(host).notes ?? []), ...(applied.notes ?? [])].map((n) =>
            redactor.redact(n),
          ),
        }
      : {}),
  };
}

/** The note of an interrupted apply resolved before this host was planned. */
const resolvedNote = (host: PreparedHost): { notes?: string[] } =>
  host.resolved ? { notes: [host.resolved] } : {};

/** Step 7: every host's outcome, in the inventory's order. */
function fleetResult(run: FleetRun, confirmed: boolean): FleetResult {
  const hosts = run.options.appliances.map((a) => run.outcomes.get(a.name)!).filter(Boolean);
  return {
    runId: run.runId,
    mode: run.options.mode,
    startedAt: run.startedAt.toISOString(),
    durationMs: Date.now() - run.startedAt.getTime(),
    hosts,
    confirmed,
  };
}

/** A host's outcome is final: record it and tell the progress display. */
function finish(run: FleetRun, outcome: HostOutcome): void {
  outcome.managed = run.managed.get(outcome.name) ?? [];
  const work = run.works.find((w) => w.appliance.name === outcome.name);
  if (work && outcome.facts) outcome.services = servicesOf(work, outcome.facts);
  run.outcomes.set(outcome.name, outcome);
  run.options.events?.phase?.(outcome.name, 'done', outcome.status);
  run.options.events?.done?.(outcome);
}

/** What the host's recipes say of the services they keep running; one line per service. */
function servicesOf(work: HostWork, facts: GatheredFacts): ServiceStatus[] {
  const byName = new Map<string, ServiceStatus>();
  for (const { recipe, desired } of work.selected) {
    let statuses: ServiceStatus[] = [];
    try {
      statuses = recipe.services?.(desired, facts) ?? [];
    } catch {
      continue; // facts a recipe cannot read are reported by its plan, not here
    }
    for (const status of statuses) {
      const known = byName.get(status.service);
      byName.set(status.service, {
        service: status.service,
        running: status.running && (known?.running ?? true),
      });
    }
  }
  return [...byName.values()];
}

/** A host whose changes were planned but not made (declined, or stopped by --max-fail). */
function notApplied(run: FleetRun, host: PreparedHost, why?: string): void {
  finish(run, {
    ...baseOutcome(run, host.appliance.name, 'drift', { facts: host.facts, stats: host.session.stats }),
    pending: host.plan.changes,
    warnings: why ? [...host.plan.warnings, why] : host.plan.warnings,
    ...resolvedNote(host),
  });
}

/** The outcome of a host that failed: a HostError as it is, anything else as an internal error. */
function failure(run: FleetRun, name: string, err: unknown, session?: HostSession): HostOutcome {
  const error =
    err instanceof HostError
      ? redactedError(run, err)
      : {
          reason: 'internal' as const,
          message: run.options.redactor.redact(`${name}: internal error: ${oneLine(err)}`),
        };
  const plan = run.prepared.get(name)?.plan;
  return {
    ...baseOutcome(run, name, error.reason === 'unreachable' ? 'unreachable' : 'failed', {
      stats: session?.stats,
    }),
    changes: plan ? appliedChanges(plan) : [],
    pending: plan ? deferredChanges(plan) : [],
    warnings: plan?.warnings ?? [],
    error,
  };
}

function redactedError(run: FleetRun, err: HostError): NonNullable<HostOutcome['error']> {
  const { redactor } = run.options;
  return {
    reason: err.reason,
    message: redactor.redact(err.message),
    detail: err.detail && redactor.redact(err.detail),
  };
}

function baseOutcome(
  run: FleetRun,
  name: string,
  status: HostStatus,
  extra: { facts?: GatheredFacts; stats?: SessionStats },
): HostOutcome {
  return {
    name,
    status,
    managed: [],
    changes: [],
    pending: [],
    warnings: [],
    verification: [],
    rolledBack: false,
    facts: extra.facts,
    stats: extra.stats,
    durationMs: Date.now() - (run.started.get(name) ?? Date.now()),
  };
}

/** The stats of a host's first connection plus those it opened later (commit-confirmed reconnects). */
function addStats(first: SessionStats, more: readonly SessionStats[]): SessionStats {
  return more.reduce(
    (sum, s) => ({
      connections: sum.connections + s.connections,
      execs: sum.execs + s.execs,
      sftpSessions: sum.sftpSessions + s.sftpSessions,
      bytesSent: sum.bytesSent + s.bytesSent,
      bytesReceived: sum.bytesReceived + s.bytesReceived,
      handshakeMs: sum.handshakeMs + s.handshakeMs,
    }),
    first,
  );
}

async function releaseHost(host: PreparedHost | undefined, session: HostSession | undefined): Promise<void> {
  if (host?.lock) await host.lock.finish().catch(() => undefined);
  if (session) await session.close().catch(() => undefined);
}
