/**
 * Certificate replacement against the lab's real nginx (issue 6), through the CLI in-process and
 * once as a real process. Certificates come from a throwaway PKI made here with openssl; SSH goes
 * through counting relays (certificate-harness.ts).
 *
 *   lab-1 (v4), lab-2 (v7)  valid replacement, --save, idempotence, status, rollback
 *   lab-3 (v4)              bad inputs (nothing contacted), then an RSA-1024 key nginx refuses
 *   lab-4 (v7)              the good host next to lab-3, then a TLS verification that fails
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyBodyLines } from '../certificates.js';
import {
  CertificateLab,
  fileOn,
  fqdn,
  hex,
  NAMES,
  nginxPids,
  PEM,
  snapshot,
  uploadDirs,
} from './certificate-harness.js';
import { labExec, labSh, spec } from './lab.js';

const lab = new CertificateLab();
const { cfg, pki, inventory, stateDir, printed } = lab;
const rpctl = lab.rpctl.bind(lab);
/** rpctl with its arguments written as one command line (no value here holds a space) */
const cli = (line: string) => rpctl(...line.split(' '));
const served = lab.served.bind(lab);
const leafServed = lab.leafServed.bind(lab);
const connections = lab.connections.bind(lab);
const timings: Record<string, number> = {};

const both = pki.leaf('lab-1-2', { names: [fqdn('lab-1'), fqdn('lab-2')] });
const bothPem = pki.file('lab-1-2.pem', both.certPem, both.keyPem, pki.intermediate.certPem);
const original: Record<string, { pem: string; fingerprint: string }> = {};

beforeAll(async () => {
  await lab.start();
  for (const name of NAMES) {
    const pem = fileOn(name, PEM);
    original[name] = { pem, fingerprint: hex(new X509Certificate(pem).fingerprint256) };
  }
});

afterAll(async () => {
  await lab.stop();
  console.info(`certificate lab timings (ms): ${JSON.stringify(timings)}`);
});

describe('rpctl cert replace', () => {
  it('replaces the certificate on a v4 and a v7 appliance, then a second run changes nothing', async () => {
    expect([spec('lab-1', cfg).generation, spec('lab-2', cfg).generation]).toEqual(['v4', 'v7']);
    const pids: Record<string, string> = {
      'lab-1': await nginxPids('lab-1'),
      'lab-2': await nginxPids('lab-2'),
    };
    const before = connections();
    const first = await cli(`cert replace -i ${inventory} --limit lab-1,lab-2 --pem ${bothPem} --save --yes`);
    timings.replace2 = first.ms;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /lab-1: changed \(1 change\)\n {2}✓ certificate: replace CN=lab-1.lab.example.com/,
    );
    expect(first.stdout).toContain('Apply: 2 changes applied on 2 hosts.');
    expect(connections() - before).toBe(2); // one SSH connection per appliance
    for (const name of ['lab-1', 'lab-2']) {
      expect(await served(name)).toEqual([
        both.fingerprint256,
        hex(new X509Certificate(pki.intermediate.certPem).fingerprint256),
      ]);
      expect(fileOn(name, PEM)).toBe(readFileSync(bothPem, 'utf8'));
      expect(fileOn(name, `${PEM}.backup`)).toBe(original[name]!.pem);
      expect(labSh(name, `stat -c '%a %U %G' ${PEM} ${PEM}.backup`)).toBe('400 root root\n400 root root\n');
      expect(uploadDirs(name)).toBe('');
      expect(await nginxPids(name)).not.toBe(pids[name]);
    }

    // --save wrote the section for both appliances, comments kept; apply from the inventory is a no-op
    const saved = readFileSync(inventory, 'utf8');
    expect(saved).toContain('# lab-1 is reached through the counting relay');
    expect(saved.match(/certificate:\n {6}pem: file:pki\/lab-1-2.pem/g)).toHaveLength(2);
    const pidsAfter: Record<string, string> = {
      'lab-1': await nginxPids('lab-1'),
      'lab-2': await nginxPids('lab-2'),
    };
    const second = await cli(`apply -i ${inventory} --limit lab-1,lab-2 --yes --format json`);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.summary).toMatchObject({ inSync: 2, changes: 0 });
    const plan = await cli(`plan -i ${inventory} --limit lab-1,lab-2`);
    expect(plan.code).toBe(0);
    for (const name of ['lab-1', 'lab-2']) {
      expect(await nginxPids(name)).toBe(pidsAfter[name]); // no reload
      expect(uploadDirs(name)).toBe('');
    }
    const status = await cli(`cert status -i ${inventory} --limit lab-1,lab-2 --format json`);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).hosts).toEqual([
      expect.objectContaining({
        name: 'lab-1',
        status: 'ok',
        matchesDesired: true,
        installed: expect.objectContaining({
          fingerprint256: both.fingerprint256,
          subject: 'CN=lab-1.lab.example.com',
        }),
        served: expect.objectContaining({ fingerprint256: both.fingerprint256, matchesInstalled: true }),
      }),
      expect.objectContaining({ name: 'lab-2', status: 'ok', matchesDesired: true }),
    ]);
  });
});

