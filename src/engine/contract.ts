/**
 * The recipe contract: the ONE engine module a recipe imports (with src/inventory/types.ts for
 * inventory value types). docs/architecture.md describes it; docs/adding-a-concern.md uses it.
 *
 *   facts    what a recipe reads from a host, declared as data; the engine reads the facts of
 *            every selected recipe in one SSH round trip
 *   desired  its part of an appliance's inventory settings (the section, already validated and
 *            typed), or undefined when unmanaged
 *   plan     (desired, facts, context) -> changes; pure, unit-testable without SSH
 *   verify   (desired, facts after the apply) -> checks: assertions decided by the recipe, and
 *            probes (a TLS handshake, a TURN allocation) that a concern brings and the engine runs
 *
 * A concern (recipes/<concern>/index.ts) bundles its recipes, inventory sections, probes, drift
 * checks and what `rpctl facts` shows. A recipe never opens a socket itself and never imports the
 * engine's internals; the engine never imports a recipe (the CLI hands it recipes/index.ts).
 */
import type { z } from 'zod';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import type { InventorySection } from '../inventory/types.js';
import type { ShellCommand } from '../transport/shell.js';
import type { AnyOneOffCommand, OneOffGroup } from './one-off.js';

// What recipes need from the rest of rpctl, so that this module is all they import.
export { badFlagValue, HostError, InputError, oneLine, RpctlError } from '../errors.js';
export type { ApplianceConfig, SecretRef } from '../inventory/model.js';
export { resolveInventoryPath } from '../inventory/paths.js';
export { describeSecretRef, secret } from '../inventory/secrets.js';
export type { InventorySection } from '../inventory/types.js';
export { joinCommands, type ShellCommand, script, sh } from '../transport/shell.js';
export type { Conversation, Turn } from './conversation.js';
export { mergeFactSpecs, sha256 } from './facts.js';
export type * from './one-off.js';
export { type TlsObservation, tlsHandshake } from './tls.js';
export { uploadedFile } from './uploads.js';

// ---------------------------------------------------------------------------------------------
// Facts

/**
 * `content`: the file's bytes. `certificates`: only the PEM CERTIFICATE blocks, filtered on the
 * host so private keys never leave it (sha256 is still of the whole file).
 */
export type FileRead = 'content' | 'certificates';

export interface FactSpec {
  files?: readonly { path: string; read?: FileRead }[];
  /**
   * read-only commands run as root; stdout (stderr merged) and exit code are captured.
   * `afterChange`: read only once an apply has changed the host (for verify), not for planning or
   * drift: a costly read the plan can do without (`nginx -T`).
   */
  commands?: readonly { id: string; command: ShellCommand; afterChange?: boolean }[];
}

export type FileFact =
  | {
      path: string;
      exists: true;
      /** the bytes read (see FileRead) */
      content: Buffer;
      /** hex sha256 of the whole file on the host */
      sha256: string;
      /** permission bits, e.g. 0o644 */
      mode: number;
      owner: string;
      group: string;
      size: number;
    }
  | { path: string; exists: false };

export interface CommandFact {
  id: string;
  code: number;
  output: string;
}

/** Read-only view of what was gathered from one host. */
export interface HostFacts {
  file(path: string): FileFact;
  /** the file's text, or undefined when it does not exist */
  text(path: string): string | undefined;
  command(id: string): CommandFact | undefined;
}

// ---------------------------------------------------------------------------------------------
// Changes

export interface FileWrite {
  path: string;
  /** the complete new content */
  content: string | Buffer;
  /** default: the existing file's mode, owner and group; required when the file is new */
  mode?: number;
  owner?: string;
  group?: string;
  /** also keep the previous file under this sibling name (the guide's `pexip.pem.backup`) */
  siblingBackup?: string;
  /** content is secret (a private key): uploaded 0600 into a 0700 directory, never shown in a diff */
  secret?: boolean;
  /**
   * Lines of the file that hold a secret the inventory does not know (a shared secret written by an
   * installer): in diffs, a line matching it shows only its first capture group, then [REDACTED].
   */
  secretLines?: RegExp;
}

