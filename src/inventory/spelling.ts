/**
 * "Did you mean": the closest spelling among the names a user could have meant (inventory keys,
 * appliance and group names for --limit).
 *
 *   closestName('rp-1x', ['rp-1', 'rp-2', 'dc1'])   // 'rp-1'
 */

/** Levenshtein distance: insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive), if it is close enough to be a typo: at most
 * one edit per four characters (at least one). Ties go to the first candidate.
 */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  const threshold = Math.max(1, Math.floor(word.length / 4));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(name.toLowerCase(), word.toLowerCase());
    if (distance <= threshold && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
