/**
 * certificate.acme against a real ACME CA (issue 20): the lab's Pebble and dnsmasq (acme.ts),
 * the appliances' real nginx answering HTTP-01 on port 80, rpctl in-process through the counting
 * relays of certificate-harness.ts. Pebble rejects a share of good nonces at random, so every
 * order here also goes through acme-client's badNonce retry.
 *
 *   lab-1 (v4)  ecdsa-p256 with an extra name; forced renewal; the port-80 location removed by hand
 *   lab-2 (v7)  rsa-2048 (the default); its name stops resolving; a CA that requires EAB
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChallengeLocation } from '../../recipes/certificate/acme-location.js';
import { ecKeyFile, keyBodyLines } from '../certificates.js';
import { type AcmeLab, applianceNames, pebbleRoot, setAcmeNames, startAcme, stopAcme } from './acme.js';
import { CertificateLab, fileOn, fqdn, nginxPids, PEM, uploadDirs } from './certificate-harness.js';
import { labSh, readState, spec } from './lab.js';

const lab = new CertificateLab();
const { cfg, inventory, stateDir, printed, work } = lab;
const rpctl = lab.rpctl.bind(lab);
const cli = (line: string) => rpctl(...line.split(' '));
const PEXAPP = '/etc/nginx/sites-available/pexapp';
const KEY = '/etc/nginx/ssl/rpctl-acme/pexip.key';
const EXTRA = 'meet-1.lab.example.com';
const accountKey = join(work, 'acme-account.pem');
let acme: AcmeLab;
let root: X509Certificate;
const pexappBefore: Record<string, string> = {};

function acmeLines(
  options: { keyType?: string; extraNames?: string[]; eab?: { kid: string; hmacFile: string } } = {},
): string[] {
  return [
    'certificate:',
    '  acme:',
    `    directory: ${acme.directoryUrl}`,
    '    email: pki@lab.example.com',
    `    accountKey: file:${accountKey}`,
    `    caFile: ${acme.listenerCaFile}`,
    ...(options.keyType ? [`    keyType: ${options.keyType}`] : []),
    ...(options.extraNames ? [`    extraNames: [${options.extraNames.join(', ')}]`] : []),
    ...(options.eab ? [`    eab: { kid: ${options.eab.kid}, hmacKey: 'file:${options.eab.hmacFile}' }`] : []),
  ];
}

/**
 * The test's inventory. `account` another account key: Pebble lets an account reuse a name's
 * valid authorization (PEBBLE_AUTHZREUSE), so a challenge is only sure to be asked of a new one.
 */
function writeAcmeInventory(options: { keyType?: string; account?: string } = {}): void {
  const key = (lines: string[]) =>
    options.account ? lines.map((l) => l.replace(accountKey, options.account!)) : lines;
  lab.writeInventory({
    'lab-1': key(acmeLines({ keyType: options.keyType ?? 'ecdsa-p256', extraNames: [EXTRA] })),
    'lab-2': key(acmeLines()),
  });
}

/** The chain nginx serves for `name` (SNI = its FQDN), leaf first. */
function servedChain(name: string): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: spec(name, cfg).address, port: 443, servername: fqdn(name), rejectUnauthorized: false },
      () => {
        const chain: X509Certificate[] = [];
        let cert = socket.getPeerCertificate(true);
        while (cert?.raw && !chain.some((c) => c.raw.equals(cert.raw))) {
          chain.push(new X509Certificate(cert.raw));
          cert = cert.issuerCertificate;
        }
        socket.end();
        resolve(chain);
      },
    );
    socket.once('error', reject);
  });
}

/** A TLS handshake verified against this machine's default trust store succeeds. */
function systemTrusts(host: string, port: number, servername?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, ...(servername ? { servername } : {}) }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The leaf verifies with the next certificate, that one with Pebble's root. */
function chainsToRoot(chain: X509Certificate[]): boolean {
  const [leaf, intermediate] = chain;
  return Boolean(
    leaf && intermediate && leaf.verify(intermediate.publicKey) && intermediate.verify(root.publicKey),
  );
}

