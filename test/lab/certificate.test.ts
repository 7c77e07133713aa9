/**
 * Certificate replacement against the lab's real nginx (issue 6), through the CLI in-process and
 * once as a real process. Certificates come from a throwaway PKI made here with openssl.
 *
 * Every appliance is reached through a counting TCP relay on PREFIX.N:PORT (the inventory says
 * `ssh.port: PORT`), so a test can show that a refused input never opened an SSH connection; TLS
 * probes go straight to PREFIX.N:443.
 *
 *   lab-1 (v4), lab-2 (v7)  valid replacement, --save, idempotence, status, rollback
 *   lab-3 (v4)              bad inputs (nothing contacted), then an RSA-1024 key nginx refuses
 *   lab-4 (v7)              the good host next to lab-3, then a TLS verification that fails
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseFacts, describeFacts, recipes, sections } from '../../recipes/index.js';
import { bufferIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/program.js';
import { keyBodyLines, TestPki } from '../certificates.js';
import { clientFiles, labConfig, labExec, labSh, reset, spec } from './lab.js';

const cfg = labConfig();
const files = clientFiles(cfg);
const NAMES = ['lab-1', 'lab-2', 'lab-3', 'lab-4'];
const PEM = '/etc/nginx/ssl/pexip.pem';
const work = mkdtempSync(join(tmpdir(), 'rpctl-cert-lab-'));
const stateDir = join(work, 'state');
const inventory = join(work, 'inventory.yaml');
const pki = new TestPki(join(work, 'pki'));
const fqdn = (name: string) => `${name}.lab.example.com`;
/** every byte rpctl printed in this file, for the secrets check at the end */
const printed: string[] = [];
const timings: Record<string, number> = {};

// ---------------------------------------------------------------------------------------------
// SSH relays that count connections

const relays = new Map<string, { server: Server; port: number; connections: number }>();

