import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { tempDir, testSection, yaml } from '../support/helpers.js';

const FLEET = yaml`
  defaults:
    sudo: { password: env:RP_SUDO }
  groups:
    proxies: { serial: 1 }
  appliances:
    rp1: { host: 192.0.2.11, groups: [proxies], upstreams: { nodes: [10.0.0.1] } }
    rp2: { host: 192.0.2.12, groups: [proxies], upstreams: { nodes: [10.0.0.1] } }
    turn1: {}
`;

async function rpctl(args: string[], files: Record<string, string> = { 'fleet.yaml': FLEET }, env = {}) {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const { io, stdout, stderr } = bufferIo({ cwd: dir, env: { HOME: dir, ...env } });
  const code = await run(args, io, { recipes: [], sections: [testSection] });
  return { code, stdout: stdout(), stderr: stderr() };
}

describe('rpctl inventory validate', () => {
  it('prints a one-line summary and exits 0', async () => {
    const result = await rpctl(['inventory', 'validate', '-i', 'fleet.yaml']);
    expect(result).toEqual({
      code: 0,
      stdout: 'fleet.yaml: valid; 3 appliances, 1 group; sections: upstreams (2)\n',
      stderr: '',
    });
  });

  it('prints every problem and exits 3', async () => {
    const result = await rpctl(['inventory', 'validate', '-i', 'bad.yaml'], {
      'bad.yaml': 'appliances:\n  rp1: { host: "a;b", port: 22 }\n',
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'bad.yaml:2:16: appliances.rp1.host: "a;b" is not an IP address, host name or ~/.ssh/config alias\n' +
        '  2 |   rp1: { host: "a;b", port: 22 }\n' +
        '    |                ^\n' +
        'bad.yaml:2:23: appliances.rp1.port: unknown key here; did you mean ssh.port?\n' +
        '  2 |   rp1: { host: "a;b", port: 22 }\n' +
        '    |                       ^\n' +
        'rpctl: bad.yaml: 2 problems\n',
    );
  });

  it('takes the inventory from RPCTL_INVENTORY, and needs one', async () => {
    const fromEnv = await rpctl(['inventory', 'validate'], undefined, { RPCTL_INVENTORY: 'fleet.yaml' });
    expect(fromEnv.code).toBe(0);
    const missing = await rpctl(['inventory', 'validate']);
    expect(missing).toMatchObject({
      code: 3,
      stderr: 'rpctl: no inventory: pass -i FILE or set RPCTL_INVENTORY\n',
    });
  });

  it('checks env: and file: secrets with --check-secrets', async () => {
    const missing = await rpctl(['inventory', 'validate', '-i', 'fleet.yaml', '--check-secrets']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      'rpctl: secret env:RP_SUDO (sudo.password of rp1, sudo.password of rp2 and 1 more): environment variable RP_SUDO is not set\n',
    );
    const ok = await rpctl(['inventory', 'validate', '-i', 'fleet.yaml', '--check-secrets'], undefined, {
      RP_SUDO: 'hunter22',
    });
    expect(ok.stdout).toBe(
      'fleet.yaml: valid; 3 appliances, 1 group; sections: upstreams (2), 1 secret resolved\n',
    );
  });
});

describe('rpctl inventory list', () => {
  it('prints a table of the selected appliances', async () => {
    const result = await rpctl(['inventory', 'list', '-i', 'fleet.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'NAME   HOST        GROUPS   SECTIONS',
        'rp1    192.0.2.11  proxies  upstreams',
        'rp2    192.0.2.12  proxies  upstreams',
        'turn1  turn1       -        -',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON for the appliances --limit selects', async () => {
    const result = await rpctl([
      'inventory',
      'list',
      '-i',
      'fleet.yaml',
      '--limit',
      'proxies,!rp2',
      '--format',
      'json',
    ]);
    expect(JSON.parse(result.stdout)).toEqual({
      schemaVersion: 1,
      appliances: [{ name: 'rp1', host: '192.0.2.11', groups: ['proxies'], sections: ['upstreams'] }],
    });
  });

  it('refuses a limit that matches nothing and an unknown format with exit 3', async () => {
    const limit = await rpctl(['inventory', 'list', '-i', 'fleet.yaml', '--limit', 'rp9']);
    expect(limit).toMatchObject({
      code: 3,
      stderr: 'rpctl: --limit: "rp9" matches no appliance or group; did you mean "rp1"?\n',
    });
    const format = await rpctl(['inventory', 'list', '-i', 'fleet.yaml', '--format', 'xml']);
    expect(format.code).toBe(3);
  });
});

describe('rpctl inventory schema', () => {
  it('prints the JSON Schema with the registered sections', async () => {
    const result = await rpctl(['inventory', 'schema']);
    const schema = JSON.parse(result.stdout);
    expect(schema.properties.appliances.additionalProperties.anyOf[0].properties.upstreams.description).toBe(
      testSection.description,
    );
  });

  it.each([['inventory'], ['inventory', 'validate'], ['inventory', 'list'], ['inventory', 'schema']])(
    '%s --help shows examples',
    async (...command) => {
      const result = await rpctl([...command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Examples:');
    },
  );
});
