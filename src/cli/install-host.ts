/**
 * `rpctl install` on one appliance:
 *
 *   1. log in with the initial password; PAM forces the change: current, new, new; the session
 *      ends (an appliance whose password was already changed is logged into with the new one)
 *   2. log in with the new password; has the wizard run already (the wizard's `stateCommand`)?
 *      The login shell starts the wizard (--rerun: its `rerunCommand` on a terminal)
 *   3. answer it with the wizard's conversation (FirstLoginWizard, src/engine/one-off.ts); it stops
 *      and interrupts the wizard on anything unexpected, before it saves anything
 *   4. when it is done (the wizard reboots): read the regenerated host keys over the trusted
 *      session, record them
 *   5. wait for the reboot, connect again, and plan with every recipe: the inventory's state?
 *
 * The transcript (everything both terminals printed, secrets redacted) is written whatever happens.
 */
import { converse, plainText } from '../engine/conversation.js';
import type {
  AnsweredQuestion,
  FirstLoginWizard,
  WizardConversation,
  WizardState,
} from '../engine/one-off.js';
import { bootIdentity, type HostKeyChange, readHostKeys, recordHostKeys } from '../engine/reboot.js';
import type { Redactor } from '../engine/redact.js';
import type { HostOutcome } from '../engine/run.js';
import { HostError, oneLine } from '../errors.js';
import type { ApplianceConfig, SecretRef } from '../inventory/model.js';
import { writeFileAtomic } from '../report/records.js';
import { TerminalWaitError } from '../transport/terminal.js';
import type { HostSession } from '../transport/types.js';
import { changePassword, InstallFailure, withPassword } from './install-login.js';
import { reconnect } from './install-reconnect.js';

/** One appliance's install, checked before contact (install-run.ts). */
export interface InstallTarget {
  appliance: ApplianceConfig;
  initialPassword: SecretRef;
  newPassword: SecretRef;
  rebootTimeoutMs: number;
  /** a conversation answering its wizard */
  conversation(): WizardConversation;
}

export interface InstallContext {
  /** what the wizard is: its state check, rerun command */
  wizard: FirstLoginWizard;
  rerun: boolean;
  acceptRegeneratedHostKey: boolean;
  secret(ref: SecretRef): string;
  redactor: Redactor;
  /** open a session (the engine's openSession with the run's options); `acceptNewHostKey` for this host only */
  connect(appliance: ApplianceConfig, options?: { acceptNewHostKey?: boolean }): Promise<HostSession>;
  /** the recipes' plan on the installed appliance, over `session` (which it closes) */
  verify(appliance: ApplianceConfig, session: HostSession): Promise<HostOutcome>;
  transcriptPath(name: string): string;
  log(name: string, line: string): void;
  /** longest wait for the wizard's next question (it may work between two) */
  turnTimeoutMs: number;
}

export interface InstallOutcome {
  name: string;
  status: 'installed' | 'failed';
  passwordChanged: boolean;
  answered: readonly AnsweredQuestion[];
  hostKey?: HostKeyChange;
  /** the recipes' plan after the install (0 changes: the appliance is as the inventory says) */
  plan?: HostOutcome;
  error?: { reason: string; message: string };
  /** a failed install: the state the appliance is in */
  state?: string;
  transcript: string;
  durationMs: number;
}

export async function installHost(target: InstallTarget, ctx: InstallContext): Promise<InstallOutcome> {
  const started = Date.now();
  const { name } = target.appliance;
  const screens: string[] = [];
  const outcome: InstallOutcome = {
    name,
    status: 'failed',
    passwordChanged: false,
    answered: [],
    transcript: ctx.transcriptPath(name),
    durationMs: 0,
  };
  try {
    await run(target, ctx, outcome, screens);
    outcome.status = 'installed';
  } catch (err) {
    const failure =
      err instanceof InstallFailure
        ? err
        : new InstallFailure(
            err instanceof HostError ? err.reason : 'internal',
            err instanceof HostError ? err.message : `${name}: ${oneLine(err)}`,
            outcome.passwordChanged
              ? "pexip's password is the new one; see the transcript for how far the install got"
              : 'see the transcript',
          );
    outcome.error = { reason: failure.reason, message: ctx.redactor.redact(failure.message) };
    outcome.state = ctx.redactor.redact(failure.state);
  }
  const transcript = plainText(screens.join('\n----- next session -----\n'));
  writeFileAtomic(outcome.transcript, ctx.redactor.redact(transcript));
  outcome.durationMs = Date.now() - started;
  return outcome;
}

