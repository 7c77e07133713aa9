/**
 * Checks across the inventory that a schema cannot express: groups an appliance lists exist, are
 * listed once, and no appliance shares a name with a group (--limit could not tell them apart).
 */
import type { Problem } from './issues.js';
import { isPlainObject } from './merge.js';

export function checkReferences(raw: Record<string, unknown>): Problem[] {
  const groups = isPlainObject(raw.groups) ? raw.groups : {};
  const appliances = isPlainObject(raw.appliances) ? raw.appliances : {};
  const problems: Problem[] = [];
  for (const [name, appliance] of Object.entries(appliances)) {
    if (Object.hasOwn(groups, name)) {
      problems.push({
        path: ['appliances', name],
        message: `"${name}" is also a group name; appliance and group names must differ`,
        atKey: true,
      });
    }
    const memberOf = isPlainObject(appliance) ? appliance.groups : undefined;
    if (!Array.isArray(memberOf)) continue;
    const seen = new Set<unknown>();
    memberOf.forEach((group, i) => {
      if (typeof group !== 'string') return; // the schema reports the type
      if (seen.has(group)) {
        problems.push({
          path: ['appliances', name, 'groups', i],
          message: `group "${group}" is listed twice`,
        });
      } else if (!Object.hasOwn(groups, group)) {
        const known = Object.keys(groups);
        const shown = known.length > 10 ? `${known.slice(0, 10).join(', ')}, ...` : known.join(', ');
        const hint = known.length > 0 ? `; defined groups: ${shown}` : '; no groups are defined';
        problems.push({
          path: ['appliances', name, 'groups', i],
          message: `unknown group "${group}"${hint}`,
        });
      }
      seen.add(group);
    });
  }
  return problems;
}
