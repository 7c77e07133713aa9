/**
 * Unified diffs for plan and drift output, coloured only when asked (a terminal without NO_COLOR).
 *
 *   unifiedDiff('/etc/x', 'a\n', 'b\n')  ->  "--- /etc/x\n+++ /etc/x (planned)\n@@ -1 +1 @@\n-a\n+b\n"
 */
import { createPatch } from 'diff';

export function unifiedDiff(path: string, before: string | undefined, after: string): string {
  const patch = createPatch(
    path,
    before ?? '',
    after,
    before === undefined ? '(new file)' : '',
    '(planned)',
    {
      context: 3,
    },
  );
  // createPatch starts with "Index:" and "===" lines; keep the familiar ---/+++ header only.
  return patch
    .split('\n')
    .filter((line, i) => !(i < 2 && (line.startsWith('Index:') || line.startsWith('==='))))
    .map((line) => (line.startsWith('---') || line.startsWith('+++') ? line.trimEnd() : line))
    .join('\n')
    .replace(/\n*$/, '\n');
}

const RED = '\u001b[31m';
const GREEN = '\u001b[32m';
const CYAN = '\u001b[36m';
const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';

export function colourDiff(diff: string): string {
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++')) return `${BOLD}${line}${RESET}`;
      if (line.startsWith('@@')) return `${CYAN}${line}${RESET}`;
      if (line.startsWith('+')) return `${GREEN}${line}${RESET}`;
      if (line.startsWith('-')) return `${RED}${line}${RESET}`;
      return line;
    })
    .join('\n');
}

/** Colour only for a terminal, and never with NO_COLOR set or --no-color. */
export function useColour(isTTY: boolean, env: NodeJS.ProcessEnv, noColorFlag = false): boolean {
  return isTTY && !noColorFlag && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}
