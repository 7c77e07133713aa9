/**
 * One-off commands as data. A concern declares what a command is (its words, arguments, flags, what
 * it runs, what `--save` writes); the CLI's one helper (src/cli/one-off.ts) turns every spec into a
 * command and owns the policy they all share: `--limit` required to change appliances, `--save`
 * written where the inventory declares the value, exit codes, confirmation, --format/--output.
 *
 *   export const externalIp: OneOffCommand<string | null> = {
 *     kind: 'change',
 *     path: ['turn', 'external-ip'],
 *     ...
 *     recipes: () => [turnNatRecipe],
 *     section: 'turn',
 *     override: (ip, turn) => ({ ...turn, externalIp: ip }),
 *     save: { writes: 'turn.externalIp', values: (ip) => [{ path: ['turn', 'externalIp'], value: ip }] },
 *   };
 *
 * Types only: a spec never imports the CLI; what it needs from it comes through the interfaces
 * below, which the CLI implements.
 */
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import type { ShellCommand } from '../transport/shell.js';
import type { HostFacts, Recipe } from './contract.js';
import type { Conversation } from './conversation.js';
import type { FleetResult, HostOutcome } from './run.js';

export type { ApplianceConfig, FleetResult, HostFacts, HostOutcome, Recipe, SecretRef };

