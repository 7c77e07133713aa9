import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { InputError } from '../../../src/errors.js';
import { collectSecretUses } from '../../../src/inventory/load.js';
import { parseSecretRef, Secrets, secret } from '../../../src/inventory/secrets.js';
import { inventoryFrom, problemsOf, tempDir, yaml } from '../support/helpers.js';

const ref = (text: string) => {
  const parsed = parseSecretRef(text);
  if (!('ref' in parsed)) throw new Error(parsed.problem);
  return parsed.ref;
};

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

describe('secret references', () => {
  it('parses env:, file:, prompt and inline text', () => {
    expect(ref('env:RP_SUDO')).toEqual({ kind: 'env', name: 'RP_SUDO' });
    expect(ref('file:secrets/sudo')).toEqual({ kind: 'file', path: 'secrets/sudo' });
    expect(ref('prompt')).toEqual({ kind: 'prompt' });
    const inline = ref('hunter22');
    expect(inline).toEqual({ kind: 'inline' });
    expect(JSON.stringify(inline)).not.toContain('hunter22');
  });

  it('rejects malformed references with a one-line message', () => {
    expect(secret.safeParse('env:').error?.issues[0]?.message).toMatch(
      /env: needs an environment variable name/,
    );
    expect(secret.safeParse('env:A-B').success).toBe(false);
    expect(secret.safeParse('file:').success).toBe(false);
    expect(secret.safeParse('').success).toBe(false);
  });
});

describe('Secrets', () => {
  it('reads environment variables and files, stripping one trailing newline only', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sudo'), 'pa ss\n\n');
    writeFileSync(join(dir, 'crlf'), 'windows\r\n');
    const { io } = bufferIo({ env: { RP_TURN: 'turn-secret' } });
    const secrets = new Secrets(io);
    const env = ref('env:RP_TURN');
    const file = ref(`file:${join(dir, 'sudo')}`);
    const crlf = ref(`file:${join(dir, 'crlf')}`);
    await secrets.resolve([
      { ref: env, label: 'turn.password of rp1' },
      { ref: file, label: 'sudo.password of rp1' },
      { ref: crlf, label: 'sudo.password of rp2' },
    ]);
    expect(secrets.get(env)).toBe('turn-secret');
    expect(secrets.get(file)).toBe('pa ss\n');
    expect(secrets.get(crlf)).toBe('windows');
    expect(secrets.resolvedValues().sort()).toEqual(['pa ss\n', 'turn-secret', 'windows']);
  });

  it('names the reference and every place it is used when it cannot be read', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty'), '\n');
    const { io } = bufferIo({ env: {} });
    const err = await rejection(
      new Secrets(io).resolve([
        { ref: ref('env:RP_MISSING'), label: 'sudo.password of rp1' },
        { ref: ref('env:RP_MISSING'), label: 'sudo.password of rp2' },
        { ref: ref(`file:${join(dir, 'nope')}`), label: 'ssh.passphrase of rp1' },
        { ref: ref(`file:${join(dir, 'empty')}`), label: 'turn.password of turn1' },
      ]),
    );
    expect(err.message).toBe(
      'secret env:RP_MISSING (sudo.password of rp1, sudo.password of rp2): environment variable RP_MISSING is not set (and 2 more secret problems)',
    );
    expect(err.detail?.split('\n')).toEqual([
      'secret env:RP_MISSING (sudo.password of rp1, sudo.password of rp2): environment variable RP_MISSING is not set',
      `secret file:${join(dir, 'nope')} (ssh.passphrase of rp1): the file does not exist`,
      `secret file:${join(dir, 'empty')} (turn.password of turn1): the file is empty`,
    ]);
  });

  it('reports an unreadable file', async () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const dir = tempDir();
    writeFileSync(join(dir, 'locked'), 'x');
    chmodSync(join(dir, 'locked'), 0);
    const err = await rejection(
      new Secrets(bufferIo().io).resolve([{ ref: ref(`file:${join(dir, 'locked')}`), label: 'x' }]),
    );
    expect(err.message).toMatch(/permission denied/);
  });

  it('asks once per prompt origin on a terminal, hiding the answer', async () => {
    const asked: { question: string; secret: boolean | undefined }[] = [];
    const { io } = bufferIo({ tty: true });
    io.prompt = async (question, options) => {
      asked.push({ question, secret: options?.secret });
      return 'typed-secret';
    };
    const shared = { kind: 'prompt', origin: 'defaults.sudo.password' } as const;
    const secrets = new Secrets(io);
    await secrets.resolve([
      { ref: { ...shared }, label: 'sudo.password of rp1' },
      { ref: { ...shared }, label: 'sudo.password of rp2' },
    ]);
    expect(asked).toEqual([
      {
        question: 'Secret for sudo.password of rp1, sudo.password of rp2 (defaults.sudo.password): ',
        secret: true,
      },
    ]);
    expect(secrets.get({ ...shared })).toBe('typed-secret');
  });

  it('refuses prompt without a terminal, before asking anything', async () => {
    const { io } = bufferIo({ tty: false });
    const err = await rejection(
      new Secrets(io).resolve([{ ref: ref('prompt'), label: 'sudo.password of rp1' }]),
    );
    expect(err.message).toBe(
      'secret prompt (sudo.password of rp1): prompt needs a terminal; use env:NAME, file:PATH or exec:COMMAND when unattended',
    );
  });

  it('refuses an empty answer', async () => {
    const { io } = bufferIo({ tty: true, answers: [''] });
    const err = await rejection(
      new Secrets(io).resolve([{ ref: ref('prompt'), label: 'sudo.password of rp1' }]),
    );
    expect(err.message).toMatch(/nothing was entered/);
  });
});

