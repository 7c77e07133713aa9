/**
 * Settings merge: defaults, then each group in the order the appliance lists them, then the
 * appliance itself; later layers win. Mappings merge key by key, lists and scalars are replaced.
 *
 * The merge remembers where every value came from, so a problem found in a merged value
 * (`upstreams.nodes.1`) is reported where it is written (`groups.proxies.vars.upstreams.nodes.1`).
 */
import type { Path } from './issues.js';

export interface Layer {
  /** where the layer's settings are in the document, e.g. ['groups', 'proxies', 'vars'] */
  docPath: Path;
  settings: Record<string, unknown>;
}

export interface Merged {
  value: Record<string, unknown>;
  /** the document path of a merged path (the deepest written prefix, plus the rest) */
  originOf(path: Path): Path;
  /** the document path of the layer that writes exactly `path` last (wins), or undefined */
  declaredAt(path: Path): Path | undefined;
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const keyOf = (path: Path): string => JSON.stringify(path);

/** Keys that name or reach a prototype: the loader refuses them, merging never writes them. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Where a raw document uses a prototype key, e.g. `[['appliances', 'rp1', '__proto__']]`. */
export function findPrototypeKeys(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => findPrototypeKeys(item, [...path, i]));
  if (!isPlainObject(value)) return [];
  return Object.keys(value).flatMap((key) =>
    PROTOTYPE_KEYS.has(key) ? [[...path, key]] : findPrototypeKeys(value[key], [...path, key]),
  );
}

export function mergeLayers(layers: readonly Layer[]): Merged {
  const value: Record<string, unknown> = {};
  const origins = new Map<string, Path>();

  const forget = (prefix: Path) => {
    const start = keyOf(prefix).slice(0, -1);
    for (const key of origins.keys()) if (key.startsWith(`${start},`)) origins.delete(key);
  };

  const mergeInto = (
    target: Record<string, unknown>,
    source: Record<string, unknown>,
    path: Path,
    docPath: Path,
  ) => {
    for (const [key, incoming] of Object.entries(source)) {
      if (PROTOTYPE_KEYS.has(key)) continue;
      const here = [...path, key];
      const docHere = [...docPath, key];
      origins.set(keyOf(here), docHere);
      const existing = Object.hasOwn(target, key) ? target[key] : undefined;
      if (isPlainObject(incoming) && isPlainObject(existing)) {
        mergeInto(existing, incoming, here, docHere);
      } else {
        forget(here);
        target[key] = structuredClone(incoming);
        // its keys keep their own origin: a later layer may merge into this mapping
        if (isPlainObject(incoming)) mergeInto({}, incoming, here, docHere);
      }
    }
  };

  for (const layer of layers) mergeInto(value, layer.settings, [], layer.docPath);

  return {
    value,
    originOf(path) {
      for (let length = path.length; length > 0; length--) {
        const origin = origins.get(keyOf(path.slice(0, length)));
        if (origin) return [...origin, ...path.slice(length)];
      }
      return layers.at(-1)?.docPath ?? [];
    },
    declaredAt(path) {
      const origin = origins.get(keyOf(path));
      return origin?.slice(0, origin.length - path.length);
    },
  };
}

/** The layers of one appliance in a raw inventory document, lowest precedence first. */
export function applianceLayers(document: Record<string, unknown>, name: string): Layer[] {
  const groups = isPlainObject(document.groups) ? document.groups : {};
  const appliances = isPlainObject(document.appliances) ? document.appliances : {};
  const appliance = appliances[name];
  // host and groups say where and what the appliance is; they are not settings to merge
  const { host: _host, groups: memberOf, ...own } = isPlainObject(appliance) ? appliance : {};
  const vars = (group: string) => {
    const config = groups[group];
    return isPlainObject(config) && isPlainObject(config.vars) ? config.vars : {};
  };
  const listed = Array.isArray(memberOf) ? memberOf : [];
  return [
    { docPath: ['defaults'], settings: isPlainObject(document.defaults) ? document.defaults : {} },
    ...listed
      .filter((group): group is string => typeof group === 'string' && Object.hasOwn(groups, group))
      .map((group) => ({ docPath: ['groups', group, 'vars'], settings: vars(group) })),
    { docPath: ['appliances', name], settings: own },
  ];
}
