/**
 * The lab's ACME server, started only when a test (or `npm run lab -- acme up`) asks for it: Pebble
 * (Let's Encrypt's test CA, Debian's `pebble`) and a dnsmasq it asks for names, both on the lab's
 * own loopback address PREFIX.253 and nowhere else.
 *
 *   const acme = await startAcme(readState()!.appliances);   // lab-N.lab.example.com -> PREFIX.N
 *   // rpctl: certificate.acme.directory = acme.directoryUrl, caFile = acme.listenerCaFile
 *   const root = await pebbleRoot();                        // what issued certificates chain to
 *   setAcmeNames({ 'lab-1.lab.example.com': undefined });  // lab-1 stops resolving (NXDOMAIN)
 *   await startAcme(specs, cfg, names, { eabKeys: { kid: hmac } }); // accounts need EAB
 *   stopAcme();
 *
 * Pebble validates HTTP-01 on port 80 of the address dnsmasq gives (the appliance's nginx), rejects
 * a share of good nonces at random (PEBBLE_WFE_NONCEREJECT left at its default, so clients must
 * retry badNonce) and makes a new root and intermediate on every start; they are fetched from its
 * management port and trusted only by whoever is given them (never the system store). Its HTTPS
 * listener uses a self-signed certificate made here, trusted by rpctl only through the inventory's
 * `caFile`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { ApplianceSpec } from './files.js';
import { fqdn } from './files.js';
import { type LabConfig, labConfig, tcpOpen } from './lab.js';

export const ACME_DIRECTORY_PORT = 14000;
export const ACME_MANAGEMENT_PORT = 15000;
export const ACME_DNS_PORT = 53;

export interface AcmeLab {
  /** PREFIX.253: Pebble's and dnsmasq's only address */
  address: string;
  directoryUrl: string;
  managementUrl: string;
  /** the self-signed certificate of Pebble's HTTPS listeners (not of the CA that issues) */
  listenerCaFile: string;
  dir: string;
}

export function acmeLab(cfg: LabConfig = labConfig()): AcmeLab {
  const address = `${cfg.prefix}.253`;
  const dir = join(cfg.labDir, 'acme');
  return {
    address,
    directoryUrl: `https://${address}:${ACME_DIRECTORY_PORT}/dir`,
    managementUrl: `https://${address}:${ACME_MANAGEMENT_PORT}`,
    listenerCaFile: join(dir, 'listener.pem'),
    dir,
  };
}

/** Names dnsmasq answers for (anything else under the lab's domain is NXDOMAIN). */
export type AcmeNames = Record<string, string | undefined>;

/** Each appliance sharing the host's network: hostname.domain -> its loopback address. */
export function applianceNames(specs: readonly ApplianceSpec[]): AcmeNames {
  return Object.fromEntries(specs.filter((s) => !s.networked).map((s) => [fqdn(s), s.address]));
}

function writeHosts(acme: AcmeLab, names: AcmeNames): void {
  const lines = Object.entries(names).flatMap(([name, address]) => (address ? [`${address} ${name}`] : []));
  writeFileSync(join(acme.dir, 'hosts'), `${lines.join('\n')}\n`);
}

function ensureListenerCertificate(acme: AcmeLab): void {
  if (existsSync(acme.listenerCaFile)) return;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=rpctl lab ACME listener',
      '-addext',
      `subjectAltName=IP:${acme.address}`,
      '-keyout',
      join(acme.dir, 'listener-key.pem'),
      '-out',
      acme.listenerCaFile,
    ],
    { stdio: 'ignore' },
  );
}

/** `eabKeys`: external account binding required, with these key identifiers and HMAC keys. */
function pebbleConfig(acme: AcmeLab, eabKeys?: Record<string, string>): string {
  return `${JSON.stringify(
    {
      pebble: {
        listenAddress: `${acme.address}:${ACME_DIRECTORY_PORT}`,
        managementListenAddress: `${acme.address}:${ACME_MANAGEMENT_PORT}`,
        certificate: acme.listenerCaFile,
        privateKey: join(acme.dir, 'listener-key.pem'),
        httpPort: 80, // the appliances' nginx
        tlsPort: 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: eabKeys !== undefined,
        ...(eabKeys ? { externalAccountMACKeys: eabKeys } : {}),
      },
    },
    null,
    2,
  )}\n`;
}

