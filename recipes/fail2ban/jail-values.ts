/**
 * A jail's effective bantime, findtime and maxretry, computed from fail2ban's jail files the way
 * fail2ban reads them, so a drift check needs no Python on the appliance (`fail2ban-client -d`
 * costs a Python start per host). Pure.
 *
 *   effectiveJailValues([{ path: '/etc/fail2ban/jail.conf', text }, { path: '/etc/fail2ban/jail.local', text }])
 *     -> { bantime: '300', findtime: '300', maxretry: '10' }   (as `fail2ban-client -d` prints them)
 *
 * What fail2ban does, and this follows:
 * - files in order: jail.conf, jail.d/*.conf, jail.local, jail.d/*.local (each group sorted by name),
 *   each preceded by its `[INCLUDES] before =` and followed by its `after =` files when given;
 * - later files override earlier ones per section and option; a jail's own option beats [DEFAULT]
 *   whatever file each comes from; option names are case-insensitive;
 * - `%(name)s` is the option in the same section, else in [DEFAULT]; `%(known/name)s` the jail's value
 *   before the file that redefines it, else [DEFAULT]'s; `%(section/name)s` another section's;
 *   `%%` is `%`; a reference to nothing fails fail2ban's load, and fails here;
 * - comment lines start with `#` or `;`, an inline comment with ` ;`; indented lines continue a value;
 * - maxretry is printed as an integer, bantime and findtime as written (`10m` stays `10m`).
 */

import { TUNABLES, type Tunable } from './schema.js';

export interface JailFile {
  /** absolute path under the configuration directory, e.g. /etc/fail2ban/jail.d/defaults-debian.conf */
  path: string;
  text: string;
}

/** A jail file set fail2ban itself would refuse to load, named by what and where. */
export class JailConfigError extends Error {
  override name = 'JailConfigError';
}

type Section = Map<string, string>;

interface Parsed {
  sections: Map<string, Section>;
  before: string[];
  after: string[];
}

const CONFIG_DIR = '/etc/fail2ban';
const MAX_DEPTH = 10; // Python's ConfigParser gives up at this depth of interpolation

/** The order fail2ban reads a jail file set in (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local). */
export function jailReadOrder(paths: readonly string[], dir = CONFIG_DIR): string[] {
  const inJailD = (ext: string) =>
    paths
      .filter(
        (p) => p.startsWith(`${dir}/jail.d/`) && p.endsWith(ext) && !p.slice(dir.length + 8).includes('/'),
      )
      .sort();
  return [
    ...paths.filter((p) => p === `${dir}/jail.conf`),
    ...inJailD('.conf'),
    ...paths.filter((p) => p === `${dir}/jail.local`),
    ...inJailD('.local'),
  ];
}

function parseFile(file: JailFile): Parsed {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let last: string | undefined;
  file.text.split('\n').forEach((raw, i) => {
    const where = `${file.path}:${i + 1}`;
    const line = raw.replace(/\r$/, '');
    const stripped = line.trim();
    if (stripped === '' || stripped.startsWith('#') || stripped.startsWith(';')) return;
    if (/^\s/.test(line) && current && last !== undefined) {
      current.set(last, `${current.get(last)}\n${withoutInlineComment(stripped)}`);
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(stripped);
    if (header) {
      const name = header[1]!;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      last = undefined;
      return;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(stripped);
    if (!option) throw new JailConfigError(`${where}: neither a section, an option nor a comment`);
    if (!current) throw new JailConfigError(`${where}: an option before any [section]`);
    last = option[1]!.toLowerCase();
    current.set(last, withoutInlineComment(option[2]!));
  });
  const includes = sections.get('INCLUDES');
  const list = (key: string) => (includes?.get(key) ?? '').split(/\s+/).filter(Boolean);
  return { sections, before: list('before'), after: list('after') };
}

const withoutInlineComment = (value: string) => value.replace(/\s;.*$/, '').trim();

/** The files in reading order with their includes around them (included files read when given). */
function withIncludes(files: readonly JailFile[], dir: string): JailFile[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: JailFile[] = [];
  const visit = (file: JailFile, depth: number) => {
    if (depth > MAX_DEPTH) throw new JailConfigError(`${file.path}: includes nested too deep`);
    const { before, after } = parseFile(file);
    const included = (names: string[]) =>
      names.map((n) => byPath.get(n.startsWith('/') ? n : `${dir}/${n}`)).filter((f): f is JailFile => !!f);
    for (const f of included(before)) visit(f, depth + 1);
    out.push(file);
    for (const f of included(after)) visit(f, depth + 1);
  };
  for (const path of jailReadOrder([...byPath.keys()], dir)) visit(byPath.get(path)!, 0);
  return out;
}

/** Sections merged across files, with each section's values from before a redefinition (`known/`). */
function merge(files: readonly JailFile[]): { sections: Map<string, Section>; known: Map<string, Section> } {
  const sections = new Map<string, Section>();
  const known = new Map<string, Section>();
  for (const file of files) {
    for (const [name, options] of parseFile(file).sections) {
      if (name === 'INCLUDES') continue;
      const merged = sections.get(name);
      if (!merged) {
        sections.set(name, new Map(options));
        continue;
      }
      const previous = known.get(name) ?? new Map<string, string>();
      for (const [key, value] of options) {
        if (name !== 'DEFAULT' && merged.has(key)) previous.set(key, merged.get(key)!);
        merged.set(key, value);
      }
      known.set(name, previous);
    }
  }
  return { sections, known };
}

/** Resolves `%(...)s` in a value read in section `name` (the jail, or a section a reference named). */
function interpolator(sections: Map<string, Section>, known: Map<string, Section>) {
  const defaults = sections.get('DEFAULT') ?? new Map<string, string>();
  const resolve = (name: string, value: string, what: string, depth: number): string => {
    if (depth > MAX_DEPTH) throw new JailConfigError(`${what}: interpolation nested too deep`);
    return value.replace(/%(%|\(([^)]+)\)s)/g, (_all, _inner, ref: string | undefined) => {
      if (ref === undefined) return '%';
      const slash = ref.indexOf('/');
      const key = ref.slice(slash + 1).toLowerCase();
      const scope = slash === -1 ? name : ref.slice(0, slash);
      const from = scope.toLowerCase() === 'known' || scope.toLowerCase() === 'default' ? name : scope;
      const own =
        scope.toLowerCase() === 'known'
          ? known.get(name)
          : scope.toLowerCase() === 'default'
            ? undefined
            : sections.get(scope);
      const found = own?.get(key) ?? defaults.get(key);
      if (found === undefined) throw new JailConfigError(`${what}: %(${ref})s names no option`);
      return resolve(from, found, what, depth + 1);
    });
  };
  return resolve;
}

/** The jail's bantime, findtime and maxretry as fail2ban would load them; absent when nothing sets one. */
export function effectiveJailValues(
  files: readonly JailFile[],
  jail: string,
  dir = CONFIG_DIR,
): Partial<Record<Tunable, string>> {
  const { sections, known } = merge(withIncludes(files, dir));
  const section = sections.get(jail);
  const resolve = interpolator(sections, known);
  const values: Partial<Record<Tunable, string>> = {};
  for (const key of TUNABLES) {
    const value = section?.get(key) ?? sections.get('DEFAULT')?.get(key);
    if (value === undefined) continue;
    const resolved = resolve(jail, value, `[${jail}] ${key}`, 0).trim();
    values[key] = key === 'maxretry' && /^[+-]?\d+$/.test(resolved) ? String(Number(resolved)) : resolved;
  }
  return values;
}
