/**
 * Host pattern matching as OpenSSH does it (match.c), shared by known_hosts and ~/.ssh/config:
 * `*` matches any run of characters, `?` exactly one, a leading `!` negates, and host names compare
 * case-insensitively.
 *
 *   matchPatternList('rp1.dmz.example.com', ['*.example.com', '!rp9.*'])  -> 'match'
 *   matchPatternList('rp9.dmz.example.com', ['*.example.com', '!rp9.*'])  -> 'negated'
 */

const compiled = new Map<string, RegExp>();

/** `*` and `?` wildcards to an anchored regular expression; everything else is literal. */
export function globToRegExp(pattern: string, flags: 's' | 'si'): RegExp {
  const body = [...pattern]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, flags);
}

function toRegExp(pattern: string): RegExp {
  let regexp = compiled.get(pattern);
  if (regexp === undefined) {
    regexp = globToRegExp(pattern, 'si');
    compiled.set(pattern, regexp);
  }
  return regexp;
}

/** One glob pattern (no negation) against a whole string, case-insensitively. */
export function matchPattern(text: string, pattern: string): boolean {
  return toRegExp(pattern).test(text);
}

export type PatternListMatch = 'match' | 'negated' | 'none';

/**
 * A list of patterns: `negated` when any `!pattern` matches (that wins over everything, as in
 * OpenSSH), `match` when a positive pattern matches, otherwise `none`.
 */
export function matchPatternList(text: string, patterns: readonly string[]): PatternListMatch {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (pattern === '' || !matchPattern(text, pattern)) continue;
    if (negated) return 'negated';
    matched = true;
  }
  return matched ? 'match' : 'none';
}
