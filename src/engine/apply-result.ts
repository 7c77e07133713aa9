/**
 * What applying one host produces and the pieces both ways of applying share (host.ts: one apply
 * exec; commit-confirmed.ts: armed rollback and reconnect): turning an apply script's outcome into
 * a one-line error, and the checks of verification and of a restore.
 */
import { HostError } from '../errors.js';
import type { SecretRef } from '../inventory/model.js';
import type { HostSession, SessionStats, UploadFile } from '../transport/types.js';
import {
  type ApplyOutcome,
  type ApplyScriptInput,
  BACKUP_ROOT,
  type InstallFile,
  JOURNAL,
  savedPaths,
} from './apply-script.js';
import { refusedRestore } from './backup-script.js';
import type { AcquirerRegistry, Check } from './contract.js';
import type { GatheredFacts, MergedFactSpec } from './facts.js';
import type { PreparedHost } from './host.js';
import { appliedChanges } from './plan.js';
import type { CheckResult, Probes } from './verify.js';

export interface ApplyResult {
  /** `unknown`: the connection dropped during the apply and its outcome could not be read (outcome.ts) */
  status: 'changed' | 'failed' | 'unreachable' | 'unknown';
  error?: HostError;
  verification: CheckResult[];
  factsAfter?: GatheredFacts;
  rolledBack: boolean;
  /** what the report should say besides changes and checks (e.g. that a new connection was made) */
  notes?: string[];
  /** connections opened besides the host's first one (commit-confirmed, a dropped apply: reconnects) */
  moreSessions?: SessionStats[];
}

export interface ApplyContext {
  runId: string;
  probes: Probes;
  /** what changes that acquire (an ACME order) are obtained with, by kind */
  acquirers?: AcquirerRegistry;
  secret(ref: SecretRef): string;
  /** where probes connect to: the appliance's address */
  address: string;
  now: Date;
  applyTimeoutMs: number;
  /** commit-confirmed: seconds the host waits for a confirmation before it rolls back by itself */
  confirmSeconds: number;
  /** a new SSH connection to this appliance over `address` (commit-confirmed, a dropped apply) */
  reconnect(address: string, connectTimeoutSeconds: number): Promise<HostSession>;
  /** commit-confirmed: pause between reconnection attempts and state reads (default 1000 ms) */
  confirmPollMs?: number;
}

/** The apply script's input and uploads for a host's plan. */
export interface PreparedApply {
  input: ApplyScriptInput;
  /** what the apply reads again afterwards (`input.factsAfter`): see host.ts factsAfterSpec */
  afterSpec: MergedFactSpec;
  files: InstallFile[];
  uploads: UploadFile[];
}

