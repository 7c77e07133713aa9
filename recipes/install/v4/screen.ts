/**
 * Reading the v4 install wizard's screen (the 002 guide): what it printed since the last answer,
 * as plain text. Pure. Its prompts end in ": " on the line they are asked on, with no step header
 * and no default:
 *
 *   DNS server(s), space separated: _
 *
 * A refused answer reads "<reason>. Please try again." followed by the same prompt; the last
 * answer is followed by "Writing configuration..." and the reboot.
 */

export type V4Screen =
  /** `prompt`: the prompt's line without the ": " */
  | { kind: 'question'; prompt: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'rebooting' };

const INVALID = /^(.*)\. Please try again\.$/m;
const FAILED = [/^Configuration failed: .*$/m, /^Traceback \(most recent call last\):$/m, /^Aborted.*$/m];
const REBOOTING = /^Configuration complete\. The appliance will now reboot\.$/m;
/** Shown before the wizard writes anything: from here on its answers are being applied. */
export const V4_APPLYING = /^Writing configuration\.\.\.$/m;

/** Texts only the v4 wizard prints: its title, or one of its prompts ending the screen. */
export function looksLikeV4(screen: string): boolean {
  return (
    /^Pexip Reverse Proxy and TURN Server installation wizard$/m.test(screen) ||
    /(^|\n)(IP address|Subnet mask|Default Gateway): $/.test(screen)
  );
}

/** What the screen shows, or undefined while it is not finished (no prompt yet). */
export function readV4Screen(screen: string): V4Screen | undefined {
  const invalid = INVALID.exec(screen);
  if (invalid) return { kind: 'invalid', reason: (invalid[1] ?? '').trim() };
  for (const pattern of FAILED) {
    const match = pattern.exec(screen);
    if (match) return { kind: 'failed', reason: match[0].trim() };
  }
  if (REBOOTING.test(screen)) return { kind: 'rebooting' };
  const prompt = /(?:^|\n)([^\n]*\S): $/.exec(screen);
  return prompt ? { kind: 'question', prompt: (prompt[1] ?? '').trim() } : undefined;
}
