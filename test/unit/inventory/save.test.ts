import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InputError } from '../../../src/errors.js';
import { applyInventoryEdits, type InventoryEdit, updateInventoryFile } from '../../../src/inventory/save.js';
import { tempDir, yaml } from '../support/helpers.js';

const ORIGINAL = yaml`
  # Production fleet. Keep this comment.
  defaults:
    ssh: { user: pexip }   # flow, untouched

  groups:
    proxies:
      serial: 1   # one at a time
      vars:
        upstreams:
          nodes:   # the conferencing nodes
            - 10.0.0.1   # node 1
            - 10.0.0.2

  appliances:
    # the first proxy
    rp1:
      host: 192.0.2.1     # public address
      groups: [proxies]
      upstreams:
        nodes:
          - 10.0.1.1
        options:
          keepalive: 64
      hostname: rp1

    rp2:
      host: "192.0.2.2"
    rp3:
    rp4: {}
    rp5: {host: 192.0.2.5, groups: [proxies]}   # flow style
  # trailing comment
`;

const edit = (...edits: InventoryEdit[]) => applyInventoryEdits(ORIGINAL, edits);

/** ORIGINAL with one span of lines replaced: everything else must be byte for byte the same. */
function replacingLines(from: string, to: string): string {
  expect(ORIGINAL).toContain(from);
  return ORIGINAL.replace(from, to);
}