const leafHex = (cert: X509Certificate) => cert.fingerprint256.replaceAll(':', '').toLowerCase();

/** GET http://ADDRESS/PATH with Host: the appliance's FQDN: status and Location. */
function httpGet(name: string, path: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: spec(name, cfg).address, port: 80, path, headers: { Host: fqdn(name) }, timeout: 3000 },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Files under `dirs` holding `needle`, found by grep inside the appliance. */
function filesHolding(name: string, needle: string, dirs = '/etc /var /root /home /tmp'): string[] {
  return labSh(name, `grep -rlsF -e '${needle}' ${dirs} || true`).split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  await lab.start();
  const state = readState(cfg)!;
  acme = await startAcme(state.appliances, cfg, {
    ...applianceNames(state.appliances),
    [EXTRA]: spec('lab-1', cfg).address,
  });
  root = new X509Certificate(await pebbleRoot(cfg));
  ecKeyFile(accountKey);
  for (const name of ['lab-1', 'lab-2']) pexappBefore[name] = fileOn(name, PEXAPP);
  writeAcmeInventory();
});

afterAll(async () => {
  // Pebble refuses 5% of good nonces: how often acme-client's retry was needed in this file
  const retries = printed.join('').match(/note: ACME requests retried: .*/g) ?? [];
  console.info(`certificate.acme: ${retries.length} order(s) retried requests: ${retries.join('; ')}`);
  stopAcme(cfg);
  await lab.stop();
});

describe('the lab ACME server', () => {
  it("listens on the lab's loopback address only; nginx answers port 80 of each appliance from the host", async () => {
    const listening = execFileSync('ss', ['-Hltnup'], { encoding: 'utf8' }).split('\n');
    for (const server of ['pebble', 'dnsmasq']) {
      const pid = readFileSync(join(acme.dir, `${server}.pid`), 'utf8').trim();
      const local = listening.filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[4]);
      expect(local.length, server).toBeGreaterThan(0);
      for (const address of local)
        expect(address).toMatch(new RegExp(`^${acme.address.replaceAll('.', '\\.')}:\\d+$`));
    }
    for (const name of ['lab-1', 'lab-2']) {
      expect(await httpGet(name, '/')).toEqual({ status: 301, location: `https://${fqdn(name)}/` });
    }
    // its HTTPS listener is trusted only where the inventory's caFile says so
    expect(await systemTrusts(acme.address, 14000)).toBe(false);
  });
});

