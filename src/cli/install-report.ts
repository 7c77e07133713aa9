/**
 * The report of `rpctl install`: text (one block per appliance) or JSON, and the exit code.
 *
 *   lab-2  installed in 14.2 s: password changed, 31 answers (5 saved defaults kept)
 *          host key regenerated: ssh-ed25519 SHA256:old... -> ssh-ed25519 SHA256:new... (recorded in FILE)
 *          plan: in sync
 *          transcript: ~/.local/state/rpctl/install/RUN-lab-2.log
 */
import { ExitCode } from '../errors.js';
import type { InstallOutcome } from './install-host.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function planStatus(outcome: InstallOutcome): 'in-sync' | 'changes-pending' | undefined {
  if (outcome.status !== 'installed' || !outcome.plan) return undefined;
  const pending = outcome.plan.changes.length + outcome.plan.pending.length;
  return pending === 0 ? 'in-sync' : 'changes-pending';
}

export function installExitCode(outcomes: readonly InstallOutcome[]): ExitCode {
  if (outcomes.some((o) => o.status === 'failed')) return ExitCode.failed;
  if (outcomes.some((o) => planStatus(o) === 'changes-pending')) return ExitCode.changes;
  return ExitCode.ok;
}

export function installReport(outcomes: readonly InstallOutcome[]) {
  return {
    hosts: outcomes.map((o) => ({
      name: o.name,
      status: o.status,
      durationMs: o.durationMs,
      passwordChanged: o.passwordChanged,
      answered: o.answered,
      ...(o.hostKey ? { hostKey: o.hostKey } : {}),
      ...(o.plan
        ? {
            plan: {
              status: planStatus(o) ?? o.plan.status,
              changes: [...o.plan.changes, ...o.plan.pending].map((c) => ({
                recipe: c.recipe,
                summary: c.summary,
                disruptive: c.disruptive,
              })),
            },
          }
        : {}),
      ...(o.error ? { error: o.error, state: o.state } : {}),
      transcript: o.transcript,
    })),
    summary: {
      installed: outcomes.filter((o) => o.status === 'installed').length,
      inSync: outcomes.filter((o) => planStatus(o) === 'in-sync').length,
      changesPending: outcomes.filter((o) => planStatus(o) === 'changes-pending').length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
    },
  };
}

function block(o: InstallOutcome, width: number): string {
  const pad = ' '.repeat(width + 2);
  const lines: string[] = [];
  const kept = o.answered.filter((a) => a.usedDefault).length;
  const answers = `${o.answered.length} answers (${kept} defaults kept)`;
  if (o.status === 'installed') {
    const password = o.passwordChanged ? 'password changed, ' : '';
    lines.push(`installed in ${seconds(o.durationMs)}: ${password}${answers}`);
    if (o.hostKey)
      lines.push(
        `host key regenerated: ${o.hostKey.before.join(', ') || '(none known)'} -> ${o.hostKey.after.join(', ')} (recorded in ${o.hostKey.recordedIn}${o.hostKey.acceptedOnFlag ? ', as offered after the reboot: --accept-regenerated-host-key' : ''})`,
      );
    for (const old of o.hostKey?.stillTrusted ?? [])
      lines.push(
        `warning: known_hosts still trusts the old key ${old} through a line naming other hosts too`,
      );
    const plan = o.plan!;
    const changes = [...plan.changes, ...plan.pending];
    if (changes.length === 0) lines.push('plan: in sync');
    else {
      lines.push(
        `plan: ${changes.length} change${changes.length === 1 ? '' : 's'} the wizard does not make (run rpctl apply):`,
      );
      for (const c of changes)
        lines.push(`  ${c.recipe}: ${c.summary}${c.disruptive ? ' (disruptive)' : ''}`);
    }
  } else {
    lines.push(`FAILED after ${seconds(o.durationMs)}: ${o.error?.message ?? 'unknown error'}`);
    if (o.answered.length > 0) lines.push(`${answers} before it stopped`);
    lines.push(`state: ${o.state ?? 'unknown'}`);
  }
  lines.push(`transcript: ${o.transcript}`);
  return lines.map((line, i) => (i === 0 ? `${o.name.padEnd(width)}  ${line}` : `${pad}${line}`)).join('\n');
}

export function renderInstall(outcomes: readonly InstallOutcome[]): string {
  const width = Math.max(...outcomes.map((o) => o.name.length), 4);
  const summary = installReport(outcomes).summary;
  const total = `${outcomes.length} appliance${outcomes.length === 1 ? '' : 's'}: ${summary.inSync} installed and in sync, ${summary.changesPending} installed with changes pending, ${summary.failed} failed`;
  return `${outcomes.map((o) => block(o, width)).join('\n')}\n${total}\n`;
}
