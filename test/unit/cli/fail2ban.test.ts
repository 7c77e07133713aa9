/** The fail2ban section as documented in inventories/example.yaml, and the one-off commands' flags. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { oneOffValues, parseTunableFlag } from '../../../recipes/fail2ban/commands.js';
import { PERMANENT_BAN } from '../../../recipes/fail2ban/schema.js';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { registry } from '../../registry.js';

describe('inventories/example.yaml', () => {
  it('documents every fail2ban field, and a NAT-flagged appliance that loads because it stays disabled', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const text = readFileSync(join(repo, 'inventories/example.yaml'), 'utf8');
    for (const field of [
      'enabled:',
      'bantime:',
      'findtime:',
      'maxretry:',
      'usersBehindNat:',
      '# force: true',
    ])
      expect(text, `documents fail2ban ${field}`).toContain(field);
    const { io } = bufferIo({ cwd: repo, env: { HOME: '/home/ops' } });
    const inventory = await loadInventory('inventories/example.yaml', { sections: registry.sections, io });
    const fail2ban = Object.fromEntries(inventory.appliances.map((a) => [a.name, a.sections.fail2ban]));
    expect(fail2ban.rp1).toEqual({ enabled: true, bantime: 600, findtime: 300, maxretry: 10 });
    expect(fail2ban.rp2).toEqual({
      enabled: false,
      bantime: 600,
      findtime: 300,
      maxretry: 10,
      usersBehindNat: true,
    });
  });
});

describe('rpctl fail2ban flags', () => {
  const flags = (values: Record<string, string>) => values;
  it('parses the tuning flags, and refuses bad ones naming the flag', () => {
    expect(oneOffValues('enable', flags({ maxretry: '4' }))).toEqual({ enabled: true, maxretry: 4 });
    expect(oneOffValues('tune', flags({ bantime: '600', findtime: '60' }))).toEqual({
      bantime: 600,
      findtime: 60,
    });
    expect(() => parseTunableFlag('maxretry', '0')).toThrow(
      '--maxretry: expected a whole number from 1 to 1000, got "0"',
    );
    expect(() => parseTunableFlag('bantime', '-1')).toThrow(`--bantime: ${PERMANENT_BAN}`);
    expect(() => parseTunableFlag('findtime', '5m')).toThrow(
      '--findtime: expected whole seconds from 1 to 604800, got "5m"',
    );
    expect(() => oneOffValues('tune', {})).toThrow('nothing to tune');
  });

  it('shows examples in --help of every one-off', async () => {
    for (const verb of ['status', 'enable', 'disable', 'tune']) {
      const buffers = bufferIo();
      const code = await run(['fail2ban', verb, '--help'], buffers.io, registry);
      expect(code).toBe(0);
      expect(buffers.stdout()).toMatch(new RegExp(`Examples:\\n  rpctl fail2ban ${verb} -i `));
    }
  });
});
