/**
 * `--limit`: which appliances a command acts on.
 *
 *   rp1,rp2          these appliances          proxies       the members of group proxies
 *   rp-*  lab-[12]   globs over appliance and group names (`*`, `?`, `[abc]`, `[a-c]`, `[!abc]`)
 *   dc1,!rp-test*    dc1's members except those matching rp-test*
 *
 * Positive patterns are united (none means every appliance), then exclusions are removed; the
 * inventory's order is kept. A positive pattern that selects nothing, or an empty result, is an
 * error: a typo must not silently act on nothing (or, with exclusions, on everything else); a name
 * close to an appliance's or group's gets "did you mean". An empty --limit is refused: leave the
 * option out to act on every appliance.
 */
import { InputError } from '../errors.js';
import type { ApplianceConfig, Inventory } from './model.js';
import { closestName } from './spelling.js';

const PATTERN_CHARS = /^[A-Za-z0-9._*?[\]!-]+$/;

/** A glob as a RegExp; undefined when the pattern is malformed (an unclosed `[`). */
function globToRegExp(glob: string): RegExp | undefined {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) return undefined;
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      // body holds only name characters and '-', all literal in a class except the range dash
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (char === ']' || char === '!') return undefined;
    else source += char.replace(/[.]/g, '\\.');
  }
  try {
    return new RegExp(`^${source}$`);
  } catch {
    return undefined; // e.g. a reversed range [z-a]
  }
}

interface Pattern {
  text: string;
  exclude: boolean;
  matches: (name: string) => boolean;
}

function parsePattern(item: string): Pattern {
  const exclude = item.startsWith('!');
  const text = exclude ? item.slice(1) : item;
  if (text === '' || !PATTERN_CHARS.test(text)) {
    throw new InputError(
      `--limit: ${JSON.stringify(item)} is not a valid pattern (names, groups and globs use letters, digits, . _ - * ? [ ])`,
    );
  }
  if (!/[*?[]/.test(text)) {
    if (/[!\]]/.test(text)) throw new InputError(`--limit: ${JSON.stringify(item)} is not a valid glob`);
    return { text, exclude, matches: (name) => name === text };
  }
  const regexp = globToRegExp(text);
  if (!regexp) throw new InputError(`--limit: ${JSON.stringify(item)} is not a valid glob`);
  return { text, exclude, matches: (name) => regexp.test(name) };
}

/** The appliances a pattern names: by their own name or through a group's name. */
function matching(inventory: Inventory, pattern: Pattern): Set<ApplianceConfig> {
  const groups = new Set([...inventory.groups.keys()].filter(pattern.matches));
  return new Set(
    inventory.appliances.filter(
      (appliance) => pattern.matches(appliance.name) || appliance.groups.some((group) => groups.has(group)),
    ),
  );
}

/** "did you mean" for a name that matches nothing: the closest appliance or group name. */
function suggestion(inventory: Inventory, pattern: Pattern): string {
  if (/[*?[]/.test(pattern.text)) return '';
  const names = [...inventory.appliances.map((a) => a.name), ...inventory.groups.keys()];
  const close = closestName(pattern.text, names);
  return close ? `; did you mean ${JSON.stringify(close)}?` : '';
}

export function selectAppliances(inventory: Inventory, limit?: string): ApplianceConfig[] {
  const items = (limit ?? '')
    .split(',')
    .map((item) => item.replace(/^ +| +$/g, '')) // spaces after commas are fine; other whitespace is refused
    .filter((item) => item !== '');
  if (limit !== undefined && items.length === 0) {
    throw new InputError(
      `--limit: ${JSON.stringify(limit)} names no appliance or group; leave --limit out to act on every appliance`,
    );
  }
  const patterns = items.map(parsePattern);
  const positives = patterns.filter((pattern) => !pattern.exclude);
  const selected = new Set<ApplianceConfig>(positives.length === 0 ? inventory.appliances : []);
  for (const pattern of positives) {
    const found = matching(inventory, pattern);
    if (found.size === 0) {
      const why = inventory.groups.has(pattern.text)
        ? ` (group ${pattern.text} has no appliances)`
        : suggestion(inventory, pattern);
      throw new InputError(`--limit: ${JSON.stringify(pattern.text)} matches no appliance or group${why}`);
    }
    for (const appliance of found) selected.add(appliance);
  }
  for (const pattern of patterns.filter((p) => p.exclude)) {
    for (const appliance of matching(inventory, pattern)) selected.delete(appliance);
  }
  const result = inventory.appliances.filter((appliance) => selected.has(appliance));
  if (result.length === 0)
    throw new InputError(`--limit: ${JSON.stringify(limit)} leaves no appliance selected`);
  return result;
}
