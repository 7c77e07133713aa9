/** The inventory files in the repository: the example, the schema editors use, and the lab's inventory. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bufferIo } from '../../../src/cli/io.js';
import type { InventorySection } from '../../../src/engine/contract.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { buildJsonSchema } from '../../../src/inventory/schema.js';
import { type LabState, labInventory } from '../../lab/lab.js';
import { sections } from '../../registry.js';
import { tempDir } from '../support/helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const inventories = join(repo, 'inventories');

describe('inventories/schema.json', () => {
  it('is what `npm run schema` generates from the core and the registered sections', () => {
    const committed = readFileSync(join(inventories, 'schema.json'), 'utf8');
    const generated = `${JSON.stringify(buildJsonSchema(sections), null, 2)}\n`;
    expect(committed, 'inventories/schema.json is stale: run npm run schema').toBe(generated);
  });

  it('describes every field', () => {
    const undescribed: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      for (const [key, child] of Object.entries((schema.properties as Record<string, unknown>) ?? {})) {
        if (!(child as { description?: string }).description) undescribed.push(`${path}.${key}`);
        visit(child, `${path}.${key}`);
      }
      for (const key of ['additionalProperties', 'items'] as const) visit(schema[key], `${path}.${key}`);
      for (const option of (schema.anyOf as unknown[]) ?? []) visit(option, path);
    };
    visit(buildJsonSchema(sections), '');
    expect(undescribed).toEqual([]);
  });
});

describe('inventories/example.yaml', () => {
  const text = readFileSync(join(inventories, 'example.yaml'), 'utf8');

  it('points editors at the schema', () => {
    expect(text.startsWith('# yaml-language-server: $schema=./schema.json\n')).toBe(true);
  });

  it('validates, with every core field set', async () => {
    const { io, stderr } = bufferIo({ cwd: repo, env: { HOME: '/home/ops' } });
    const inventory = await loadInventory('inventories/example.yaml', { sections, io });
    expect(stderr()).toBe('');
    expect(inventory.appliances.map((a) => [a.name, a.groups])).toEqual([
      ['rp1', ['proxies']],
      ['rp2', ['proxies']],
      ['turn1', ['turn']],
    ]);
    expect(inventory.groups.get('proxies')?.serial).toEqual({ count: 1 });
    const sshKeys = Object.keys(inventory.appliances[0]!.ssh).sort();
    expect(sshKeys).toEqual(
      [
        'agent',
        'connectTimeout',
        'host',
        'identityFile',
        'jump',
        'keepaliveInterval',
        'knownHosts',
        'passphrase',
        'port',
        'user',
      ].sort(),
    );
    for (const field of [
      'version:',
      'allowInlineSecrets:',
      '# password: file:',
      'description:',
      'vars:',
      'domain:',
    ]) {
      expect(text, `documents ${field}`).toContain(field);
    }
  });
});

describe('the lab inventory (test/lab/lab.ts labInventory)', () => {
  it('validates against the schema', async () => {
    const state: LabState = {
      prefix: '127.0.2',
      createdAt: new Date(0).toISOString(),
      appliances: [1, 2, 3].map((index) => ({
        name: `lab-${index}`,
        index,
        address: `127.0.2.${index}`,
        generation: index % 2 === 1 ? 'v4' : 'v7',
        state: index === 3 ? 'fresh' : 'installed',
        hostname: `lab-${index}`,
        domain: 'lab.example.com',
        nodes: ['127.0.3.10', '127.0.3.11'],
        turnUser: 'pexip',
      })),
    };
    const dir = tempDir();
    writeFileSync(join(dir, 'lab.yaml'), labInventory(state));
    // Until the upstreams recipe registers its section, a stand-in of the shape the lab writes.
    const standIns: InventorySection[] = ['upstreams']
      .filter((key) => !sections.some((section) => section.key === key))
      .map((key) => ({ key, description: key, schema: z.strictObject({ nodes: z.array(z.string()) }) }));
    const { io } = bufferIo({ cwd: dir });
    const inventory = await loadInventory('lab.yaml', { sections: [...sections, ...standIns], io });
    expect(inventory.appliances.map((a) => [a.name, a.ssh.host, a.groups])).toEqual([
      ['lab-1', '127.0.2.1', ['v4']],
      ['lab-2', '127.0.2.2', ['v7']],
      ['lab-3', '127.0.2.3', ['v4']],
    ]);
    expect(inventory.appliances[0]!.sudo.password).toEqual({
      kind: 'file',
      path: join(dir, '.lab/sudo-password'),
      at: 'lab.yaml:9:15',
    });
    // a lab at another prefix keeps its key and passwords in a directory of its own
    const other = labInventory(state, '.lab-127.0.9');
    expect(other).toContain('identityFile: .lab-127.0.9/id_ed25519');
    expect(other).toContain('password: file:.lab-127.0.9/sudo-password');
    expect(other).not.toContain(' .lab/');
  });
});