describe('certificate.acme', () => {
  let firstLeaf: X509Certificate;

  it('apply: both appliances get certificates issued by Pebble, the key made on each', async () => {
    const pids = { 'lab-1': await nginxPids('lab-1'), 'lab-2': await nginxPids('lab-2') };
    const before = lab.connections();
    const result = await cli(`apply -i ${inventory} --yes`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'certificate-acme: renewal due: the installed certificate was not issued through certificate.acme; order lab-1.lab.example.com, meet-1.lab.example.com from',
    );
    expect(lab.connections() - before).toBe(4); // one SSH connection per appliance
    const expectations = [
      ['lab-1', [fqdn('lab-1'), EXTRA], 'ec'],
      ['lab-2', [fqdn('lab-2')], 'rsa'],
    ] as const;
    for (const [name, names, keyType] of expectations) {
      const chain = await servedChain(name);
      expect(chainsToRoot(chain), `${name} serves a chain to Pebble's root`).toBe(true);
      expect(chain[0]!.subjectAltName).toBe(names.map((n) => `DNS:${n}`).join(', '));
      expect(chain[0]!.publicKey.asymmetricKeyType).toBe(keyType);
      expect(chain[0]!.issuer).toMatch(/Pebble Intermediate CA/);
      expect(labSh(name, `stat -c '%a %U %G' ${PEM} ${KEY} /etc/nginx/ssl/rpctl-acme`)).toBe(
        '400 root root\n600 root root\n700 root root\n',
      );
      // pexip.pem is the guide's layout: certificate, the key made here, the intermediate
      const pem = fileOn(name, PEM);
      expect(pem).toBe(`${chain[0]!.toString()}${fileOn(name, KEY)}${chain[1]!.toString()}`);
      // pexapp: the location added, the redirect moved into location /, every other byte kept
      expect(fileOn(name, PEXAPP)).toBe(withChallengeLocation(pexappBefore[name]!));
      expect(await httpGet(name, '/webapp')).toMatchObject({ status: 301 });
      expect(labSh(name, 'ls -A /var/www/rpctl-acme-challenge')).toBe('');
      expect(labSh(name, 'ls -A /etc/nginx/ssl/rpctl-acme')).toBe('issued\npexip.key\n');
      expect(uploadDirs(name)).toBe('');
      expect(await nginxPids(name)).not.toBe(pids[name]); // reloaded
    }
    firstLeaf = (await servedChain('lab-1'))[0]!;
    // Pebble's root is in no trust store of this machine: only this test trusts it
    expect(await systemTrusts(spec('lab-1', cfg).address, 443, fqdn('lab-1'))).toBe(false);
  });

  it('a second apply changes nothing and reloads nothing', async () => {
    const pids = { 'lab-1': await nginxPids('lab-1'), 'lab-2': await nginxPids('lab-2') };
    const result = await cli(`apply -i ${inventory} --yes`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('in sync (4): lab-1…lab-4');
    expect(result.stdout).toContain('Apply: 4 in sync.');
    for (const name of ['lab-1', 'lab-2'] as const) expect(await nginxPids(name)).toBe(pids[name]);
    const status = await cli(`cert status -i ${inventory} --limit lab-1,lab-2`);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout.match(/desired {2}certificate\.acme: issued through it, not due/g)).toHaveLength(2);
    const renew = await cli(`cert renew -i ${inventory} --limit lab-1,lab-2 --yes`);
    expect(renew.code).toBe(0);
    expect(renew.stdout).toContain('Apply: 2 in sync.');
  });

  it('cert renew --force needs --limit (exit 3, nothing contacted)', async () => {
    const before = lab.connections();
    const result = await cli(`cert renew -i ${inventory} --force --yes`);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      "rpctl: cert renew: --limit is required: name the appliances to change (names, groups, globs; '*' for all)\n",
    );
    expect(lab.connections()).toBe(before);
  });

  it('a forced renewal issues a new certificate; the previous one is in pexip.pem.backup', async () => {
    const result = await cli(`cert renew -i ${inventory} --limit lab-1 --force --yes`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('✓ certificate-acme: renewal due: forced (--force)');
    const chain = await servedChain('lab-1');
    expect(chainsToRoot(chain)).toBe(true);
    expect(leafHex(chain[0]!)).not.toBe(leafHex(firstLeaf));
    const backup = new X509Certificate(labSh('lab-1', `openssl x509 -in ${PEM}.backup`));
    expect(leafHex(backup)).toBe(leafHex(firstLeaf));
  });

  it("the private key's bytes are nowhere but the appliance's pexip.pem and its 0600 key file", async () => {
    const keyLines = keyBodyLines(fileOn('lab-1', KEY));
    const accountLines = keyBodyLines(readFileSync(accountKey, 'utf8'));
    expect(keyLines.length).toBeGreaterThan(0);
    for (const line of keyLines) {
      expect(filesHolding('lab-1', line)).toEqual([PEM, KEY]);
      expect(filesHolding('lab-2', line, '/etc/nginx /var/www /var/backups /tmp')).toEqual([]);
    }
    const records = lab_stateFiles().map((f) => readFileSync(f, 'utf8'));
    for (const line of [...keyLines, ...accountLines]) {
      for (const text of [...printed, ...records]) expect(text.includes(line)).toBe(false);
      // this machine's temporary files (other than the account key the test made) hold neither
      const found = spawnSync('grep', ['-rlsF', '-e', line, tmpdir()], {
        encoding: 'utf8',
        timeout: 120_000,
      }).stdout;
      expect(found.split('\n').filter((f) => f && f !== accountKey)).toEqual([]);
    }
  });

  it('a name that does not resolve: exit 1 with the CA problem detail, the old certificate still served', async () => {
    const before = leafHex((await servedChain('lab-2'))[0]!);
    const pem = labSh('lab-2', `sha256sum ${PEM} ${PEM}.backup`);
    writeAcmeInventory({ account: ecKeyFile(join(work, 'account-2.pem')) });
    setAcmeNames({ [fqdn('lab-1')]: spec('lab-1', cfg).address }, cfg);
    try {
      const result = await cli(`cert renew -i ${inventory} --limit lab-2 --force --yes`);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /lab-2: FAILED\n {2}certificate-acme: ACME challenge for lab-2\.lab\.example\.com failed: \S.*lab-2\.lab\.example\.com.*; nothing installed/,
      );
      console.info(`name not resolving: ${result.stdout.split('\n')[1]}`);
    } finally {
      setAcmeNames(
        { ...applianceNames(readState(cfg)!.appliances), [EXTRA]: spec('lab-1', cfg).address },
        cfg,
      );
    }
    expect(leafHex((await servedChain('lab-2'))[0]!)).toBe(before);
    expect(labSh('lab-2', `sha256sum ${PEM} ${PEM}.backup`)).toBe(pem);
    expect(labSh('lab-2', 'ls -A /etc/nginx/ssl/rpctl-acme /var/www/rpctl-acme-challenge')).toBe(
      '/etc/nginx/ssl/rpctl-acme:\nissued\npexip.key\n\n/var/www/rpctl-acme-challenge:\n',
    );
  });

  it('the port-80 location removed by hand: the order fails, the old certificate stays; apply puts both right', async () => {
    writeAcmeInventory({ keyType: 'rsa-2048', account: ecKeyFile(join(work, 'account-3.pem')) });
    const drift = await cli(`drift -i ${inventory}`);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain('renewal due: its key is ecdsa-p256; the inventory wants rsa-2048');
    const status = await cli(`cert status -i ${inventory} --limit lab-1`);
    expect(status.code).toBe(2);
    expect(status.stdout).toContain('desired  certificate.acme: RENEWAL DUE: its key is ecdsa-p256');
    const metrics = await cli(`drift -i ${inventory} --limit lab-1,lab-2 --format prometheus`);
    expect(metrics.stdout).toContain('rpctl_drift{host="lab-1",recipe="certificate-acme"} 1\n');
    expect(metrics.stdout).toContain('rpctl_drift{host="lab-2",recipe="certificate-acme"} 0\n');
    const before = leafHex((await servedChain('lab-1'))[0]!);
    labSh('lab-1', `cat > ${PEXAPP} && nginx -t 2>/dev/null && service nginx reload >/dev/null`, {
      input: pexappBefore['lab-1']!,
    });
    const failed = await cli(`apply -i ${inventory} --limit lab-1 --recipes certificate-acme --yes`);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(
      /ACME challenge for (lab|meet)-1\.lab\.example\.com failed: \S.*; nothing installed/,
    );
    console.info(`location removed: ${failed.stdout.split('\n')[1]}`);
    expect(leafHex((await servedChain('lab-1'))[0]!)).toBe(before);

    const fixed = await cli(`apply -i ${inventory} --limit lab-1 --yes`);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('✓ certificate-acme-challenge: answer ACME HTTP-01 challenges');
    const chain = await servedChain('lab-1');
    expect(chainsToRoot(chain)).toBe(true);
    expect(chain[0]!.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leafHex(new X509Certificate(labSh('lab-1', `openssl x509 -in ${PEM}.backup`)))).toBe(before);
  });
  it('nginx serves another certificate after the install: rolled back, the previous files and certificate back', async () => {
    const name = 'lab-1';
    const files = `${PEM} ${PEM}.backup ${KEY} /etc/nginx/ssl/rpctl-acme/issued`;
    const before = { sums: labSh(name, `sha256sum ${files}`), leaf: leafHex((await servedChain(name))[0]!) };
    // A server block that wins SNI lab-1.lab.example.com with a copy of the current pexip.pem.
    labSh(name, `cp -p ${PEM} /etc/nginx/ssl/decoy.pem`);
    const decoy = `server {\n    listen ${spec(name, cfg).address}:443 ssl;\n    server_name ${fqdn(name)};\n    ssl_certificate ssl/decoy.pem;\n    ssl_certificate_key ssl/decoy.pem;\n    return 444;\n}\n`;
    labSh(name, 'cat > /etc/nginx/sites-enabled/00-decoy && service nginx reload >/dev/null', {
      input: decoy,
    });
    try {
      const result = await cli(`cert renew -i ${inventory} --limit ${name} --force --yes --format json`);
      expect(result.code, result.stderr).toBe(1);
      const [host] = JSON.parse(result.stdout).hosts;
      expect(host).toMatchObject({
        name,
        status: 'failed',
        rolledBack: true,
        error: { reason: 'verification' },
      });
      expect(host.error.message).toMatch(
        /^lab-1: verification failed: nginx serves the issued certificate for lab-1.lab.example.com: .*; rolled back$/,
      );
      expect(labSh(name, `sha256sum ${files}`)).toBe(before.sums);
      expect(labSh(name, 'ls -A /etc/nginx/ssl/rpctl-acme')).toBe('issued\npexip.key\n');
    } finally {
      labSh(
        name,
        'rm -f /etc/nginx/sites-enabled/00-decoy /etc/nginx/ssl/decoy.pem; service nginx reload >/dev/null',
      );
    }
    expect(leafHex((await servedChain(name))[0]!)).toBe(before.leaf);
    expect(uploadDirs(name)).toBe('');
  });
});