describe('refused input: exit 3, one line, no SSH connection, appliance untouched', () => {
  const name = 'lab-3';
  const lab3 = pki.leaf('lab-3', { names: [fqdn(name)] });
  const stranger = pki.leaf('stranger', { names: [fqdn(name)] });
  const DAY = 86_400_000;
  const expired = pki.leaf('expired', {
    names: [fqdn(name)],
    notBefore: new Date(Date.now() - 400 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  const early = pki.leaf('early', {
    names: [fqdn(name)],
    notBefore: new Date(Date.now() + 7 * DAY),
    notAfter: new Date(Date.now() + 400 * DAY),
  });
  const elsewhere = pki.leaf('elsewhere', { names: ['rp.other.example.com'] });
  const inter = pki.intermediate.cert;
  const encrypted = pki.encryptedKey(lab3, 'the right passphrase');
  const wrongPassphrase = pki.file('wrong.pass', 'not it\n');
  const pem = (file: string, ...parts: string[]) => ['--pem', pki.file(file, ...parts)];
  const cases: [string, string[], RegExp][] = [
    [
      'key first',
      pem('key-first.pem', lab3.keyPem, lab3.certPem),
      /the private key comes before the certificate/,
    ],
    [
      'intermediate before the key',
      pem('inter-first.pem', lab3.certPem, pki.intermediate.certPem, lab3.keyPem),
      /a certificate comes between the server certificate and its private key/,
    ],
    [
      'encrypted key',
      ['--cert', lab3.cert, '--key', encrypted, '--chain', inter],
      /the private key is encrypted/,
    ],
    [
      'wrong passphrase',
      ['--cert', lab3.cert, '--key', encrypted, '--chain', inter, '--key-passphrase-file', wrongPassphrase],
      /the private key does not decrypt with the passphrase from file:/,
    ],
    [
      'key of another certificate',
      ['--cert', lab3.cert, '--key', stranger.key, '--chain', inter],
      /the private key does not belong to the server certificate \(CN=lab-3.lab.example.com\)/,
    ],
    [
      'chain that does not link',
      ['--cert', lab3.cert, '--key', lab3.key, '--chain', pki.root.cert],
      /intermediate 1 \(CN=rpctl test root\) did not issue the server certificate/,
    ],
    ['expired', ['--cert', expired.cert, '--key', expired.key, '--chain', inter], /expired on/],
    ['not yet valid', ['--cert', early.cert, '--key', early.key, '--chain', inter], /is not valid until/],
    [
      'wrong name',
      ['--cert', elsewhere.cert, '--key', elsewhere.key, '--chain', inter],
      /does not cover lab-3.lab.example.com; to install it anyway: --allow-name-mismatch/,
    ],
  ];

  it.each(cases)('%s', async (_case, flags, message) => {
    const before = { files: snapshot(name), connections: connections(), pids: await nginxPids(name) };
    const { code, stdout, stderr } = await rpctl(
      ...`cert replace -i ${inventory} --limit ${name} --yes`.split(' '),
      ...flags,
    );
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^rpctl: lab-3: certificate: [^\\n]*${message.source}[^\\n]*\\n$`));
    expect(connections()).toBe(before.connections);
    expect(snapshot(name)).toBe(before.files);
    expect(uploadDirs(name)).toBe('');
    expect(await nginxPids(name)).toBe(before.pids);
  });

  it('is refused the same way from the inventory (plan and apply), and by the real process', async () => {
    const before = { files: snapshot(name), connections: connections() };
    lab.writeInventory({
      [name]: ['certificate:', `  pem: file:${pki.file('bad.pem', lab3.keyPem, lab3.certPem)}`],
    });
    for (const command of [['plan'], ['apply', '--yes']]) {
      const result = await rpctl(...command, '-i', inventory, '--limit', name);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(
        /^rpctl: lab-3: certificate: file:\S+bad.pem: the private key comes before the certificate;[^\n]*\n$/,
      );
    }
    const spawned = spawnSync(
      process.execPath,
      `bin/rpctl cert replace -i ${inventory} --limit ${name} --yes --cert ${expired.cert} --key ${expired.key}`.split(
        ' ',
      ),
      { cwd: cfg.repoRoot, encoding: 'utf8', env: { ...process.env, RPCTL_STATE_DIR: stateDir } },
    );
    printed.push(spawned.stdout, spawned.stderr);
    expect(spawned.status).toBe(3);
    expect(spawned.stderr).toMatch(
      /^rpctl: lab-3: certificate: \S+expired.crt: the server certificate \(CN=lab-3.lab.example.com\) expired on [^\n]+\n$/,
    );
    expect(connections()).toBe(before.connections);
    expect(snapshot(name)).toBe(before.files);
    expect(uploadDirs(name)).toBe('');
  });
});

describe('failures on the appliance put the previous certificate back', () => {
  it('nginx -t refuses an RSA-1024 key: that host restored and not reloaded, the other replaced', async () => {
    const weak = pki.leaf('weak', { names: [fqdn('lab-3')], keyType: 'rsa:1024' });
    const lab4 = pki.leaf('lab-4', { names: [fqdn('lab-4')], keyType: 'ec:prime256v1' });
    // pki/lab-4.enc.key and pki/lab-4.pass, named relative to the inventory below
    pki.encryptedKey(lab4, 'lab-4 passphrase');
    lab.writeInventory({
      'lab-3': [
        'certificate:',
        `  pem: file:${pki.file('weak.pem', weak.certPem, weak.keyPem, pki.intermediate.certPem)}`,
      ],
      'lab-4': [
        'certificate:',
        '  cert: pki/lab-4.crt',
        '  key: file:pki/lab-4.enc.key',
        '  chain: pki/intermediate.crt',
        '  keyPassphrase: file:pki/lab-4.pass',
      ],
    });
    const before = { files: snapshot('lab-3'), pids: await nginxPids('lab-3') };
    const { code, stdout, stderr } = await cli(
      `apply -i ${inventory} --limit lab-3,lab-4 --yes --format json`,
    );
    expect(code, stderr).toBe(1);
    const [three, four] = JSON.parse(stdout).hosts;
    expect(three).toMatchObject({ name: 'lab-3', status: 'failed', error: { reason: 'validation' } });
    expect(three.error.message).toMatch(
      /^lab-3: validation `nginx -t` failed: .*ee key too small.*; previous files restored$/,
    );
    expect(three.warnings).toEqual([
      expect.stringMatching(/^certificate: the RSA key has 1024 bits, under 2048/),
    ]);
    expect(snapshot('lab-3')).toBe(before.files); // pexip.pem and (absent) pexip.pem.backup as they were
    expect(await nginxPids('lab-3')).toBe(before.pids);
    expect(await leafServed('lab-3')).toBe(original['lab-3']!.fingerprint);
    expect(uploadDirs('lab-3')).toBe('');
    expect(four).toMatchObject({ name: 'lab-4', status: 'changed' });
    expect(await served('lab-4')).toEqual([
      lab4.fingerprint256,
      hex(new X509Certificate(pki.intermediate.certPem).fingerprint256),
    ]);
    expect(fileOn('lab-4', PEM)).not.toContain('ENCRYPTED');
    expect(uploadDirs('lab-4')).toBe('');
  });

  it('nginx serves another certificate for the FQDN: verification fails, rolled back, old one served again', async () => {
    const name = 'lab-4';
    const previous = {
      pem: fileOn(name, PEM),
      backup: fileOn(name, `${PEM}.backup`),
      leaf: await leafServed(name),
    };
    // A server block that wins SNI lab-4.lab.example.com with a copy of the current certificate.
    labSh(name, `cp -p ${PEM} /etc/nginx/ssl/decoy.pem`);
    labExec(name, ['sh', '-c', 'cat > /etc/nginx/sites-enabled/00-decoy'], {
      input: `server {\n    listen ${spec(name, cfg).address}:443 ssl;\n    server_name ${fqdn(name)};\n    ssl_certificate ssl/decoy.pem;\n    ssl_certificate_key ssl/decoy.pem;\n    return 444;\n}\n`,
    });
    labSh(name, 'service nginx reload >/dev/null');
    try {
      const next = pki.leaf('lab-4b', { names: [fqdn(name)] });
      const { code, stdout, stderr } = await cli(
        `cert replace -i ${inventory} --limit ${name} --cert ${next.cert} --key ${next.key} --chain ${pki.intermediate.cert} --yes --format json`,
      );
      expect(code, stderr).toBe(1);
      const [host] = JSON.parse(stdout).hosts;
      expect(host).toMatchObject({
        name,
        status: 'failed',
        rolledBack: true,
        error: { reason: 'verification' },
      });
      expect(host.error.message).toBe(
        `lab-4: verification failed: nginx serves CN=lab-4.lab.example.com (sha256 ${next.fingerprint256.slice(0, 16)}…) for lab-4.lab.example.com: served ${previous.leaf!.slice(0, 16)}…; rolled back`,
      );
      expect(host.verification).toContainEqual({
        ok: true,
        message: expect.stringMatching(
          /^nginx serves the previous certificate CN=lab-4.lab.example.com .* again$/,
        ),
      });
      expect(fileOn(name, PEM)).toBe(previous.pem);
      expect(fileOn(name, `${PEM}.backup`)).toBe(previous.backup);
      expect(labSh(name, `stat -c '%a %U %G' ${PEM}`)).toBe('400 root root\n');
      expect(await leafServed(name)).toBe(previous.leaf);
      expect(uploadDirs(name)).toBe('');
    } finally {
      labSh(
        name,
        'rm -f /etc/nginx/sites-enabled/00-decoy /etc/nginx/ssl/decoy.pem; service nginx reload >/dev/null',
      );
    }
  });
});

describe('rpctl cert rollback and status', () => {
  it('puts pexip.pem.backup back, the served certificate follows, status shows the inventory differs', async () => {
    const name = 'lab-1';
    lab.writeInventory({ [name]: ['certificate:', `  pem: file:${bothPem}`] });
    expect(await leafServed(name)).toBe(both.fingerprint256);
    const { code, stdout, stderr } = await cli(`cert rollback -i ${inventory} --limit ${name} --yes`);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(
      /lab-1: changed \(1 change\)\n {2}✓ certificate-rollback: restore CN=lab-1.lab.example.com from \/etc\/nginx\/ssl\/pexip.pem.backup/,
    );
    expect(await leafServed(name)).toBe(original[name]!.fingerprint);
    expect(fileOn(name, PEM)).toBe(original[name]!.pem);
    expect(labSh(name, `stat -c '%a %U %G' ${PEM}`)).toBe('400 root root\n');
    expect(uploadDirs(name)).toBe('');
    const again = await cli(`cert rollback -i ${inventory} --limit ${name} --yes`);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('lab-1: in sync');

    const status = await cli(`cert status -i ${inventory} --limit ${name}`);
    expect(status.code).toBe(2);
    expect(status.stdout).toContain(
      `lab-1 (lab-1.lab.example.com): drift\n  subject  CN=lab-1.lab.example.com\n`,
    );
    expect(status.stdout).toContain(`  sha256   ${original[name]!.fingerprint}\n`);
    expect(status.stdout).toContain(
      '  desired  DIFFERS from the inventory\n  served   the installed certificate\n',
    );
  });
});

describe('secrets', () => {
  it("never prints, records or logs a private key's base64 body", () => {
    const keyFiles = readdirSync(pki.dir).filter((f) => f.endsWith('.key'));
    const lines = keyFiles.flatMap((f) => keyBodyLines(readFileSync(join(pki.dir, f), 'utf8')));
    expect(keyFiles.length).toBeGreaterThan(10);
    const records = readdirSync(join(stateDir, 'runs')).map((f) =>
      readFileSync(join(stateDir, 'runs', f), 'utf8'),
    );
    expect(records.length).toBeGreaterThanOrEqual(6);
    const local = [...printed, ...records, readFileSync(inventory, 'utf8')].join('\n');
    expect(local).toContain('sha256'); // the outputs are there, and hold fingerprints instead
    expect(lines.filter((line) => local.includes(line))).toEqual([]);
    const patterns = `${lines.join('\n')}\n`;
    for (const name of NAMES) {
      const found = labExec(
        name,
        ['sh', '-c', 'grep -rlF -f - /var/log /var/lib/rpctl /tmp /home/pexip 2>/dev/null; true'],
        {
          input: patterns,
        },
      ).stdout;
      expect(found, name).toBe('');
    }
    // the same grep does find the key where it belongs
    expect(labExec('lab-2', ['grep', '-lF', '-f', '-', PEM], { input: patterns }).stdout).toBe(`${PEM}\n`);
  });
});
