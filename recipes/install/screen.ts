/**
 * Reading the install wizard's screen: what it printed since the last answer, as plain text
 * (docs/appliance.md, "The install wizard"). Pure.
 *
 *   ==========================================================
 *   |                      Step 3 of 9                       |
 *   |                  Hostname and Domain                   |
 *   ==========================================================
 *
 *   Hostname?
 *   Press [ENTER] to use the default value: proxy
 *   > _
 *
 * gives { kind: 'question', question: 'Hostname?', default: 'proxy', step: { number: 3, total: 9,
 * title: 'Hostname and Domain' }, ... }. A question is whole once the prompt `> ` ends the screen.
 */

export interface StepHeader {
  number: number;
  total: number;
  title: string;
}

export type WizardScreen =
  | {
      kind: 'question';
      /** its last line, e.g. "Enable Fail2ban? (Yes/No)" */
      question: string;
      /** the value offered by "Press [ENTER] to use the default value: ..." */
      default?: string;
      /** "Default DNS Servers found:" lists: the values listed just above the question */
      listed: string[];
      step?: StepHeader;
    }
  | { kind: 'sudo-password' }
  /** the wizard refused the last answer */
  | { kind: 'invalid'; reason: string }
  /** sudo refused the password */
  | { kind: 'sudo-refused'; reason: string }
  /** the wizard stopped by itself (a failed apply, a crash, an abort) */
  | { kind: 'failed'; reason: string }
  /** done: it applied the answers and reboots */
  | { kind: 'rebooting' };

const DEFAULT_LINE = /^Press \[ENTER\] to use the default value: (.*)$/;
const FAILED = [
  /^Applying the configuration failed: .*$/m,
  /^Traceback \(most recent call last\):$/m,
  /^Aborted.*$/m,
  /^installwizard: .*$/m,
  /^No network interfaces have been detected\.$/m,
];
const SUDO_REFUSED = [
  /^Sorry, try again\.$/m,
  /^sudo: .*incorrect password attempts?$/m,
  /is not in the sudoers file/m,
];

function stepHeader(text: string): StepHeader | undefined {
  const match = /\|\s*Step (\d+) of (\d+)\s*\|\n\|(.*)\|/.exec(text);
  if (!match) return undefined;
  return { number: Number(match[1]), total: Number(match[2]), title: (match[3] ?? '').trim() };
}

/** The values of "Default X found:" listed (as "  - value") right above the question. */
function listedValues(lines: readonly string[]): string[] {
  const start = lines.findLastIndex((line) => /^Default .+ found:$/.test(line.trim()));
  if (start === -1) return [];
  return lines
    .slice(start + 1)
    .map((line) => /^\s+- (.*)$/.exec(line)?.[1]?.trim())
    .filter((value): value is string => value !== undefined);
}

/** What the screen shows, or undefined while it is not finished (no prompt yet). */
export function readWizardScreen(screen: string): WizardScreen | undefined {
  const invalid = /^Invalid: (.*)$/m.exec(screen);
  if (invalid) return { kind: 'invalid', reason: (invalid[1] ?? '').trim() };
  for (const pattern of SUDO_REFUSED) {
    const match = pattern.exec(screen);
    if (match) return { kind: 'sudo-refused', reason: match[0].trim() };
  }
  for (const pattern of FAILED) {
    const match = pattern.exec(screen);
    if (match) return { kind: 'failed', reason: match[0].trim() };
  }
  if (/^Rebooting\.$/m.test(screen)) return { kind: 'rebooting' };
  if (/\[sudo\] password for [^\n]*: ?$/.test(screen)) return { kind: 'sudo-password' };
  if (!/(^|\n)> $/.test(screen)) return undefined;

  const lines = screen.slice(0, -2).split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  const offered = DEFAULT_LINE.exec(lines[last] ?? '');
  if (offered) last--;
  const question = (lines[last] ?? '').trim();
  const step = stepHeader(screen);
  return {
    kind: 'question',
    question,
    ...(offered ? { default: (offered[1] ?? '').trim() } : {}),
    listed: listedValues(lines.slice(0, last)),
    ...(step ? { step } : {}),
  };
}