async function startRelay(name: string): Promise<void> {
  const address = spec(name, cfg).address;
  const relay = { server: createServer(), port: 0, connections: 0 };
  relay.server.on('connection', (client) => {
    relay.connections++;
    const upstream = createConnection({ host: address, port: 22 });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.server.listen(0, address, resolve));
  relay.port = (relay.server.address() as { port: number }).port;
  relays.set(name, relay);
}

const connections = () => NAMES.reduce((n, name) => n + relays.get(name)!.connections, 0);

function inventoryText(sectionsOf: Record<string, string[]> = {}): string {
  const lines = [
    '# certificate lab test inventory',
    'defaults:',
    '  ssh:',
    '    user: pexip',
    `    identityFile: ${files.identityFile}`,
    `    knownHosts: ${join(work, 'known_hosts')}`,
    '  sudo:',
    `    password: file:${files.sudoPasswordFile}`,
    '  domain: lab.example.com',
    'appliances:',
  ];
  for (const name of NAMES) {
    lines.push(
      `  ${name}:`,
      `    # ${name} is reached through the counting relay`,
      `    host: ${spec(name, cfg).address}`,
      `    hostname: ${name}`,
      '    ssh:',
      `      port: ${relays.get(name)!.port}`,
      ...(sectionsOf[name] ?? []).map((l) => `    ${l}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Looking at the appliances

function served(name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: spec(name, cfg).address, port: 443, servername: fqdn(name), rejectUnauthorized: false },
      () => {
        const chain: string[] = [];
        let cert = socket.getPeerCertificate(true);
        while (cert?.fingerprint256 && !chain.includes(hex(cert.fingerprint256))) {
          chain.push(hex(cert.fingerprint256));
          cert = cert.issuerCertificate;
        }
        socket.end();
        resolve(chain);
      },
    );
    socket.once('error', reject);
  });
}
const hex = (fp: string) => fp.replaceAll(':', '').toLowerCase();
const leafServed = async (name: string) => (await served(name))[0];

/** What must not change when an input is refused: both files, bytes and metadata, and no upload dir. */
function snapshot(name: string): string {
  return labSh(
    name,
    `stat -c '%n %a %U %G %s' ${PEM} ${PEM}.backup 2>/dev/null; sha256sum ${PEM} ${PEM}.backup 2>/dev/null; true`,
  );
}
const uploadDirs = (name: string) => labSh(name, 'ls -d /tmp/rpctl-* 2>/dev/null || true').trim();
const nginxPids = (name: string) => labSh(name, 'ps -C nginx -o pid= | tr -d " " | sort | tr "\\n" ,');
const fileOn = (name: string, path: string) => labSh(name, `cat ${path}`);

async function rpctl(...argv: string[]) {
  const buffers = bufferIo({ env: { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: stateDir }, cwd: work });
  const started = Date.now();
  const code = await run(argv, buffers.io, { recipes, sections, baseFacts, describeFacts });
  const result = { code, stdout: buffers.stdout(), stderr: buffers.stderr(), ms: Date.now() - started };
  printed.push(result.stdout, result.stderr);
  return result;
}

// ---------------------------------------------------------------------------------------------

const both = pki.leaf('lab-1-2', { names: [fqdn('lab-1'), fqdn('lab-2')] });
const bothPem = pki.file('lab-1-2.pem', both.certPem, both.keyPem, pki.intermediate.certPem);
const original: Record<string, { pem: string; fingerprint: string }> = {};

beforeAll(async () => {
  await reset(NAMES, { cfg });
  for (const name of NAMES) await startRelay(name);
  // the lab's known_hosts, for the relay ports
  const knownHosts = readFileSync(files.knownHosts, 'utf8').replace(
    /^(\S+) /gm,
    (_all, host: string) =>
      `[${host}]:${relays.get(NAMES.find((n) => spec(n, cfg).address === host)!)!.port} `,
  );
  writeFileSync(join(work, 'known_hosts'), knownHosts);
  writeFileSync(inventory, inventoryText());
  for (const name of NAMES) {
    const pem = fileOn(name, PEM);
    original[name] = { pem, fingerprint: hex(new X509Certificate(pem).fingerprint256) };
  }
});

afterAll(async () => {
  await Promise.all([...relays.values()].map((r) => new Promise((resolve) => r.server.close(resolve))));
  await reset(NAMES, { cfg });
  rmSync(work, { recursive: true, force: true });
  console.info(`certificate lab timings (ms): ${JSON.stringify(timings)}`);
});

describe('rpctl cert replace', () => {
  it('replaces the certificate on a v4 and a v7 appliance, then a second run changes nothing', async () => {
    expect([spec('lab-1', cfg).generation, spec('lab-2', cfg).generation]).toEqual(['v4', 'v7']);
    const pids = { 'lab-1': nginxPids('lab-1'), 'lab-2': nginxPids('lab-2') };
    const before = connections();
    const first = await rpctl(
      'cert',
      'replace',
      '-i',
      inventory,
      '--limit',
      'lab-1,lab-2',
      '--pem',
      bothPem,
      '--save',
      '--yes',
    );
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
      expect(nginxPids(name)).not.toBe(pids[name as 'lab-1']);
    }

    // --save wrote the section for both appliances, comments kept; apply from the inventory is a no-op
    const saved = readFileSync(inventory, 'utf8');
    expect(saved).toContain('# lab-1 is reached through the counting relay');
    expect(saved.match(/certificate:\n {6}pem: file:pki\/lab-1-2.pem/g)).toHaveLength(2);
    const pidsAfter = { 'lab-1': nginxPids('lab-1'), 'lab-2': nginxPids('lab-2') };
    const second = await rpctl(
      'apply',
      '-i',
      inventory,
      '--limit',
      'lab-1,lab-2',
      '--yes',
      '--format',
      'json',
    );
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.summary).toMatchObject({ 'in-sync': 2, changes: 0 });
    const plan = await rpctl('plan', '-i', inventory, '--limit', 'lab-1,lab-2');
    expect(plan.code).toBe(0);
    for (const name of ['lab-1', 'lab-2']) {
      expect(nginxPids(name)).toBe(pidsAfter[name as 'lab-1']); // no reload
      expect(uploadDirs(name)).toBe('');
    }
    const status = await rpctl(
      'cert',
      'status',
      '-i',
      inventory,
      '--limit',
      'lab-1,lab-2',
      '--format',
      'json',
    );
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
