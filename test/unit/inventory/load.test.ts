import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { InventoryError } from '../../../src/inventory/problems.js';
import { inventoryFrom, problemsOf, tempDir, testSection, yaml } from '../support/helpers.js';

describe('merging settings', () => {
  const fleet = yaml`
    defaults:
      ssh: { user: pexip, port: 22, knownHosts: [a, b], connectTimeout: 10 }
      domain: example.com
      upstreams:
        nodes: [10.0.0.1, 10.0.0.2, 10.0.0.3]
        options: { keepalive: 1024, ipHash: true }
    groups:
      dc1:
        vars:
          ssh: { port: 2201, knownHosts: dc1_known_hosts }
          upstreams: { nodes: [10.1.0.1], options: { keepalive: 64 } }
      dc1-maintenance:
        vars:
          ssh: { port: 2202 }
    appliances:
      rp1:
        groups: [dc1, dc1-maintenance]
        ssh: { user: admin }
        upstreams: { options: { ipHash: false } }
      rp2:
        groups: [dc1-maintenance, dc1]
      rp3:
        host: 192.0.2.3
  `;

  it('applies appliance > groups (later wins) > defaults, mappings deep, lists replaced', () => {
    const { inventory } = inventoryFrom(fleet, { cwd: '/srv/fleet' });
    const [rp1, rp2, rp3] = inventory.appliances;
    expect(rp1!.ssh).toEqual({
      host: 'rp1',
      user: 'admin',
      port: 2202,
      connectTimeout: 10,
      knownHosts: ['/srv/fleet/dc1_known_hosts'],
    });
    expect(rp1!.sections.upstreams).toEqual({
      nodes: ['10.1.0.1'],
      options: { keepalive: 64, ipHash: false },
    });
    expect(rp2!.ssh.port).toBe(2201);
    expect(rp3!.ssh).toEqual({
      host: '192.0.2.3',
      user: 'pexip',
      port: 22,
      connectTimeout: 10,
      knownHosts: ['/srv/fleet/a', '/srv/fleet/b'],
    });
    expect(rp3!.sections.upstreams).toEqual({
      nodes: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      options: { keepalive: 1024, ipHash: true },
    });
    expect(rp3!.domain).toBe('example.com');
    expect(rp1!.groups).toEqual(['dc1', 'dc1-maintenance']);
  });

  it('keeps the inventory order and where each appliance and group is defined', () => {
    const { inventory } = inventoryFrom(fleet);
    expect(inventory.appliances.map((a) => a.name)).toEqual(['rp1', 'rp2', 'rp3']);
    expect(inventory.appliances[2]!.source).toEqual({ file: 'inventory.yaml', line: 22, column: 3 });
    expect(inventory.groups.get('dc1')?.source).toEqual({ file: 'inventory.yaml', line: 8, column: 3 });
    expect(inventory.file).toBe('/work/inv/inventory.yaml');
  });

  it('accepts appliances and groups written without settings', () => {
    const { inventory } = inventoryFrom(yaml`
      groups:
        proxies:
          serial: 50%
        turn:
      appliances:
        rp1:
        turn1: { groups: [turn] }
    `);
    expect(inventory.appliances.map((a) => [a.name, a.ssh.host, a.sections])).toEqual([
      ['rp1', 'rp1', {}],
      ['turn1', 'turn1', {}],
    ]);
    expect(inventory.groups.get('proxies')?.serial).toEqual({ percent: 50 });
  });

  it('resolves identityFile, knownHosts and agent paths against the inventory directory, ~ expanded', () => {
    const { inventory } = inventoryFrom(
      yaml`
        defaults:
          ssh: { identityFile: keys/id_ed25519, knownHosts: ~/.ssh/known_hosts, agent: /run/agent.sock, jump: ops@bastion:2222 }
        appliances:
          rp1: {}
      `,
      { cwd: '/srv/fleet' },
    );
    expect(inventory.appliances[0]!.ssh).toMatchObject({
      identityFile: '/srv/fleet/keys/id_ed25519',
      knownHosts: ['/home/ops/.ssh/known_hosts'],
      agent: '/run/agent.sock',
      jump: { host: 'bastion', port: 2222, user: 'ops' },
    });
  });
});

