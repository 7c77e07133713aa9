/**
 * An appliance to install, with the 000 guide's example values (single NIC on a public address),
 * built the way the inventory loader leaves it (sections parsed, secrets as references).
 */

import type { ApplianceConfig } from '../../../src/inventory/model.js';
import { parseSecretRef } from '../../../src/inventory/secrets.js';
import { fail2banSection } from '../../fail2ban/schema.js';
import { turnSection } from '../../turn/schema.js';
import { upstreamsSection } from '../../upstreams/schema.js';
import { installSection } from '../schema.js';

export const ref = (text: string) => {
  const parsed = parseSecretRef(text);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.ref;
};

export const GUIDE_INSTALL = {
  network: { address: '198.51.100.130', netmask: '255.255.0.0', gateway: '198.51.100.129' },
  dns: ['10.44.0.9'],
  managementNetworks: ['10.0.50.0/24'],
};

export interface Sections {
  install?: unknown;
  upstreams?: unknown;
  turn?: unknown;
  fail2ban?: unknown;
}

export function applianceToInstall(
  sections: Sections = {},
  core: Partial<ApplianceConfig> = {},
): ApplianceConfig {
  const s = {
    install: GUIDE_INSTALL,
    upstreams: { nodes: ['10.40.0.10', '10.40.0.11'] },
    turn: { credentials: { username: 'pexip', password: 'file:/secrets/turn' } },
    ...sections,
  };
  const parsed: Record<string, unknown> = {};
  if (s.install !== undefined) parsed.install = installSection.parse(s.install);
  if (s.upstreams !== undefined) parsed.upstreams = upstreamsSection.parse(s.upstreams);
  if (s.turn !== undefined) parsed.turn = turnSection.parse(s.turn);
  if (s.fail2ban !== undefined) parsed.fail2ban = fail2banSection.parse(s.fail2ban);
  return {
    name: 'rp1',
    groups: [],
    ssh: { host: '198.51.100.130' },
    sudo: { password: ref('file:/secrets/pexip') },
    hostname: 'proxy',
    domain: 'example.com',
    sections: parsed,
    source: { file: 'inventory.yaml', line: 1, column: 1 },
    ...core,
  };
}

/** What the wizard prints for one question (after the echo of the previous answer). */
export function screen(
  question: string,
  options: {
    default?: string;
    step?: [number, number, string];
    listed?: [string, string[]];
    echo?: string;
  } = {},
): string {
  const parts: string[] = [options.echo ?? ''];
  if (options.step) {
    const [n, m, title] = options.step;
    const line = '='.repeat(58);
    parts.push(
      '',
      line,
      `|${`Step ${n} of ${m}`.padStart(33).padEnd(56)}|`,
      `|${title.padStart(28 + title.length / 2).padEnd(56)}|`,
      line,
    );
  }
  parts.push('');
  if (options.listed) {
    const [name, values] = options.listed;
    parts.push(`Default ${name} found:`, ...values.map((v) => `  - ${v}`));
  }
  parts.push(question);
  if (options.default !== undefined) parts.push(`Press [ENTER] to use the default value: ${options.default}`);
  return `${parts.join('\n')}\n> `;
}
