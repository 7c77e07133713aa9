/**
 * Where each appliance's value of a settings path is declared: in `defaults`, in a group's `vars`,
 * on the appliance itself, or nowhere. `--save` writes a one-off's value at that level, so a value
 * shared through defaults or a group stays shared.
 *
 *   declaredLevels(raw, ['upstreams', 'nodes']).get('rp1')  // { kind: 'group', name: 'proxies', ... }
 */
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../errors.js';
import type { Path } from './issues.js';
import { applianceLayers, isPlainObject, mergeLayers } from './merge.js';
import { formatPath } from './problems.js';

export type Level =
  | { kind: 'defaults'; docPath: Path }
  | { kind: 'group'; name: string; docPath: Path }
  | { kind: 'appliance'; name: string; docPath: Path };

/** `defaults`, `group proxies`, `appliance rp1`: how messages name a level. */
export const describeLevel = (level: Level): string =>
  level.kind === 'defaults' ? 'defaults' : `${level.kind} ${level.name}`;

function levelOf(docPath: Path): Level {
  const [root, name] = docPath;
  if (root === 'groups') return { kind: 'group', name: String(name), docPath };
  if (root === 'appliances') return { kind: 'appliance', name: String(name), docPath };
  return { kind: 'defaults', docPath };
}

/**
 * For every appliance of a raw (parsed, unvalidated) inventory document: the level whose value of
 * `path` wins the merge, or undefined when no level declares it.
 */
export function declaredLevels(
  document: Record<string, unknown>,
  path: Path,
): Map<string, Level | undefined> {
  const appliances = isPlainObject(document.appliances) ? Object.keys(document.appliances) : [];
  return new Map(
    appliances.map((name) => {
      const origin = mergeLayers(applianceLayers(document, name)).declaredAt(path);
      return [name, origin === undefined ? undefined : levelOf(origin)];
    }),
  );
}

/** One --save edit: the value at the level that declares it, and the appliances it gives it to. */
export interface LevelEdit {
  level: Level | undefined;
  /** the settings path, e.g. ['upstreams', 'nodes'] */
  path: Path;
  value: unknown;
  /** the document path written: ['groups', 'proxies', 'vars', 'upstreams', 'nodes'] */
  docPath: Path;
  /** every appliance whose value this is: all must reach the new state before it is written */
  appliances: string[];
}

/**
 * Where `--save` writes each appliance's new values: at the level that declares the value (an
 * undeclared one on the appliance). A level that also gives the value to an appliance outside
 * the selection, or that would get different values, is refused: saving there would change
 * appliances the command did not, and saving on the appliance would silently stop the shared
 * value from reaching it.
 */
export function planLevelEdits(
  document: Record<string, unknown>,
  values: ReadonlyMap<string, readonly { path: Path; value: unknown }[]>,
): LevelEdit[] {
  const edits = new Map<string, LevelEdit>();
  const levelsByPath = new Map<string, Map<string, Level | undefined>>();
  for (const [appliance, saved] of values) {
    for (const { path, value } of saved) {
      const key = JSON.stringify(path);
      if (!levelsByPath.has(key)) levelsByPath.set(key, declaredLevels(document, path));
      const levels = levelsByPath.get(key)!;
      const level = levels.get(appliance);
      const shared = level !== undefined && level.kind !== 'appliance';
      const docPath = shared ? [...level.docPath, ...path] : ['appliances', appliance, ...path];
      const id = JSON.stringify(docPath);
      const edit = edits.get(id);
      if (!edit) {
        const reached = shared
          ? [...levels].filter(([, l]) => l && JSON.stringify(l.docPath) === JSON.stringify(level.docPath))
          : [];
        const outside = reached.map(([name]) => name).filter((name) => !values.has(name));
        if (shared && outside.length > 0) throw sharedRefusal(path, level, outside);
        edits.set(id, { level, path, value, docPath, appliances: [appliance] });
      } else if (isDeepStrictEqual(edit.value, value)) {
        edit.appliances.push(appliance);
      } else {
        throw new InputError(
          `--save: ${formatPath(path)} is declared once in ${describeLevel(level!)} for ${edit.appliances[0]} and ${appliance}, but their new values differ; run without --save and edit the inventory`,
        );
      }
    }
  }
  return [...edits.values()];
}

function sharedRefusal(path: Path, level: Level, outside: readonly string[]): InputError {
  const shown = outside.length > 5 ? `${outside.slice(0, 5).join(', ')}, ...` : outside.join(', ');
  return new InputError(
    `--save: ${formatPath(path)} is declared in ${describeLevel(level)}, which also gives it to ${shown} (not in --limit); ` +
      `widen --limit to every appliance it reaches, or run without --save and edit ${formatPath(level.docPath)} yourself (nothing was contacted)`,
  );
}