describe('certificate.acme with external account binding', () => {
  const hmac = randomBytes(32).toString('base64url');
  const hmacFile = join(work, 'eab-hmac');

  beforeAll(async () => {
    writeFileSync(hmacFile, `${hmac}\n`, { mode: 0o600 });
    const state = readState(cfg)!;
    acme = await startAcme(state.appliances, cfg, applianceNames(state.appliances), {
      eabKeys: { 'kid-rpctl': hmac },
    });
  });

  it('a CA that requires it refuses an account without it, and issues with it; the HMAC key never printed', async () => {
    const account = ecKeyFile(join(work, 'account-eab.pem'));
    const without = acmeLines().map((l) => l.replace(accountKey, account));
    lab.writeInventory({ 'lab-2': without });
    const refused = await cli(`cert renew -i ${inventory} --limit lab-2 --force --yes`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /lab-2: FAILED\n {2}certificate-acme: ACME account failed: \S.*; nothing installed/,
    );
    console.info(`without EAB: ${refused.stdout.split('\n')[1]}`);

    lab.writeInventory({
      'lab-2': acmeLines({ eab: { kid: 'kid-rpctl', hmacFile } }).map((l) => l.replace(accountKey, account)),
    });
    const issued = await cli(`cert renew -i ${inventory} --limit lab-2 --force --yes`);
    expect(issued.code, issued.stdout + issued.stderr).toBe(0);
    root = new X509Certificate(await pebbleRoot(cfg)); // a new root since the restart
    expect(chainsToRoot(await servedChain('lab-2'))).toBe(true);
    for (const text of printed) expect(text.includes(hmac)).toBe(false);
  });
});

function lab_stateFiles(): string[] {
  const out = spawnSync('find', [stateDir, '-type', 'f'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean);
}
