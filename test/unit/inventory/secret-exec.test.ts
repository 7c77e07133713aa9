import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { InputError } from '../../../src/errors.js';
import { collectSecretUses } from '../../../src/inventory/load.js';
import { splitArgv } from '../../../src/inventory/secret-exec.js';
import { Secrets, secret } from '../../../src/inventory/secrets.js';
import { inventoryFrom, tempDir, yaml } from '../support/helpers.js';

describe('exec: secret references', () => {
  it('splits the command like argv, without a shell', () => {
    expect(splitArgv('pass show pexip/sudo')).toEqual({ argv: ['pass', 'show', 'pexip/sudo'] });
    expect(splitArgv(` vault  kv get -field=password "secret/rp sudo" 'a $HOME' b\\ c`)).toEqual({
      argv: ['vault', 'kv', 'get', '-field=password', 'secret/rp sudo', 'a $HOME', 'b c'],
    });
    expect(splitArgv('echo $(id) ; rm -rf / | x')).toEqual({
      argv: ['echo', '$(id)', ';', 'rm', '-rf', '/', '|', 'x'],
    });
    expect(splitArgv('pass show "x')).toEqual({ problem: 'an unclosed " quote' });
    expect(splitArgv('   ')).toEqual({ problem: 'no command' });
    expect(secret.safeParse('exec:').error?.issues[0]?.message).toMatch(/exec: needs a command/);
  });

  it('accepts an argv list with a timeout, and names the inventory line of each reference', () => {
    const { inventory } = inventoryFrom(
      yaml`
        defaults:
          sudo: { password: 'exec:pass show pexip/sudo' }
        appliances:
          rp1: {}
          rp2:
            sudo:
              password: { exec: [./bin/get-secret, rp2], timeout: 3 }
      `,
      { cwd: '/srv/ops' },
    );
    const [rp1, rp2] = inventory.appliances;
    expect(rp1!.sudo.password).toEqual({
      kind: 'exec',
      argv: ['pass', 'show', 'pexip/sudo'],
      timeoutSeconds: 10,
      origin: 'defaults.sudo.password',
      at: 'inventory.yaml:2',
    });
    expect(rp2!.sudo.password).toMatchObject({
      argv: ['/srv/ops/bin/get-secret', 'rp2'],
      timeoutSeconds: 3,
      at: 'inventory.yaml:7',
    });
  });
});

/** A script printing `output` and counting its runs in a file next to it. */
function script(dir: string, body: string): string {
  const path = join(dir, `tool-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(path, `#!/bin/sh\necho run >> ${dir}/runs\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function resolveOne(text: string, env: NodeJS.ProcessEnv = {}) {
  const { inventory } = inventoryFrom(
    yaml`
      defaults:
        sudo: { password: '${text}' }
      appliances:
        rp1: {}
        rp2: {}
    `,
  );
  const secrets = new Secrets(bufferIo({ env: { PATH: process.env.PATH, ...env } }).io);
  const uses = collectSecretUses(inventory.appliances);
  try {
    await secrets.resolve(uses);
    return { value: secrets.get(uses[0]!.ref), values: secrets.resolvedValues() };
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return { error: (err as InputError).message };
  }
}

describe('resolving exec: secrets', () => {
  it('runs the command once per run, trims one trailing newline, passes the environment', async () => {
    const dir = tempDir();
    const tool = script(dir, 'printf "%s\\n\\n" "$VAULT_TOKEN-pw"');
    const resolved = await resolveOne(`exec:${tool} --field password`, { VAULT_TOKEN: 't0k' });
    expect(resolved.value).toBe('t0k-pw\n');
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('run\n'); // two appliances, one run
  });

  it('fails with exit 3 naming the reference and the line, never what the tool printed', async () => {
    const dir = tempDir();
    const failing = script(dir, 'echo "s3cret-in-stderr" >&2; echo partial-s3cret; exit 4');
    const failed = await resolveOne(`exec:${failing}`);
    expect(failed.error).toBe(
      `secret exec:${failing} (sudo.password of rp1, sudo.password of rp2) at inventory.yaml:2: the command exited with status 4`,
    );
    expect(failed.error).not.toMatch(/s3cret/);
    expect((await resolveOne(`exec:${script(dir, 'true')}`)).error).toMatch(/the command printed nothing$/);
    expect((await resolveOne('exec:/nonexistent/tool')).error).toMatch(
      /exec:\/nonexistent\/tool .*: the command was not found$/,
    );
  });

  it('kills a command that takes longer than its timeout', async () => {
    const started = Date.now();
    const { inventory } = inventoryFrom(yaml`
      defaults:
        sudo: { password: { exec: [sleep, '30'], timeout: 1 } }
      appliances:
        rp1: {}
    `);
    const secrets = new Secrets(bufferIo({ env: { PATH: process.env.PATH } }).io);
    await expect(secrets.resolve(collectSecretUses(inventory.appliances))).rejects.toThrow(
      /exec:sleep 30 \(sudo.password of rp1\) at inventory.yaml:2: the command did not finish within 1 s$/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
