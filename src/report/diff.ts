/**
 * Colour for unified diffs (computed by src/engine/diff.ts), only when asked: a terminal without
 * NO_COLOR.
 */

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