/** PIDs of this lab's ACME processes, recognised by the lab's acme directory in their command line. */
function acmeProcesses(acme: AcmeLab): number[] {
  const marker = `${acme.dir}/`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

function startDetached(acme: AcmeLab, name: string, argv: string[], env: NodeJS.ProcessEnv = {}): void {
  const log = openSync(join(acme.dir, `${name}.log`), 'a');
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ['ignore', log, log],
    env: { PATH: process.env.PATH, ...env },
  });
  closeSync(log);
  writeFileSync(join(acme.dir, `${name}.pid`), `${child.pid}\n`);
  child.unref();
}

async function waitListening(acme: AcmeLab, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await tcpOpen(acme.address, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = (name: string) =>
    readFileSync(join(acme.dir, `${name}.log`), 'utf8')
      .split('\n')
      .slice(-10);
  throw new Error(`lab: ACME server not listening on ${acme.address}:${port}\n${log('pebble').join('\n')}`);
}

/**
 * Start Pebble and its dnsmasq (again, if running) with `names` resolving; returns where they are.
 * Pebble's root changes on every start.
 */
export async function startAcme(
  specs: readonly ApplianceSpec[],
  cfg: LabConfig = labConfig(),
  names: AcmeNames = applianceNames(specs),
  options: { eabKeys?: Record<string, string> } = {},
): Promise<AcmeLab> {
  const acme = acmeLab(cfg);
  stopAcme(cfg);
  mkdirSync(acme.dir, { recursive: true, mode: 0o700 });
  ensureListenerCertificate(acme);
  writeHosts(acme, names);
  writeFileSync(join(acme.dir, 'pebble.json'), pebbleConfig(acme, options.eabKeys), { mode: 0o600 });
  // Authoritative for the lab's domain from the hosts file only: no upstream, no /etc/hosts.
  startDetached(acme, 'dnsmasq', [
    'dnsmasq',
    '--keep-in-foreground',
    '--user=root',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${acme.address}`,
    `--port=${ACME_DNS_PORT}`,
    `--addn-hosts=${join(acme.dir, 'hosts')}`,
    '--local=/example.com/',
    `--pid-file=${join(acme.dir, 'dnsmasq.pidfile')}`,
    '--log-queries',
    '--log-facility=-',
  ]);
  startDetached(
    acme,
    'pebble',
    ['pebble', '-config', join(acme.dir, 'pebble.json'), '-dnsserver', `${acme.address}:${ACME_DNS_PORT}`],
    // No random 0-15 s wait before each validation; nonce rejections stay at Pebble's default.
    { PEBBLE_VA_NOSLEEP: '1' },
  );
  await waitListening(acme, ACME_DIRECTORY_PORT);
  await waitListening(acme, ACME_MANAGEMENT_PORT);
  return acme;
}

/** Change what dnsmasq answers (it rereads its hosts file on HUP). */
export function setAcmeNames(names: AcmeNames, cfg: LabConfig = labConfig()): void {
  const acme = acmeLab(cfg);
  writeHosts(acme, names);
  const pid = Number(readFileSync(join(acme.dir, 'dnsmasq.pidfile'), 'utf8').trim());
  process.kill(pid, 'SIGHUP');
}

/** Stop Pebble and dnsmasq of this lab (only processes started from its acme directory). */
export function stopAcme(cfg: LabConfig = labConfig()): void {
  const acme = acmeLab(cfg);
  const pids = acmeProcesses(acme);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 50 && acmeProcesses(acme).length > 0; i++) spawnSync('sleep', ['0.1']);
  for (const pid of acmeProcesses(acme)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** GET a path of Pebble's management interface (HTTPS, trusting only the listener's certificate). */
export function pebbleGet(path: string, cfg: LabConfig = labConfig()): Promise<string> {
  const acme = acmeLab(cfg);
  return new Promise((resolve, reject) => {
    const req = request(
      `${acme.managementUrl}${path}`,
      { ca: readFileSync(acme.listenerCaFile), timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`pebble ${path}: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The root every certificate Pebble issues (since its last start) chains to. */
export const pebbleRoot = (cfg: LabConfig = labConfig()): Promise<string> => pebbleGet('/roots/0', cfg);
/** Pebble's intermediate (the issued chain carries it too). */
export const pebbleIntermediate = (cfg: LabConfig = labConfig()): Promise<string> =>
  pebbleGet('/intermediates/0', cfg);