/** A command the apply step runs as root, after file writes and before validation. */
export interface RemoteStep {
  /** what it does, for plan output and records */
  summary: string;
  command: ShellCommand;
  /**
   * Secret inputs, uploaded as files into the private upload directory. Refer to them in the
   * command with `uploadedFile(name)`; the value never appears in the command text.
   */
  secretFiles?: Record<string, string>;
  /** files the step modifies: backed up before it runs and restored if the apply fails */
  touches?: readonly string[];
}

export interface Handler {
  /** stable id; each notified handler runs once per host, in first-notified order */
  id: string;
  command: ShellCommand;
  /** interrupts live calls (a TURN restart): deferred unless --allow-disruptive */
  disruptive: boolean;
  /**
   * The handler may cut rpctl's SSH path to the host (it reconfigures the network). The engine then
   * applies commit-confirmed (src/engine/commit-confirmed.ts): before the handlers it arms a timed
   * rollback on the host, afterwards it reconnects over `reconnectTo` (default: the SSH host),
   * verifies, and cancels the rollback; a host it cannot reach again rolls back by itself. Such a
   * handler is always disruptive.
   */
  mayCutSshPath?: { reconnectTo?: string };
  /**
   * What must hold after this handler ran (nginx serves after its reload), checked once per host
   * whichever recipes notified it, and only when it ran.
   */
  verify?(after: HostFacts, ctx: PlanContext): Check[];
  /** the facts `verify` reads (read again after the apply with those of the recipes that changed) */
  facts?: FactSpec;
}

export interface Change {
  /** one line for humans: "add upstream 10.40.0.12:443" */
  summary: string;
  writes?: readonly FileWrite[];
  steps?: readonly RemoteStep[];
  /** run after every write and step of the host; a failure restores the backups and skips handlers */
  validate?: readonly ShellCommand[];
  notify?: readonly Handler[];
  /** interrupts live calls by itself (besides any disruptive handler it notifies) */
  disruptive?: boolean;
  /**
   * Text shown instead of a computed diff (e.g. fingerprints of a certificate). Files marked
   * secret are never diffed; without this they show as "(secret content changed)".
   */
  display?: string;
  /** what only the control machine can obtain during apply, and the steps that install it */
  acquire?: Acquisition;
}

// ---------------------------------------------------------------------------------------------
// Acquisitions

/**
 * Something a change installs that the control machine obtains during apply: after the
 * confirmation, under the host's lock, once the host's other changes are in place (a certificate
 * ordered from an ACME CA, whose challenge the host answers). The acquirer named `kind` (registered
 * by a concern, like a probe) obtains it, running commands on the host; `install` turns the result
 * into steps that run (and roll back, and are verified) like any change's.
 */
export interface Acquisition {
  kind: string;
  /** that acquirer's own parameters (made by its `acquisition` function, so they have its type) */
  request: unknown;
  install(obtained: unknown): RemoteStep[];
}