describe('secrets in an inventory', () => {
  it('resolves file: paths against the inventory directory and expands ~', () => {
    const { inventory } = inventoryFrom(
      yaml`
        defaults:
          sudo: { password: file:secrets/sudo }
          ssh: { passphrase: file:~/.rpctl/key-pass, password: env:RP_LOGIN }
        appliances:
          rp1: {}
      `,
      { cwd: '/srv/ops' },
    );
    const rp1 = inventory.appliances[0]!;
    expect(rp1.sudo.password).toEqual({ kind: 'file', path: '/srv/ops/secrets/sudo' });
    expect(rp1.ssh.passphrase).toEqual({ kind: 'file', path: '/home/ops/.rpctl/key-pass' });
    expect(collectSecretUses(inventory.appliances).map((use) => use.label)).toEqual([
      'ssh.passphrase of rp1',
      'ssh.password of rp1',
      'sudo.password of rp1',
    ]);
  });

  it('collects secrets of recipe sections too, and records where a prompt is written', () => {
    const { inventory } = inventoryFrom(yaml`
      groups:
        turn:
          vars:
            turn: { username: pexip, password: prompt }
      appliances:
        turn1: { groups: [turn] }
    `);
    const [use] = collectSecretUses(inventory.appliances);
    expect(use).toEqual({
      ref: { kind: 'prompt', origin: 'groups.turn.vars.turn.password' },
      label: 'turn.password of turn1',
    });
  });

  it('refuses inline plaintext secrets, naming file:line:col', () => {
    expect(
      problemsOf(yaml`
        appliances:
          rp1:
            sudo:
              password: hunter22
            turn: { username: pexip, password: "s3cr3t!" }
      `),
    ).toEqual([
      'inventory.yaml:4:17: appliances.rp1.sudo.password: inline plaintext secrets are refused: write env:NAME, file:PATH or prompt (or set allowInlineSecrets: true)',
      'inventory.yaml:5:40: appliances.rp1.turn.password: inline plaintext secrets are refused: write env:NAME, file:PATH or prompt (or set allowInlineSecrets: true)',
    ]);
  });

  it('accepts inline secrets with allowInlineSecrets: true, warning once per place, and resolves them', async () => {
    const { inventory, stderr } = inventoryFrom(yaml`
      allowInlineSecrets: true
      defaults:
        sudo: { password: hunter22 }
      appliances:
        rp1: {}
        rp2: {}
    `);
    expect(stderr()).toBe(
      'rpctl: warning: inventory.yaml:3:21: defaults.sudo.password: inline plaintext secret (allowed by allowInlineSecrets: true; prefer env:, file: or prompt)\n',
    );
    expect(JSON.stringify(inventory.appliances)).not.toContain('hunter22');
    const secrets = new Secrets(bufferIo().io);
    await secrets.resolve(collectSecretUses(inventory.appliances));
    expect(secrets.get(inventory.appliances[1]!.sudo.password!)).toBe('hunter22');
  });
});
