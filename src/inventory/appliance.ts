/** The loaded form of appliances and groups (model.ts) from their validated settings. */
import type { ApplianceConfig, GroupConfig, SourceLocation } from './model.js';
import { resolveInventoryPath } from './paths.js';
import type { CoreSettings, InventoryDocument } from './schema.js';

export interface PathContext {
  /** the inventory file's directory */
  baseDir: string;
  home: string;
}

export function toApplianceConfig(
  name: string,
  declared: { host?: string | undefined; groups?: string[] | undefined } | null | undefined,
  settings: CoreSettings,
  sections: Record<string, unknown>,
  source: SourceLocation,
  paths: PathContext,
): ApplianceConfig {
  const local = (path: string) => resolveInventoryPath(path, paths.baseDir, paths.home);
  const { agent, identityFile, knownHosts, ...ssh } = settings.ssh ?? {};
  return {
    name,
    groups: declared?.groups ?? [],
    ssh: {
      host: declared?.host ?? name,
      ...ssh,
      ...(identityFile === undefined ? {} : { identityFile: local(identityFile) }),
      ...(agent === undefined ? {} : { agent: typeof agent === 'string' ? local(agent) : agent }),
      ...(knownHosts === undefined ? {} : { knownHosts: [knownHosts].flat().map(local) }),
    },
    sudo: { ...settings.sudo },
    ...(settings.hostname === undefined ? {} : { hostname: settings.hostname }),
    ...(settings.domain === undefined ? {} : { domain: settings.domain }),
    ...(settings.backups?.keep === undefined ? {} : { backupsKept: settings.backups.keep }),
    sections,
    source,
  };
}

export function toGroupConfigs(
  document: InventoryDocument,
  sourceOf: (name: string) => SourceLocation,
): Map<string, GroupConfig> {
  const groups = new Map<string, GroupConfig>();
  for (const [name, group] of Object.entries(document.groups ?? {})) {
    groups.set(name, {
      name,
      ...(group?.description === undefined ? {} : { description: group.description }),
      ...(group?.serial === undefined ? {} : { serial: group.serial }),
      source: sourceOf(name),
    });
  }
  return groups;
}