/** Commands run as root on the host being applied, for an acquirer. */
export interface HostCommands {
  run(
    command: ShellCommand,
    stdin?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** A kind of acquisition: how the control machine obtains what a change installs. */
export interface AcquirerKind<Request = unknown, Obtained = unknown> {
  name: string;
  /** obtain it; `notes` go into the host's report. A thrown error fails the host, nothing installed */
  obtain(
    request: Request,
    host: HostCommands,
    ctx: { secret(ref: SecretRef): string },
  ): Promise<{ obtained: Obtained; notes: string[] }>;
  /** a Change's `acquire` that this acquirer serves */
  acquisition(request: Request, install: (obtained: Obtained) => RemoteStep[]): Acquisition;
}

/** Acquirer kinds by name, as the engine receives them. */
export type AcquirerRegistry = ReadonlyMap<string, AcquirerKind>;

export function defineAcquirer<Request, Obtained>(
  name: string,
  obtain: AcquirerKind<Request, Obtained>['obtain'],
): AcquirerKind<Request, Obtained> {
  return {
    name,
    obtain,
    acquisition: (request, install) => ({
      kind: name,
      request,
      install: (obtained) => install(obtained as Obtained),
    }),
  };
}

export interface PlanResult {
  changes: Change[];
  /** shown with the plan, e.g. "only 2 upstream nodes; the guide recommends at least 3" */
  warnings?: string[];
}

export interface PlanContext {
  /** the appliance's inventory name */
  host: string;
  now: Date;
}

// ---------------------------------------------------------------------------------------------
// Verification

/** What a recipe states must hold after an apply. */
export type Check =
  | { kind: 'assert'; ok: boolean; message: string }
  | {
      kind: 'probe';
      /** the ProbeKind that runs it (registered by a concern: recipes/<concern>/index.ts) */
      probe: string;
      /** that probe's own parameters (made by its `check` function, so they have its type) */
      params: unknown;
      message: string;
      /**
       * probe kinds this check proves as well (a handshake that checks the served certificate
       * is also a handshake): a check of such a kind in the same verification is not run again
       */
      covers?: readonly string[];
    };

export interface CheckResult {
  ok: boolean;
  message: string;
}

/** Where a probe runs: from the control machine to the appliance. */
export interface ProbeTarget {
  /** the appliance's address (its SSH host unless the run says otherwise) */
  address: string;
  /** the value of a secret the check names (a TURN password): never part of the check itself */
  secret(ref: SecretRef): string;
}

/**
 * A kind of verification that talks to the appliance over the network (a TLS handshake, a TURN
 * allocation). A concern defines it with `defineProbe` and lists it in its `probes`; the engine
 * looks it up by name and runs it, so a new kind needs no engine change.
 */
export interface ProbeKind<Params = unknown> {
  name: string;
  run(params: Params, message: string, target: ProbeTarget): Promise<CheckResult>;
  /** a Check that this probe runs */
  check(params: Params, message: string): Extract<Check, { kind: 'probe' }>;
}

/** Probe kinds by name, as the engine receives them. */
export type ProbeRegistry = ReadonlyMap<string, ProbeKind>;

export function defineProbe<Params>(
  name: string,
  run: (params: Params, message: string, target: ProbeTarget) => Promise<CheckResult>,
): ProbeKind<Params> {
  return {
    name,
    run,
    check: (params, message) => ({ kind: 'probe', probe: name, params, message }),
  };
}

// ---------------------------------------------------------------------------------------------
// Recipes

export interface DesiredContext {
  appliance: ApplianceConfig;
  /** the run's clock: a planner never reads the time itself */
  now: Date;
  /** the value of a secret referenced from the inventory (resolved before any host is contacted) */
  secret(ref: SecretRef): string;
  /**
   * Register a secret the recipe derived from the inventory's (a private key decrypted locally, the
   * lines of a key's body): everything printed or recorded redacts it like the inventory's own.
   */
  addSecret?(value: string): void;
}

/** A service a recipe keeps running, as this run's facts show it (drift's `rpctl_service_up`). */
export interface ServiceStatus {
  service: string;
  running: boolean;
}

export interface Recipe<Desired = unknown> {
  /** id used by --recipes, reports and records: 'upstreams' */
  name: string;
  /** one line for --help and reports */
  description: string;
  /** the inventory section the recipe reads (several recipes may share one, e.g. `turn`) */
  section: string;
  /** this recipe's desired state for one appliance; undefined when the appliance does not manage it */
  desired(ctx: DesiredContext): Desired | undefined;
  facts: FactSpec;
  plan(desired: Desired, facts: HostFacts, ctx: PlanContext): PlanResult;
  verify?(desired: Desired, after: HostFacts, ctx: PlanContext): Check[];
  /**
   * After a failed verification was rolled back: what proves the previous state is back (e.g. the
   * old certificate is served again). `before` are the facts the apply started from; `desired` is
   * what was attempted (it says e.g. which name to probe with).
   */
  verifyRestored?(desired: Desired, before: HostFacts, after: HostFacts, ctx: PlanContext): Check[];
  /** the services this recipe keeps running and whether each runs (reports show them per host) */
  services?(desired: Desired, facts: HostFacts): ServiceStatus[];
}

export function defineSection<Schema extends z.ZodType>(
  section: InventorySection<Schema>,
): InventorySection<Schema> {
  return section;
}

/** A recipe as written in a concern: `desired` receives its section as the inventory validated it. */
export interface RecipeDefinition<Schema extends z.ZodType, Desired>
  extends Omit<Recipe<Desired>, 'section' | 'desired'> {
  section: InventorySection<Schema>;
  /** called only for appliances whose inventory has the section */
  desired(section: z.output<Schema>, ctx: DesiredContext): Desired | undefined;
}

/**
 * A recipe that reads one inventory section. The loader has validated every section against its
 * schema before any recipe runs (src/inventory/load.ts), so the value handed to `desired` has the
 * schema's output type; a one-off command that replaces a section validates its value the same way
 * (`withSection` in src/inventory/section.ts).
 */
export function defineRecipe<Schema extends z.ZodType, Desired>(
  definition: RecipeDefinition<Schema, Desired>,
): Recipe<Desired> {
  const { section, desired, ...rest } = definition;
  return {
    ...rest,
    section: section.key,
    desired(ctx) {
      const value = ctx.appliance.sections[section.key];
      // The one place a section's type is asserted: the loader validated it with this schema.
      return value === undefined ? undefined : desired(value as z.output<Schema>, ctx);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Concerns

/** Where a drift check looks: one host that answered, with the facts of this run. */
export interface DriftTarget {
  host: string;
  /** the appliance's address (its SSH host) */
  address: string;
  facts: HostFacts;
}

/** A date the appliance runs out at (a certificate's expiry), as `rpctl drift` reports it. */
export interface Expiry {
  notAfter: string;
  daysLeft: number;
  secondsLeft: number;
  /** within the warning window (--warn-expiry-days) */
  warn: boolean;
}

/**
 * A read-only check `rpctl drift` runs besides planning, per host that answered. It returns what it
 * found, or undefined when it has nothing to say; a thrown error becomes a warning on the host.
 */
export interface DriftCheck {
  name: string;
  run(target: DriftTarget, options: { now: Date; warnDays: number }): Promise<Expiry | undefined>;
}

/**
 * One concern of the appliance (upstreams, certificate, turn...): everything rpctl knows about it,
 * exported once from recipes/<concern>/index.ts and listed in recipes/index.ts.
 */
export interface Concern {
  name: string;
  /** in handler order within the concern */
  // biome-ignore lint/suspicious/noExplicitAny: each recipe has its own desired-state type
  recipes: readonly Recipe<any>[];
  sections: readonly InventorySection[];
  /** facts every run reads on every host (the appliance's identity and managed files) */
  facts?: FactSpec;
  /** this concern's part of what `rpctl facts` prints for a host (`now`: what days count from) */
  describeFacts?(facts: HostFacts, host: string, now: Date): Record<string, unknown>;
  driftChecks?: readonly DriftCheck[];
  probes?: readonly ProbeKind[];
  // biome-ignore lint/suspicious/noExplicitAny: each acquirer has its own request and result types
  acquirers?: readonly AcquirerKind<any, any>[];
  /** one-off commands (`rpctl upstream add`...), through the CLI's one policy for them */
  commands?: readonly AnyOneOffCommand[];
  /** the command groups they sit under (`rpctl upstream`), for --help */
  commandGroups?: readonly OneOffGroup[];
}

export function defineConcern(concern: Concern): Concern {
  return concern;
}
