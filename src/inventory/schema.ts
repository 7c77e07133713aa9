/**
 * The inventory's schema: the core (connection settings, groups, appliances) plus one optional key
 * per inventory section that recipes register. inventories/example.yaml documents every field.
 *
 * Section values are validated after merging (an appliance's `upstreams` may come partly from a
 * group), so the document schema only places them; `sectionSchemas` checks the merged values.
 */
import { z } from 'zod';
import { DURATION_RULE, parseDuration } from './duration.js';
import { secret } from './secrets.js';
import type { InventorySection } from './types.js';
import {
  hostname,
  hostnameLabel,
  intRange,
  jumpHost,
  localPath,
  port,
  serial,
  sshHost,
  userName,
} from './types.js';

/** How long drift history is kept when the inventory does not say. */
export const DEFAULT_HISTORY_KEEP = '90d';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RULE = 'starts with a letter or digit, then letters, digits, ".", "_" or "-"';

const name = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN, `not a valid ${what} name (${NAME_RULE})`)
    .meta({ description: `${what} name: ${NAME_RULE}` });

const optional = <T extends z.ZodType>(type: T, description: string) => type.optional().meta({ description });

const sshSettings = z
  .strictObject({
    user: optional(userName, 'login user (the appliance has one: pexip); default: ~/.ssh/config, then pexip'),
    port: optional(port, 'SSH port; default: ~/.ssh/config, then 22'),
    identityFile: optional(localPath, 'private key file; relative to this inventory, ~ expanded'),
    passphrase: optional(secret, "the private key's passphrase (secret reference)"),
    password: optional(secret, 'login password for password/keyboard-interactive auth (secret reference)'),
    agent: optional(
      z.union([z.boolean(), localPath]),
      'use ssh-agent: true for $SSH_AUTH_SOCK, false to never use it, or the socket path',
    ),
    knownHosts: optional(
      z.union([localPath, z.array(localPath).min(1)]),
      "known_hosts file(s) holding the appliances' host keys (hashed entries work); default ~/.ssh/known_hosts",
    ),
    jump: optional(jumpHost, 'jump host (bastion) to connect through: [user@]host[:port]'),
    connectTimeout: optional(intRange(1, 600), 'seconds to wait for the SSH connection; default 20'),
    keepaliveInterval: optional(intRange(0, 3600), 'seconds between SSH keepalives, 0 disables; default 15'),
  })
  .meta({ description: 'how to reach the appliance over SSH' });

const sudoSettings = z
  .strictObject({
    password: optional(secret, "pexip's password, which sudo asks for; sent over stdin (secret reference)"),
  })
  .meta({ description: 'sudo on the appliance' });

/** Keys of the core settings; section keys must not reuse them (nor the appliance-only keys). */
export const CORE_SETTING_KEYS = ['ssh', 'sudo', 'hostname', 'domain'] as const;
const APPLIANCE_ONLY_KEYS = ['host', 'groups'] as const;

function coreSettingsShape() {
  return {
    ssh: optional(sshSettings, 'how to reach the appliance over SSH'),
    sudo: optional(sudoSettings, 'sudo on the appliance'),
    hostname: optional(hostnameLabel, "the appliance's host name, without the domain"),
    domain: optional(hostname, "the appliance's DNS domain (its FQDN is hostname.domain)"),
  };
}

function checkSectionKeys(sections: readonly InventorySection[]): void {
  const reserved = new Set<string>([...CORE_SETTING_KEYS, ...APPLIANCE_ONLY_KEYS]);
  for (const section of sections) {
    if (reserved.has(section.key)) throw new Error(`inventory section "${section.key}" reuses a core key`);
    reserved.add(section.key);
  }
}

/** How a section appears in the document: `placed` (checked after merging) or its own schema. */
type SectionMode = 'placed' | 'described';

function sectionFields(sections: readonly InventorySection[], mode: SectionMode) {
  return Object.fromEntries(
    sections.map((section) => {
      const schema = mode === 'placed' ? z.unknown() : partialForEditors(section.schema);
      return [section.key, optional(schema, section.description)];
    }),
  );
}

