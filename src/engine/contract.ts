/**
 * The recipe contract (DESIGN.md "The recipe contract"). A recipe is a pure planner:
 *
 *   facts    what it reads from a host, declared as data; the engine reads the facts of every
 *            selected recipe in one SSH round trip
 *   desired  its part of an appliance's inventory settings, or undefined when unmanaged
 *   plan     (desired, facts) -> changes; pure, unit-testable without SSH
 *   verify   (desired, facts after the apply) -> checks; probes (TLS, TURN) run by the engine
 *
 * A recipe never opens a socket and never imports the engine's internals; the engine never
 * imports a recipe (the CLI hands it the list in recipes/index.ts).
 */
import type { z } from 'zod';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import type { ShellCommand } from '../transport/shell.js';

// ---------------------------------------------------------------------------------------------
// Facts

/**
 * `content`: the file's bytes. `certificates`: only the PEM CERTIFICATE blocks, filtered on the
 * host so private keys never leave it (sha256 is still of the whole file).
 */
export type FileRead = 'content' | 'certificates';

export interface FactSpec {
  files?: readonly { path: string; read?: FileRead }[];
  /** read-only commands run as root; stdout (stderr merged) and exit code are captured */
  commands?: readonly { id: string; command: ShellCommand }[];
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

export type Check =
  | { kind: 'assert'; ok: boolean; message: string }
  | {
      kind: 'tls';
      port: number;
      servername: string;
      /** hex SHA-256 of the leaf certificate that must be served */
      expectFingerprint256: string;
      /** hex SHA-256 fingerprints of the chain that must follow the leaf, in order */
      expectChain?: readonly string[];
      message: string;
    }
  | {
      kind: 'turn-allocate';
      port: number;
      username: string;
      password: SecretRef;
      /**
       * send a password that is certainly wrong (derived from `password`): proves the server
       * refuses bad credentials when the old password is not known
       */
      wrongPassword?: boolean;
      realm: string;
      /** success: a relayed address is granted (optionally this one); unauthorized: 401 */
      expect: { outcome: 'success'; relayedAddress?: string } | { outcome: 'unauthorized' };
      message: string;
    };

// ---------------------------------------------------------------------------------------------
// Recipes

export interface DesiredContext {
  appliance: ApplianceConfig;
  /** the value of a secret referenced from the inventory (resolved before any host is contacted) */
  secret(ref: SecretRef): string;
  /**
   * Register a secret the recipe derived from the inventory's (a private key decrypted locally, the
   * lines of a key's body): everything printed or recorded redacts it like the inventory's own.
   */
  addSecret?(value: string): void;
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
}

/** A section of the inventory a recipe (or several) reads, with its schema. */
export interface InventorySection {
  key: string;
  description: string;
  schema: z.ZodType;
}