describe('inventory errors name FILE:LINE:COL and the path', () => {
  it('reports a wrong value at its exact position', () => {
    expect(
      problemsOf(yaml`
        appliances:
          rp1:
            host: "10.0.0.1; reboot"
            ssh:
              port: 70000
      `),
    ).toEqual([
      'inventory.yaml:3:11: appliances.rp1.host: "10.0.0.1; reboot" is not an IP address, host name or ~/.ssh/config alias',
      'inventory.yaml:5:13: appliances.rp1.ssh.port: must be a whole number from 1 to 65535',
    ]);
  });

  it('reports unknown keys at the key, with a suggestion', () => {
    expect(
      problemsOf(yaml`
        defaults:
          ssh:
            identityfile: keys/id
        appliances:
          rp1:
            colour: blue
      `),
    ).toEqual([
      'inventory.yaml:3:5: defaults.ssh.identityfile: unknown key; did you mean "identityFile"?',
      'inventory.yaml:6:5: appliances.rp1.colour: unknown key; allowed here: host, groups, ssh, sudo, hostname, domain, upstreams, turn',
    ]);
  });

  it('quotes odd keys in paths so terminal escapes are shown, not run', () => {
    expect(problemsOf('appliances:\n  rp1:\n    "\\e[31mred": 1\n')).toEqual([
      'inventory.yaml:3:5: appliances.rp1."\\u001b[31mred": unknown key; allowed here: host, groups, ssh, sudo, hostname, domain, upstreams, turn',
    ]);
  });

  it('suggests the nested key a misplaced one belongs to', () => {
    expect(problemsOf('appliances:\n  rp1:\n    user: pexip\n')).toEqual([
      'inventory.yaml:3:5: appliances.rp1.user: unknown key here; did you mean ssh.user?',
    ]);
  });

  it('reports nested section errors where the value is written, once for a shared group', () => {
    expect(
      problemsOf(yaml`
        groups:
          proxies:
            vars:
              upstreams:
                nodes:
                  - 10.0.0.1
                  - 10.0.0.999
                options: { keepalive: many }
        appliances:
          rp1: { groups: [proxies] }
          rp2: { groups: [proxies] }
      `),
    ).toEqual([
      'inventory.yaml:7:13: groups.proxies.vars.upstreams.nodes.1: "10.0.0.999" is not an IP address or a valid host name',
      'inventory.yaml:8:31: groups.proxies.vars.upstreams.options.keepalive: expected a number, got a text value',
    ]);
  });

  it('reports a required section field missing after merging at the appliance', () => {
    expect(
      problemsOf(yaml`
        appliances:
          rp1:
            upstreams: { port: 443 }
      `),
    ).toEqual(['inventory.yaml:2:3: appliances.rp1.upstreams.nodes: required']);
  });

  it('reports names, group references and clashes', () => {
    expect(
      problemsOf(yaml`
        groups:
          proxies: {}
          "bad group": {}
        appliances:
          rp1: { groups: [proxies, dc9, proxies] }
          proxies: {}
          -rp2: {}
      `),
    ).toEqual([
      'inventory.yaml:3:3: groups."bad group": not a valid group name (starts with a letter or digit, then letters, digits, ".", "_" or "-")',
      'inventory.yaml:5:28: appliances.rp1.groups.1: unknown group "dc9"; defined groups: proxies, bad group',
      'inventory.yaml:5:33: appliances.rp1.groups.2: group "proxies" is listed twice',
      'inventory.yaml:6:3: appliances.proxies: "proxies" is also a group name; appliance and group names must differ',
      'inventory.yaml:7:3: appliances.-rp2: not a valid appliance name (starts with a letter or digit, then letters, digits, ".", "_" or "-")',
    ]);
  });

  it('reports wrong types without echoing the value', () => {
    expect(
      problemsOf(yaml`
        version: 2
        defaults:
          sudo: { password: 12345678 }
          ssh: { agent: 3, knownHosts: [] }
        appliances: {}
      `),
    ).toEqual([
      'inventory.yaml:1:10: version: must be 1',
      'inventory.yaml:3:21: defaults.sudo.password: expected a text value or a mapping (key: value), got a number',
      'inventory.yaml:4:17: defaults.ssh.agent: expected true or false or a text value, got a number',
      'inventory.yaml:4:32: defaults.ssh.knownHosts: needs at least 1 item',
      'inventory.yaml:5:13: appliances: at least one appliance is required',
    ]);
  });

  it('reports a missing appliances mapping, an empty file and a non-mapping document', () => {
    expect(problemsOf('defaults: {}\n')).toEqual(['inventory.yaml:1:1: appliances: required']);
    expect(problemsOf('# nothing yet\n')).toEqual([
      'inventory.yaml:1:1: the inventory is empty: it needs appliances:',
    ]);
    expect(problemsOf('- rp1\n- rp2\n')).toEqual([
      'inventory.yaml:1:1: expected a mapping at the top level (defaults, groups, appliances)',
    ]);
  });

  it('reports YAML syntax errors at their position', () => {
    const [first, ...rest] = problemsOf(yaml`
      appliances:
        rp1:
          host: [10.0.0.1
        rp2: {}
    `);
    expect(first).toMatch(/^inventory\.yaml:4:3: YAML: /);
    expect(rest.every((line) => /^inventory\.yaml:\d+:\d+: YAML: /.test(line))).toBe(true);
    expect(problemsOf('appliances:\n  rp1: {}\n  rp1: {}\n')).toEqual([
      'inventory.yaml:3:3: YAML: Map keys must be unique',
    ]);
    expect(problemsOf('appliances:\n  rp1:\n\thost: x\n')[0]).toMatch(/^inventory\.yaml:3:1: YAML: /);
  });

  it('throws one InputError: the first problem and a count as the message, all of them as detail', () => {
    let error: unknown;
    try {
      inventoryFrom('version: 2\nappliances: { "-x": {} }\n');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InventoryError);
    const { message, detail } = error as InventoryError;
    expect(message).toBe(
      'inventory.yaml:1:10: version: must be 1 (and 1 more; see rpctl inventory validate)',
    );
    expect(detail?.split('\n')).toHaveLength(2);
  });
});

describe('loadInventory', () => {
  it('reads the file relative to the working directory', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'fleet.yaml'), 'appliances:\n  rp1: { upstreams: { nodes: [10.0.0.1] } }\n');
    const { io } = bufferIo({ cwd: dir });
    const inventory = await loadInventory('fleet.yaml', { sections: [testSection], io });
    expect(inventory.file).toBe(join(dir, 'fleet.yaml'));
    expect(inventory.appliances[0]?.source.file).toBe('fleet.yaml');
  });

  it('says when the file does not exist', async () => {
    const { io } = bufferIo({ cwd: tempDir() });
    await expect(loadInventory('missing.yaml', { sections: [], io })).rejects.toThrow(
      'inventory missing.yaml: the file does not exist',
    );
  });
});