// Editors see one level of a file at a time; a field a group provides must not show as missing.
// zod cannot make a refined object partial; refinements (e.g. "no duplicate nodes") have no JSON
// Schema form anyway, so editors get the object rebuilt from its shape.
function partialForEditors(schema: z.ZodType): z.ZodType {
  if (!(schema instanceof z.ZodObject)) return schema;
  const rebuilt = z.strictObject(schema.shape).partial();
  const meta = schema.meta();
  return meta ? rebuilt.meta(meta) : rebuilt;
}

function inventorySchema(sections: readonly InventorySection[], mode: SectionMode) {
  checkSectionKeys(sections);
  const settingsShape = { ...coreSettingsShape(), ...sectionFields(sections, mode) };
  const settings = z.strictObject(settingsShape);
  const group = z.strictObject({
    description: optional(z.string(), 'what the group is, for people'),
    serial: optional(
      serial,
      "at most this many of the group's appliances are changed at once (N, or N% of them); e.g. 1 for the proxies behind one SRV record",
    ),
    vars: optional(settings, "settings for the group's appliances"),
  });
  const appliance = z.strictObject({
    host: optional(sshHost, 'address or ~/.ssh/config alias to connect to; default: the appliance name'),
    groups: optional(
      z.array(name('group')),
      "groups the appliance belongs to; their vars apply in this order (later wins), the appliance's own settings win over all",
    ),
    ...settingsShape,
  });
  return z
    .strictObject({
      version: optional(z.literal(1), 'inventory format version (1)'),
      fleet: optional(
        z.string().trim().min(1).max(200),
        "the fleet's name: drift history is kept per fleet and appliance; default: this file's absolute path",
      ),
      history: optional(
        z.strictObject({
          keep: optional(
            z.string().refine((text) => parseDuration(text) !== undefined, `expected ${DURATION_RULE}`),
            `how long drift history is kept (${DURATION_RULE}); default ${DEFAULT_HISTORY_KEEP}`,
          ),
        }),
        'the drift history of this fleet, in the state directory',
      ),
      allowInlineSecrets: optional(
        z.boolean(),
        'accept plaintext secrets written in this file (with a warning); default false',
      ),
      defaults: optional(settings, 'settings for every appliance (groups and appliances override them)'),
      groups: optional(
        z.record(name('group'), group.nullable().meta({ description: 'a group of appliances' })),
        'named sets of appliances: --limit selects them, serial bounds their rolling batches, vars set their settings',
      ),
      appliances: z
        .record(
          name('appliance'),
          appliance.nullable().meta({ description: 'an appliance and its settings' }),
        )
        .refine((all) => Object.keys(all).length > 0, 'at least one appliance is required')
        .meta({ description: 'the appliances, by name; the name is also the default SSH host' }),
    })
    .meta({ title: 'rpctl inventory', description: 'A fleet of Pexip Reverse Proxy / TURN appliances.' });
}

/** The document schema used when loading: core fields checked in place, section values only placed. */
export function buildInventorySchema(sections: readonly InventorySection[]) {
  return inventorySchema(sections, 'placed');
}

/** The merged core settings of one appliance (section values are placed, checked by their own schemas). */
export function buildSettingsSchema(sections: readonly InventorySection[]) {
  return z.strictObject({ ...coreSettingsShape(), ...sectionFields(sections, 'placed') });
}

export type InventoryDocument = z.output<ReturnType<typeof buildInventorySchema>>;
export type CoreSettings = z.output<ReturnType<typeof buildSettingsSchema>>;

/** JSON Schema of the inventory for editors (inventories/schema.json). */
export function buildJsonSchema(sections: readonly InventorySection[]): Record<string, unknown> {
  return z.toJSONSchema(inventorySchema(sections, 'described'), { io: 'input', unrepresentable: 'any' });
}