async function run(target: InstallTarget, ctx: InstallContext, outcome: InstallOutcome, screens: string[]) {
  const { appliance } = target;
  const { name } = appliance;
  const log = (line: string) => ctx.log(name, line);
  const asNew = withPassword(appliance, target.newPassword);

  if (!ctx.rerun) outcome.passwordChanged = await changePassword(target, ctx, screens, log);
  const session = await ctx.connect(asNew);
  let wizardState: WizardState;
  let bootBefore: string | undefined;
  try {
    const check = await session.exec(ctx.wizard.stateCommand, { timeoutMs: 10_000 });
    wizardState = ctx.wizard.state(check.stdout.toString());
    // to tell the rebooted appliance from this boot, which may linger after the wizard's session
    bootBefore = await bootIdentity(session);
  } catch (err) {
    await session.close();
    throw err;
  }
  const passwordState = outcome.passwordChanged
    ? "pexip's password is now the new one"
    : "pexip's password was already the new one";
  const refusal = notToRun(wizardState, ctx.rerun);
  if (refusal) {
    await session.close();
    throw new InstallFailure(
      refusal.reason,
      `${name}: ${refusal.message}`,
      refusal.reason === 'not-installed'
        ? 'nothing was changed'
        : `${passwordState}; nothing else was changed`,
    );
  }

  // The first run starts the way a person's does: the login shell runs the wizard.
  log(
    ctx.rerun ? 'running the install wizard again' : 'logging in: the login shell starts the install wizard',
  );
  const terminal = await session.terminal(ctx.rerun ? { command: ctx.wizard.rerunCommand } : {});
  const conversation = target.conversation();
  const before = ctx.rerun
    ? 'the previous configuration is unchanged'
    : `${passwordState}; nothing is configured and the wizard starts again at the next login`;
  let end: Awaited<ReturnType<typeof converse>>;
  try {
    end = await converse(terminal, conversation, {
      what: 'the install wizard',
      turnTimeoutMs: ctx.turnTimeoutMs,
    });
  } catch (err) {
    screens.push(terminal.output());
    outcome.answered = conversation.answered;
    if (err instanceof TerminalWaitError && err.reason === 'timeout') terminal.interrupt();
    await session.close();
    throw new InstallFailure(
      'wizard',
      `${name}: ${err instanceof Error ? err.message : String(err)}`,
      `unknown: the wizard was interrupted after ${conversation.answered.length} answers; see the transcript`,
    );
  }
  outcome.answered = conversation.answered;
  if (end.kind === 'stopped') {
    // The wizard saves its answers only once every question is answered, just before applying them.
    const saved = conversation.applying || (!ctx.rerun && (await answersSaved(session, ctx.wizard)));
    screens.push(terminal.output());
    await session.close();
    const state = saved
      ? 'the wizard saved its answers and stopped while applying them: the appliance may be partly configured and did not reboot; fix the cause and rerun with --rerun'
      : `the wizard was interrupted before it saved anything: ${before}`;
    throw new InstallFailure(
      end.reason.startsWith('the wizard stopped') ? 'wizard-failed' : 'wizard',
      `${name}: ${end.reason}`,
      state,
    );
  }

  log(
    `${conversation.recognised ? `${conversation.recognised} ` : ''}wizard done (${conversation.answered.length} answers); reading its host keys before the reboot`,
  );
  const keys = await readHostKeys(session).catch(() => []);
  if (keys.length > 0) outcome.hostKey = recordHostKeys(appliance, keys);
  if (outcome.hostKey)
    log(
      `new host key ${outcome.hostKey.after.join(', ')} (was ${outcome.hostKey.before.join(', ') || 'unknown'}) recorded in ${outcome.hostKey.recordedIn}`,
    );
  for (const old of outcome.hostKey?.stillTrusted ?? [])
    log(
      `warning: known_hosts still trusts the old key ${old} through a line naming other hosts too; edit it by hand`,
    );
  // The reboot ends the wizard's session; only then can a connection reach the rebooted sshd.
  const rebooted = await Promise.race([
    terminal.exited.then(() => true),
    sleep(target.rebootTimeoutMs).then(() => false),
  ]);
  screens.push(terminal.output());
  // The wizard's session can end (its `reboot` returned) before the system goes down: let the
  // connection drop with the old sshd first (bounded), so the next one reaches the new boot.
  await Promise.race([session.whenClosed(), sleep(Math.min(GOING_DOWN_MS, target.rebootTimeoutMs))]);
  await session.close();
  const applied = 'the wizard saved and applied the configuration and rebooted the appliance';
  if (!rebooted)
    throw new InstallFailure(
      'reboot-timeout',
      `${name}: the wizard said "Rebooting." but the session was still open after ${target.rebootTimeoutMs / 1000} s`,
      applied,
    );

  log('rebooting; waiting for SSH');
  const { session: after, hostKey } = await reconnect(
    target,
    ctx,
    asNew,
    keys.length > 0,
    applied,
    bootBefore,
  );
  if (hostKey) outcome.hostKey = hostKey;
  log('back up; planning with every recipe');
  outcome.plan = await ctx.verify(asNew, after);
  if (outcome.plan.status === 'failed' || outcome.plan.status === 'unreachable')
    throw new InstallFailure(
      'verify',
      `${name}: installed, but the recipes' plan failed: ${outcome.plan.error?.message ?? 'unknown'}`,
      `${applied}; it is up`,
    );
}

/** Why the wizard is not run on an appliance in this state: installed, or --rerun of a fresh one. */
function notToRun(
  state: WizardState,
  rerun: boolean,
): { reason: 'already-installed' | 'not-installed'; message: string } | undefined {
  if (state.kind === 'installed' && state.neverRerun)
    return { reason: 'already-installed', message: state.neverRerun };
  if (state.kind === 'installed' && !rerun)
    return {
      reason: 'already-installed',
      message: `the wizard has already run (${state.evidence}); to run it again use --rerun`,
    };
  if (state.kind === 'fresh' && rerun)
    return {
      reason: 'not-installed',
      message: `the wizard has never completed here (${state.evidence}); install without --rerun`,
    };
  return undefined;
}

/** After an interruption of a first run: did the wizard save its answers after all? */
async function answersSaved(session: HostSession, wizard: FirstLoginWizard): Promise<boolean> {
  const check = await session.exec(wizard.stateCommand, { timeoutMs: 10_000 }).catch(() => undefined);
  return check !== undefined && wizard.state(check.stdout.toString()).kind === 'installed';
}

/** The longest wait for the connection of the wizard's session to drop as the appliance goes down. */
const GOING_DOWN_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
