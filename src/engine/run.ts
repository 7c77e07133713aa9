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
 */
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { HostError, type HostErrorReason, oneLine } from '../errors.js';
import type { ApplianceConfig, GroupConfig, SecretRef, Serial } from '../inventory/model.js';
import type { HostSession, SessionStats } from '../transport/types.js';
import { JOURNAL } from './apply-script.js';
import { batches, failureBudget, GroupLimits } from './batches.js';
import { type GatheredFacts, mergeFactSpecs } from './facts.js';
import {
  applyHost,
  type HostWork,
  lockAndReadFacts,
  newRunId,
  type PreparedHost,
  prepareFromFacts,
  readFacts,
} from './host.js';
import type { LockHolder } from './lock.js';
import { appliedChanges, deferredChanges, type PlannedChange } from './plan.js';
import type { FactSpec, Recipe } from './recipe.js';
import type { Redactor } from './redact.js';
import type { CheckResult, Probes } from './verify.js';

export type RunMode = 'plan' | 'drift' | 'apply' | 'facts';
export type HostStatus = 'in-sync' | 'drift' | 'changed' | 'failed' | 'unreachable';
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

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const runId = newRunId(startedAt);
  // Desired state of every host first: an input error here stops the run before any contact.
  // `facts` only reads: a desired state it does not use (an expired certificate) must not stop it.
  const works: HostWork[] = options.appliances.map((appliance) => {
    const planned = options.mode === 'facts' ? [] : options.recipes;
    const selected = planned.flatMap((recipe) => {
      const desired = recipe.desired({
        appliance,
        secret: options.secret,
        addSecret: (value) => options.redactor.add(value),
      });
      return desired === undefined ? [] : [{ recipe, desired }];
    });
    const specs = [options.baseFacts ?? {}, JOURNAL_FACT, ...selected.map((s) => s.recipe.facts)];
    if (options.mode === 'facts') specs.push(...options.recipes.map((r) => r.facts));
    return { appliance, selected, spec: mergeFactSpecs(specs) };
  });

  const outcomes = new Map<string, HostOutcome>();
  const prepared = new Map<string, PreparedHost>();
  const started = new Map<string, number>();
  const busy = pLimit(Math.max(1, options.concurrency));
  const planOptions = {
    allowDisruptive: options.allowDisruptive,
    now: startedAt,
    redactor: options.redactor,
  };

  const managed = new Map(
    works.map((w) => [
      w.appliance.name,
      w.selected.map((s) => ({ recipe: s.recipe.name, digest: options.digest?.(s.desired) })),
    ]),
  );
  const finish = (outcome: HostOutcome) => {
    outcome.managed = managed.get(outcome.name) ?? [];
    outcomes.set(outcome.name, outcome);
    options.events?.phase?.(outcome.name, 'done', outcome.status);
    options.events?.done?.(outcome);
  };
  const failure = (work: HostWork, err: unknown, session?: HostSession): HostOutcome => {
    const error =
      err instanceof HostError
        ? {
            reason: err.reason,
            message: options.redactor.redact(err.message),
            detail: err.detail && options.redactor.redact(err.detail),
          }
        : {
            reason: 'internal' as const,
            message: options.redactor.redact(`${work.appliance.name}: internal error: ${oneLine(err)}`),
          };
    const plan = prepared.get(work.appliance.name)?.plan;
    return {
      name: work.appliance.name,
      status: error.reason === 'unreachable' ? 'unreachable' : 'failed',
      managed: [],
      changes: plan ? appliedChanges(plan) : [],
      pending: plan ? deferredChanges(plan) : [],
      warnings: plan?.warnings ?? [],
      error,
      verification: [],
      rolledBack: false,
      stats: session?.stats,
      durationMs: Date.now() - (started.get(work.appliance.name) ?? Date.now()),
    };
  };

  // Phase 1: connect, read facts (under the lock when applying), plan.
  await Promise.all(
    works.map((work) =>
      busy(async () => {
        const name = work.appliance.name;
        started.set(name, Date.now());
        let session: HostSession | undefined;
        try {
          options.events?.phase?.(name, 'connecting');
          session = await options.connect(work.appliance);
          options.events?.phase?.(name, 'facts');
          const uploadDir = `/tmp/rpctl-${runId}-${randomBytes(4).toString('hex')}`;
          if (options.mode === 'apply') {
            const holder = { ...options.holder, since: startedAt.toISOString() };
            const { facts, lock } = await lockAndReadFacts(
              session,
              work,
              holder,
              options.lockWaitSeconds,
              uploadDir,
            );
            prepared.set(name, prepareFromFacts(work, session, facts, planOptions, { lock, uploadDir }));
          } else {
            const facts = await readFacts(session, work);
            if (options.mode === 'facts') {
              await session.close();
              finish(baseOutcome(name, 'in-sync', { facts, stats: session.stats, started }));
              return;
            }
            const host = prepareFromFacts(work, session, facts, planOptions, { uploadDir });
            await session.close();
            const status = host.plan.changes.length > 0 ? 'drift' : 'in-sync';
            finish({
              ...baseOutcome(name, status, { facts, stats: session.stats, started }),
              changes: appliedChanges(host.plan),
              pending: deferredChanges(host.plan),
              warnings: host.plan.warnings,
            });
          }
          options.events?.phase?.(name, 'planned');
        } catch (err) {
          await releaseHost(prepared.get(name), session);
          prepared.delete(name);
          finish(failure(work, err, session));
        }
      }),
    ),
  );
  if (options.mode !== 'apply') return result(true);

  // Phase 2: confirm, then apply the hosts with changes in batches.
  // Batches follow the inventory's order, not the order hosts finished planning in.
  const order = new Map(options.appliances.map((a, i) => [a.name, i]));
  const toChange = [...prepared.values()]
    .filter((h) => appliedChanges(h.plan).length > 0)
    .sort((a, b) => order.get(a.appliance.name)! - order.get(b.appliance.name)!);
  for (const host of [...prepared.values()]) {
    if (appliedChanges(host.plan).length === 0) {
      // nothing to apply here: let go of the lock and the connection now
      await releaseHost(host, host.session);
      prepared.delete(host.appliance.name);
      const pending = deferredChanges(host.plan);
      finish({
        ...baseOutcome(host.appliance.name, pending.length > 0 ? 'drift' : 'in-sync', {
          facts: host.facts,
          stats: host.session.stats,
          started,
        }),
        pending,
        warnings: host.plan.warnings,
      });
    }
  }
  let confirmed = true;
  if (toChange.length > 0 && options.confirm) {
    const pendingOutcomes = toChange.map((h) => ({
      ...baseOutcome(h.appliance.name, 'drift', { started }),
      changes: appliedChanges(h.plan),
      pending: deferredChanges(h.plan),
      warnings: h.plan.warnings,
    }));
    confirmed = await options.confirm(pendingOutcomes);
  }
  try {
    if (!confirmed) {
      for (const host of toChange) notApplied(host);
      return result(false);
    }
    const members = new Map<string, number>();
    for (const host of toChange)
      for (const g of host.appliance.groups) members.set(g, (members.get(g) ?? 0) + 1);
    const groupLimits = new GroupLimits(options.groups, members);
    const budget = failureBudget(options.maxFail, works.length);
    const failures = () =>
      [...outcomes.values()].filter((o) => o.status === 'failed' || o.status === 'unreachable').length;
    const rounds = batches(toChange, options.serial);
    for (let i = 0; i < rounds.length; i++) {
      if (budget !== undefined && failures() > budget) {
        for (const host of rounds.slice(i).flat()) {
          notApplied(host, `not applied: more than ${budget} host(s) failed (--max-fail)`);
        }
        break;
      }
      await Promise.all(
        rounds[i]!.map((host) => busy(() => groupLimits.run(host.appliance.groups, () => applyOne(host)))),
      );
    }
    return result(true);
  } finally {
    await Promise.all([...prepared.values()].map((h) => releaseHost(h, h.session)));
  }

  /** A host whose changes were planned but not made (declined, or stopped by --max-fail). */
  function notApplied(host: PreparedHost, why?: string): void {
    finish({
      ...baseOutcome(host.appliance.name, 'drift', { facts: host.facts, stats: host.session.stats, started }),
      pending: host.plan.changes,
      warnings: why ? [...host.plan.warnings, why] : host.plan.warnings,
    });
  }

  async function applyOne(host: PreparedHost): Promise<void> {
    const name = host.appliance.name;
    const work = works.find((w) => w.appliance.name === name)!;
    try {
      options.events?.phase?.(name, 'applying');
      const applied = await applyHost(host, {
        runId,
        probes: options.probes,
        secret: options.secret,
        address: options.probeAddress?.(host.appliance) ?? host.appliance.ssh.host,
        now: startedAt,
        applyTimeoutMs: options.applyTimeoutMs ?? 300_000,
        confirmSeconds: options.confirmTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_S,
        reconnect: (address, connectTimeout) =>
          options.connect({
            ...host.appliance,
            ssh: { ...host.appliance.ssh, host: address, connectTimeout },
          }),
      });
      const error = applied.error
        ? {
            reason: applied.error.reason,
            message: options.redactor.redact(applied.error.message),
            detail: applied.error.detail && options.redactor.redact(applied.error.detail),
          }
        : undefined;
      finish({
        ...baseOutcome(name, applied.status, {
          facts: applied.factsAfter ?? host.facts,
          stats: addStats(host.session.stats, applied.moreSessions ?? []),
          started,
        }),
        changes: appliedChanges(host.plan),
        pending: deferredChanges(host.plan),
        warnings: host.plan.warnings,
        error,
        verification: applied.verification,
        rolledBack: applied.rolledBack,
        ...(applied.notes?.length ? { notes: applied.notes.map((n) => options.redactor.redact(n)) } : {}),
      });
    } catch (err) {
      finish(failure(work, err, host.session));
    }
  }

  function result(confirmedRun: boolean): FleetResult {
    const hosts = options.appliances.map((a) => outcomes.get(a.name)!).filter(Boolean);
    return {
      runId,
      mode: options.mode,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      hosts,
      confirmed: confirmedRun,
    };
  }
}

function baseOutcome(
  name: string,
  status: HostStatus,
  extra: { facts?: GatheredFacts; stats?: SessionStats; started: Map<string, number> },
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
    durationMs: Date.now() - (extra.started.get(name) ?? Date.now()),
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
