/**
 * Local problems are exit 3 before any host is contacted: the appliance sits on a closed port of
 * TEST-NET, so contacting it would be exit 1, not 3.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { registry } from '../../registry.js';
import { tempDir, yaml } from '../support/helpers.js';

function setup(extra = '') {
  const dir = tempDir();
  writeFileSync(join(dir, 'sudo-password'), 'pw\n', { mode: 0o600 });
  const inventory = join(dir, 'inventory.yaml');
  writeFileSync(
    inventory,
    yaml`
      defaults:
        ssh: { port: 9, connectTimeout: 1${extra} }
        sudo: { password: file:sudo-password }
        upstreams: { nodes: [10.40.0.11] }
      appliances:
        rp1: { host: 192.0.2.1 }
    `,
  );
  return { dir, inventory };
}

async function rpctl(argv: string[], env: NodeJS.ProcessEnv) {
  const buffers = bufferIo({ env: { NO_COLOR: '1', HOME: '/nonexistent', ...env } });
  const code = await run(argv, buffers.io, registry);
  return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
}

describe('local problems before any contact', () => {
  it('--output that is a directory: exit 3, no temp file left', async () => {
    const { dir, inventory } = setup();
    const out = join(dir, 'reports');
    mkdirSync(out);
    const env = { RPCTL_STATE_DIR: join(dir, 'state') };
    for (const argv of [
      ['apply', '-i', inventory, '--yes', '--output', out],
      ['drift', '-i', inventory, '--output', out],
    ]) {
      const { code, stderr } = await rpctl(argv, env);
      expect(code).toBe(3);
      expect(stderr).toContain(`--output ${out} is a directory, not a file; nothing was contacted`);
    }
    expect(readdirSync(dir).sort()).toEqual(['inventory.yaml', 'reports', 'sudo-password']);
  });

  it('--output in a directory that does not exist: exit 3', async () => {
    const { dir, inventory } = setup();
    const { code, stderr } = await rpctl(
      ['plan', '-i', inventory, '--output', join(dir, 'no/report.txt')],
      {},
    );
    expect(code).toBe(3);
    expect(stderr).toContain('does not exist; nothing was contacted');
  });

  it('a state directory or run-record directory that cannot be written: exit 3', async () => {
    const { dir, inventory } = setup();
    writeFileSync(join(dir, 'state-file'), '');
    const drift = await rpctl(['drift', '-i', inventory], { RPCTL_STATE_DIR: join(dir, 'state-file') });
    expect(drift.code).toBe(3);
    expect(drift.stderr).toContain(`the state directory ${join(dir, 'state-file')}`);
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'state', 'runs'), '');
    const apply = await rpctl(['apply', '-i', inventory, '--yes'], { RPCTL_STATE_DIR: join(dir, 'state') });
    expect(apply.code).toBe(3);
    expect(apply.stderr).toContain(`the run-record directory ${join(dir, 'state', 'runs')}`);
  });

  it('a missing identityFile: exit 3 naming the key and the appliance', async () => {
    const { dir, inventory } = setup(', identityFile: keys/missing');
    const { code, stderr } = await rpctl(['plan', '-i', inventory], {});
    expect(code).toBe(3);
    expect(stderr).toContain(
      `identityFile ${join(dir, 'keys/missing')} of rp1 (${inventory}:6) does not exist; nothing was contacted`,
    );
  });
});