describe('applyInventoryEdits', () => {
  it('replaces a scalar in place, keeping its line comment', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp1', 'host'], value: '192.0.2.11' })).toBe(
      replacingLines('host: 192.0.2.1     # public address', 'host: 192.0.2.11     # public address'),
    );
  });

  it('replaces a block list at its indentation, keeping the comment on the key line', () => {
    const out = edit({
      op: 'set',
      path: ['groups', 'proxies', 'vars', 'upstreams', 'nodes'],
      value: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    });
    expect(out).toBe(
      replacingLines(
        '- 10.0.0.1   # node 1\n          - 10.0.0.2\n',
        '- 10.0.0.1\n          - 10.0.0.2\n          - 10.0.0.3\n',
      ),
    );
  });

  it('adds a key after the last one of its mapping', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp1', 'domain'], value: 'example.com' })).toBe(
      replacingLines('    hostname: rp1\n', '    hostname: rp1\n    domain: example.com\n'),
    );
  });

  it('adds nested mappings that do not exist yet', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp2', 'upstreams', 'nodes'], value: ['10.0.2.1'] })).toBe(
      replacingLines(
        '    host: "192.0.2.2"\n',
        '    host: "192.0.2.2"\n    upstreams:\n      nodes:\n        - 10.0.2.1\n',
      ),
    );
  });

  it('fills an appliance written without settings, or as {}', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp3', 'hostname'], value: 'rp3' })).toBe(
      replacingLines('  rp3:\n', '  rp3:\n    hostname: rp3\n'),
    );
    expect(edit({ op: 'set', path: ['appliances', 'rp4', 'upstreams', 'nodes'], value: ['10.0.4.1'] })).toBe(
      replacingLines('  rp4: {}\n', '  rp4:\n    upstreams:\n      nodes:\n        - 10.0.4.1\n'),
    );
  });

  it('rewrites a flow mapping as flow, keeping the comment after it', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp5', 'hostname'], value: 'rp5' })).toBe(
      replacingLines(
        'rp5: {host: 192.0.2.5, groups: [proxies]}   # flow style',
        'rp5: { host: 192.0.2.5, groups: [proxies], hostname: rp5 }   # flow style',
      ),
    );
  });

  it('edits a value inside a list by rewriting that list', () => {
    expect(edit({ op: 'set', path: ['appliances', 'rp1', 'upstreams', 'nodes', 0], value: '10.0.1.2' })).toBe(
      replacingLines('        - 10.0.1.1\n', '        - 10.0.1.2\n'),
    );
  });

  it('deletes a key with its line, and a mapping the deletion leaves empty', () => {
    expect(edit({ op: 'delete', path: ['appliances', 'rp1', 'hostname'] })).toBe(
      replacingLines('    hostname: rp1\n', ''),
    );
    expect(edit({ op: 'delete', path: ['appliances', 'rp1', 'upstreams', 'options', 'keepalive'] })).toBe(
      replacingLines('      options:\n        keepalive: 64\n', ''),
    );
    expect(edit({ op: 'delete', path: ['appliances', 'rp1', 'upstreams'] })).toBe(
      replacingLines(
        '    upstreams:\n      nodes:\n        - 10.0.1.1\n      options:\n        keepalive: 64\n',
        '',
      ),
    );
  });

  it('leaves the text alone when deleting something that is not there', () => {
    expect(edit({ op: 'delete', path: ['appliances', 'rp2', 'upstreams'] })).toBe(ORIGINAL);
  });

  it('writes strings that YAML would misread quoted, so they read back the same', () => {
    const values = ['yes', 'a: b', '#x', 'multi\nline', '', '0x10', '1.0', 'null', ' padded', "it's", 'é'];
    const out = edit({ op: 'set', path: ['appliances', 'rp1', 'notes'], value: values });
    expect(parse(out).appliances.rp1.notes).toEqual(values);
    const scalar = edit({ op: 'set', path: ['appliances', 'rp1', 'host'], value: 'a: b # c' });
    expect(parse(scalar).appliances.rp1.host).toBe('a: b # c');
  });

  it('replaces a block scalar', () => {
    const text = 'appliances:\n  rp1:\n    notes: |\n      two\n      lines\n    host: a\n';
    expect(
      applyInventoryEdits(text, [{ op: 'set', path: ['appliances', 'rp1', 'notes'], value: 'one' }]),
    ).toBe('appliances:\n  rp1:\n    notes: one\n    host: a\n');
  });

  it('applies several edits in order', () => {
    const out = edit(
      { op: 'set', path: ['appliances', 'rp1', 'host'], value: '192.0.2.11' },
      { op: 'set', path: ['appliances', 'rp2', 'hostname'], value: 'rp2' },
      { op: 'delete', path: ['appliances', 'rp1', 'groups'] },
    );
    expect(parse(out).appliances.rp1).toMatchObject({ host: '192.0.2.11', hostname: 'rp1' });
    expect(parse(out).appliances.rp1.groups).toBeUndefined();
    expect(parse(out).appliances.rp2).toEqual({ host: '192.0.2.2', hostname: 'rp2' });
  });

  it('keeps Windows line endings', () => {
    const crlf = 'appliances:\r\n  rp1:\r\n    host: a\r\n';
    expect(applyInventoryEdits(crlf, [{ op: 'set', path: ['appliances', 'rp1', 'port'], value: 2 }])).toBe(
      'appliances:\r\n  rp1:\r\n    host: a\r\n    port: 2\r\n',
    );
  });

  it('edits defaults and group vars in place (--save of a shared value)', () => {
    const text = edit(
      { op: 'set', path: ['defaults', 'ssh', 'user'], value: 'admin' },
      { op: 'set', path: ['defaults', 'fail2ban', 'maxretry'], value: 10 },
      {
        op: 'set',
        path: ['groups', 'proxies', 'vars', 'upstreams', 'nodes'],
        value: ['10.0.0.1', '10.0.0.3'],
      },
    );
    expect(text).toContain('  ssh: { user: admin }   # flow, untouched\n  fail2ban:\n    maxretry: 10\n');
    expect(text).toContain('nodes:   # the conferencing nodes\n          - 10.0.0.1\n          - 10.0.0.3\n');
    expect(text).toContain('# Production fleet. Keep this comment.');
  });

  it('only edits under defaults or an existing appliance or group', () => {
    expect(() => edit({ op: 'set', path: ['defaults'], value: {} })).toThrow(InputError);
    expect(() => edit({ op: 'set', path: ['allowInlineSecrets'], value: true })).toThrow(InputError);
    expect(() => edit({ op: 'set', path: ['appliances', 'rp1'], value: {} })).toThrow(InputError);
    expect(() => edit({ op: 'set', path: ['appliances', 'rp9', 'host'], value: 'x' })).toThrow(
      'cannot edit appliances.rp9.host: the inventory has no appliance rp9',
    );
  });
});

describe('updateInventoryFile', () => {
  it('replaces the file atomically, keeping its mode and writing through a symlink', async () => {
    const dir = tempDir();
    const file = join(dir, 'prod.yaml');
    writeFileSync(file, ORIGINAL, { mode: 0o640 });
    symlinkSync(file, join(dir, 'current.yaml'));
    await updateInventoryFile(join(dir, 'current.yaml'), [
      { op: 'set', path: ['appliances', 'rp1', 'host'], value: '192.0.2.11' },
    ]);
    expect(readFileSync(file, 'utf8')).toBe(
      replacingLines('host: 192.0.2.1     # public address', 'host: 192.0.2.11     # public address'),
    );
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(['current.yaml', 'prod.yaml']);
  });

  it('leaves the file untouched when an edit is refused', async () => {
    const dir = tempDir();
    const file = join(dir, 'prod.yaml');
    writeFileSync(file, ORIGINAL);
    await expect(
      updateInventoryFile(file, [{ op: 'set', path: ['appliances', 'nope', 'host'], value: 'x' }]),
    ).rejects.toThrow(InputError);
    expect(readFileSync(file, 'utf8')).toBe(ORIGINAL);
    expect(readdirSync(dir)).toEqual(['prod.yaml']);
  });
});
