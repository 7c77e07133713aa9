/**
 * Durations written by people: `90d`, `2w`, `12h`, `30m` (a number and one unit). Used by the
 * inventory's `history.keep` and `rpctl drift history --since`.
 */
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export const DURATION_RULE = 'a number and a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. 7d';

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : undefined;
}