export function firstLine(text: Buffer | string): string {
  return (
    text
      .toString()
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

/** The most telling line of a failed command's output (nginx prints `[emerg]` lines). */
export function errorLine(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    lines.find((l) => /\[(emerg|alert|crit|error)\]|error|failed|invalid/i.test(l)) ??
    lines[0] ??
    '(no output)'
  );
}

/** The HostError of an apply script that stopped early (stale, a failure, cut short). */
export function applyFailure(
  host: PreparedHost,
  input: ApplyScriptInput,
  outcome: Exclude<ApplyOutcome, { kind: 'applied' }>,
  /** how an incomplete apply ended, e.g. `(exit null): ...` */
  incomplete: string,
): HostError {
  const name = host.appliance.name;
  const { plan } = host;
  const { files } = input;
  if (outcome.kind === 'stale') {
    const path = files[outcome.index]?.path ?? '?';
    return new HostError(
      'stale',
      `${name}: ${path} changed since it was planned; nothing was changed, run again`,
    );
  }
  if (outcome.kind === 'failed') {
    if (outcome.stage === 'backup') return backupFailure(name, input, outcome);
    const what =
      outcome.stage === 'validate'
        ? `validation \`${plan.validate[outcome.index]?.text}\` failed`
        : outcome.stage === 'handler'
          ? `handler ${plan.handlers[outcome.index]?.id} failed`
          : outcome.stage === 'step'
            ? `step "${plan.steps[outcome.index]?.summary}" failed`
            : `installing ${files[outcome.index]?.path} failed`;
    const restored = outcome.unrestorable.length
      ? `; ${refusedRestore(outcome.unrestorable)}`
      : outcome.restored
        ? '; previous files restored'
        : '';
    return new HostError(
      outcome.stage === 'validate' ? 'validation' : outcome.stage,
      `${name}: ${what}: ${errorLine(outcome.output)}${restored}`,
      { detail: outcome.output },
    );
  }
  return new HostError('apply', `${name}: the apply did not finish ${incomplete}`);
}

/** A backup that could not be written whole: nothing was installed. */
function backupFailure(
  name: string,
  input: ApplyScriptInput,
  outcome: Extract<ApplyOutcome, { kind: 'failed' }>,
): HostError {
  const dir = `${BACKUP_ROOT}/${input.runId}`;
  const saved = savedPaths(input);
  const what =
    outcome.index < saved.length
      ? `backing up ${saved[outcome.index]} into ${dir}`
      : `writing the journal ${JOURNAL}`;
  return new HostError(
    'backup',
    `${name}: ${what} failed: ${errorLine(outcome.output)}; nothing was changed`,
    { detail: outcome.output },
  );
}

/**
 * Checks of a recipe's verify for the recipes that changed something, then those of the handlers
 * that ran, each check once (a probe covered by another check is not run twice).
 */
export function verifyChecks(host: PreparedHost, factsAfter: GatheredFacts, now: Date): Check[] {
  const planCtx = { host: host.appliance.name, now };
  const changedRecipes = new Set(appliedChanges(host.plan).map((c) => c.recipe));
  const checks = host.selected
    .filter(({ recipe }) => changedRecipes.has(recipe.name))
    .flatMap(({ recipe, desired }) => recipe.verify?.(desired, factsAfter, planCtx) ?? []);
  return onceEach([...checks, ...handlerChecks(host, factsAfter, now)]);
}

/** What the handlers that ran require afterwards (they run again after a restore, too). */
function handlerChecks(host: PreparedHost, facts: GatheredFacts, now: Date): Check[] {
  const planCtx = { host: host.appliance.name, now };
  return host.plan.handlers.flatMap((h) => h.verify?.(facts, planCtx) ?? []);
}

/** Drop repeated checks, and probes of a kind another probe check covers. */
export function onceEach(checks: readonly Check[]): Check[] {
  const covered = new Set(checks.flatMap((c) => (c.kind === 'probe' ? (c.covers ?? []) : [])));
  const seen = new Set<string>();
  return checks.filter((check) => {
    if (check.kind === 'probe' && covered.has(check.probe)) return false;
    const key = JSON.stringify(check);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What proves the previous state is back: the recipes' verifyRestored and the files byte for byte. */
export function restoredChecks(
  host: PreparedHost,
  files: readonly InstallFile[],
  restoredFacts: GatheredFacts,
  now: Date,
): Check[] {
  const planCtx = { host: host.appliance.name, now };
  const changedRecipes = new Set(appliedChanges(host.plan).map((c) => c.recipe));
  const checks: Check[] = host.selected
    .filter(({ recipe }) => changedRecipes.has(recipe.name))
    .flatMap(
      ({ recipe, desired }) => recipe.verifyRestored?.(desired, host.facts, restoredFacts, planCtx) ?? [],
    );
  const sameFiles = files.every((f) => {
    const now = restoredFacts.file(f.path);
    return f.expectedSha256 === null
      ? !now.exists || !host.spec.files.some((s) => s.path === f.path)
      : now.exists && now.sha256 === f.expectedSha256;
  });
  checks.push({ kind: 'assert', ok: sameFiles, message: 'previous files restored byte for byte' });
  return onceEach([...checks, ...handlerChecks(host, restoredFacts, now)]);
}
