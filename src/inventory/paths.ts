/** Local paths written in an inventory: `~` is the home directory, relative means "next to the inventory". */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** The absolute form of `path` as written in the inventory file that lives in `baseDir`. */
export function resolveInventoryPath(path: string, baseDir: string, home?: string): string {
  const expanded = expandHome(path, home);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}