export interface OneOffArgument {
  /** `nodes`, shown as <nodes...> */
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface OneOffOption {
  /** as commander writes them: '--maxretry <n>', '--unset' */
  flags: string;
  description: string;
  /** the flag may be given several times; its values arrive as a list */
  repeatable?: boolean;
}

/** What the command line gave, before validation: arguments in order, flags by camelCase name. */
export interface OneOffGiven {
  args: readonly (string | readonly string[] | undefined)[];
  options: Readonly<Record<string, unknown>>;
  /** --save was given */
  save: boolean;
}

/** What the CLI offers a spec while it validates its input; nothing here contacts a host. */
export interface OneOffInputContext {
  /** the working directory, for file flags */
  cwd: string;
  /** a terminal is there to ask on */
  interactive: boolean;
  prompt(question: string, options?: { secret?: boolean }): Promise<string>;
  /** `file:PATH` or `env:NAME` as a secret reference; an InputError naming `what` when malformed */
  secretRef(text: string, what: string): SecretRef;
  /** a value typed at a prompt, as a reference the run resolves with the inventory's secrets */
  typedSecret(value: string, label: string): SecretRef;
  /** an existing regular file named by `flag`, made absolute; an InputError otherwise */
  file(flag: string, value: string): string;
  /** how --save writes an absolute path: relative to the inventory's directory when inside it */
  savedPath(absolute: string): string;
}

/** One value --save writes: a settings path (`['turn', 'externalIp']`) and the new value. */
export interface SavedValue {
  path: readonly string[];
  value: unknown;
}

/** Exit code meanings a command words its own way (the helper words the rest). */
export type ExitCodeText = Partial<Record<0 | 1 | 2 | 3, string>>;

interface OneOffBase<Input> {
  /** the command's words: ['upstream', 'add'], or ['install'] */
  path: readonly string[];
  /** one line for the parent's command list */
  summary: string;
  /** what --help says between the flags and the exit codes */
  help?: string;
  /** full command lines, shown under Examples: */
  examples: readonly string[];
  arguments?: readonly OneOffArgument[];
  options?: readonly OneOffOption[];
  exitCodes?: ExitCodeText;
  /** check every argument and flag: an InputError is exit 3 with nothing contacted */
  input(given: OneOffGiven, ctx: OneOffInputContext): Input | Promise<Input>;
}

/**
 * Set a value, then apply: the appliance's section is replaced by `override` for this run
 * (what the flags leave out comes from the inventory) and `recipes` converge it, with the
 * confirmation, validation, verification and rollback of `apply`.
 */
export interface ChangeCommand<Input> extends OneOffBase<Input> {
  kind: 'change';
  recipes(input: Input): readonly Recipe[];
  /** its changes may interrupt calls: --allow-disruptive is offered */
  disruptive?: boolean;
  /** applied commit-confirmed (the network restarts): --confirm-timeout is offered */
  commitConfirmed?: boolean;
  /** the inventory section the command edits ('turn'): what `override` and `save` are given */
  section?: string;
  /** the section this run applies: a pure function of the input and the effective section */
  override?(input: Input, current: unknown, appliance: string): unknown;
  /**
   * The override is inventory input (plain values from flags merged into the section): validate it
   * with the section's schema as the loader would, so rules across fields (a route's gateway inside
   * a network) hold for flags too. Off for overrides holding already-parsed values (secret refs).
   */
  validateOverride?: boolean;
  save?: {
    /** the settings --save writes, for --help: 'turn.externalIp' */
    writes: string;
    /** what --save writes for one appliance: a pure function of the input and its effective section */
    values(input: Input, current: unknown, appliance: string): readonly SavedValue[];
  };
  /** one more message for stderr after the report (a reminder) */
  after?(input: Input, result: FleetResult): string | undefined;
}

/** What a reporting command may ask the CLI while it renders. */
export interface ReportContext {
  appliance(name: string): ApplianceConfig;
  /** a recipe's desired state for an appliance, with the inventory's secrets (InputError if invalid) */
  desired<D>(recipe: Recipe<D>, appliance: ApplianceConfig): D | undefined;
  /** the certificate chain (hex SHA-256 fingerprints) served at host:port for servername */
  tlsChain(host: string, port: number, servername: string): Promise<string[]>;
  /** the command's outcome: 2 (differs from the inventory) or 1 (an appliance failed) */
  exitWith(code: 1 | 2): void;
}

/** Read-only: gather facts (or plan) with `recipes`, then render a report of its own. */
export interface ReportCommand<Input> extends OneOffBase<Input> {
  kind: 'report';
  /** facts: read only; plan: also plan each recipe against the inventory (in sync or not) */
  mode: 'facts' | 'plan';
  recipes(input: Input): readonly Recipe[];
  render(format: 'text' | 'json', result: FleetResult, ctx: ReportContext): string | Promise<string>;
}

/**
 * Commands the CLI runs itself, by name, with what each runner takes from the spec (`uses`):
 * the first login and install wizard of freshly deployed appliances (src/cli/install-run.ts).
 */
export interface CustomRunners {
  install: FirstLoginWizard;
}
export type CustomRunner = keyof CustomRunners;

/** Neither "set a value then apply" nor a report: the CLI's runner of that name runs it. */
export interface CustomCommand<Input, R extends CustomRunner = CustomRunner> extends OneOffBase<Input> {
  kind: 'custom';
  /** it changes appliances: --limit is required */
  changes: boolean;
  runner: R;
  /** what the runner needs from the concern */
  uses: CustomRunners[R];
  /** appliances worked on at once unless --concurrency says otherwise */
  defaultConcurrency?: number;
}

// ---------------------------------------------------------------------------------------------
// The first-login wizard of a freshly deployed appliance

/**
 * A first-login wizard, as the CLI's install runner drives it on each appliance: log in with the
 * expired initial password and set the new one (PAM's forced change), log in again, where the
 * login shell starts the wizard; answer it on a terminal (`conversation`), read the host keys it
 * regenerated, wait for its reboot and plan with every recipe. The concern says what the wizard
 * is; the runner does the logins, terminals, reboots, host keys, transcripts and the report.
 */
export interface FirstLoginWizard {
  /**
   * The factory login password: the initial one unless the inventory says otherwise; redacted
   * everywhere, like the inventory's secrets.
   */
  factoryPassword: string;
  /**
   * Check and prepare one appliance's install before anything is contacted, with its secrets
   * resolved: an InputError (exit 3) when the inventory cannot answer the wizard, or a password
   * breaks the appliance's rules.
   */
  prepare(
    appliance: ApplianceConfig,
    secret: (ref: SecretRef) => string,
    run: FirstLoginInput,
  ): PreparedWizard;
  /** a read-only command (run as the login user) whose output `state` reads */
  stateCommand: ShellCommand;
  /** has the wizard completed on the appliance? */
  state(output: string): WizardState;
  /** starts the wizard again on a terminal (--rerun); a first run starts from the login shell */
  rerunCommand: ShellCommand;
}

/** What `rpctl install` takes besides the inventory. */
export interface FirstLoginInput {
  /** run the wizard again on installed appliances */
  rerun: boolean;
  /** after the reboot, record the host key offered when the regenerated ones could not be read */
  acceptRegeneratedHostKey: boolean;
}

/** One appliance's install, checked: its passwords and how to answer its wizard. */
export interface PreparedWizard {
  /** the expired password of the first login; undefined: the factory password */
  initialPassword?: SecretRef;
  /** what the forced change sets: the login's and sudo's password afterwards */
  newPassword: SecretRef;
  /** the longest wait for the appliance to come back after the wizard's reboot */
  rebootTimeoutMs: number;
  /** a new conversation answering the wizard from the inventory (one per terminal) */
  conversation(): WizardConversation;
}

/**
 * Answers the wizard on a terminal (src/engine/conversation.ts drives it): `done` when the wizard
 * reboots to apply its answers, `stop` on anything it cannot answer (the wizard is interrupted).
 */
export interface WizardConversation extends Conversation {
  /** every question answered so far, in order */
  readonly answered: readonly AnsweredQuestion[];
  /** the wizard has begun applying its answers: stopped now, the appliance may be partly configured */
  readonly applying: boolean;
  /** which of several wizards it recognised, for the log; undefined before its first question */
  readonly recognised?: string;
}

/** One question of the wizard and what was typed, for the report: secrets only by reference. */
export interface AnsweredQuestion {
  /** '3 of 9: DNS' */
  step?: string;
  question: string;
  /** what was typed, `[ENTER]` for the default, a secret as `(secret from file:...)` */
  answer: string;
  usedDefault: boolean;
  /** the inventory field it came from */
  from: string;
}

/**
 * Whether the wizard has completed, with what shows it ('~/.config.json exists', 'no
 * ~/.config.json') for messages; `neverRerun`: it cannot run again, why and what to do instead.
 */
export type WizardState =
  | { kind: 'fresh'; evidence: string }
  | { kind: 'installed'; evidence: string; neverRerun?: string };

/** A word that groups one-off commands (`rpctl turn ...`), with its line in `rpctl --help`. */
export interface OneOffGroup {
  name: string;
  description: string;
}

export type OneOffCommand<Input = unknown> =
  | ChangeCommand<Input>
  | ReportCommand<Input>
  | CustomCommand<Input>;

/** A list of commands with different input types (a concern's `commands`). */
// biome-ignore lint/suspicious/noExplicitAny: each command checks its own input type
export type AnyOneOffCommand = OneOffCommand<any>;
