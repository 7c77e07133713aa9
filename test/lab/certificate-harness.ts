/**
 * What the certificate lab test stands on: a throwaway PKI, an inventory of the four lab
 * appliances, rpctl run in-process with everything it prints kept, and ways to look at an
 * appliance (files, upload directories, nginx processes, the certificate served).
 *
 * Every appliance is reached through a counting TCP relay on PREFIX.N:PORT (the inventory says
 * `ssh.port: PORT`), so a test can show that a refused input never opened an SSH connection; TLS
 * probes go straight to PREFIX.N:443.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { bufferIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/program.js';
import { TestPki } from '../certificates.js';
import { registry } from '../registry.js';
import { clientFiles, labConfig, labSh, reset, spec } from './lab.js';

export const NAMES = ['lab-1', 'lab-2', 'lab-3', 'lab-4'];
export const PEM = '/etc/nginx/ssl/pexip.pem';
export const fqdn = (name: string) => `${name}.lab.example.com`;
export const hex = (fp: string) => fp.replaceAll(':', '').toLowerCase();

interface Relay {
  server: Server;
  port: number;
  connections: number;
}

export class CertificateLab {
  readonly cfg = labConfig();
  readonly work = mkdtempSync(join(tmpdir(), 'rpctl-cert-lab-'));
  readonly stateDir = join(this.work, 'state');
  readonly inventory = join(this.work, 'inventory.yaml');
  readonly pki = new TestPki(join(this.work, 'pki'));
  /** every byte rpctl printed, for the secrets check */
  readonly printed: string[] = [];
  private readonly relays = new Map<string, Relay>();

  /** Fresh appliances, relays, known_hosts for the relay ports, and an inventory without sections. */
  async start(): Promise<void> {
    await reset(NAMES, { cfg: this.cfg });
    for (const name of NAMES) await this.startRelay(name);
    const byAddress = new Map(NAMES.map((n) => [spec(n, this.cfg).address, this.relays.get(n)!.port]));
    const knownHosts = readFileSync(clientFiles(this.cfg).knownHosts, 'utf8').replace(
      /^(\S+) /gm,
      (_all, host: string) => `[${host}]:${byAddress.get(host)} `,
    );
    writeFileSync(join(this.work, 'known_hosts'), knownHosts);
    this.writeInventory();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.relays.values()].map((r) => new Promise((done) => r.server.close(done))));
    await reset(NAMES, { cfg: this.cfg });
    rmSync(this.work, { recursive: true, force: true });
  }

  /** SSH connections opened so far, on every appliance */
  connections(): number {
    return [...this.relays.values()].reduce((n, relay) => n + relay.connections, 0);
  }

  /** The inventory, with YAML lines added under appliances (`{ 'lab-1': ['certificate:', ...] }`). */
  writeInventory(sectionsOf: Record<string, string[]> = {}): void {
    const files = clientFiles(this.cfg);
    const lines = [
      '# certificate lab test inventory',
      'defaults:',
      '  ssh:',
      '    user: pexip',
      `    identityFile: ${files.identityFile}`,
      `    knownHosts: ${join(this.work, 'known_hosts')}`,
      '  sudo:',
      `    password: file:${files.sudoPasswordFile}`,
      '  domain: lab.example.com',
      'appliances:',
    ];
    for (const name of NAMES) {
      lines.push(
        `  ${name}:`,
        `    # ${name} is reached through the counting relay`,
        `    host: ${spec(name, this.cfg).address}`,
        `    hostname: ${name}`,
        '    ssh:',
        `      port: ${this.relays.get(name)!.port}`,
        ...(sectionsOf[name] ?? []).map((l) => `    ${l}`),
      );
    }
    writeFileSync(this.inventory, `${lines.join('\n')}\n`);
  }

  /** rpctl in-process, in the work directory, with run records in the test's state directory. */
  async rpctl(...argv: string[]) {
    const env = { ...process.env, NO_COLOR: '1', RPCTL_STATE_DIR: this.stateDir };
    const buffers = bufferIo({ env, cwd: this.work });
    const started = Date.now();
    const code = await run(argv, buffers.io, registry);
    const result = { code, stdout: buffers.stdout(), stderr: buffers.stderr(), ms: Date.now() - started };
    this.printed.push(result.stdout, result.stderr);
    return result;
  }

  /** The certificates nginx serves for the appliance's FQDN, leaf first, as hex sha256. */
  served(name: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const options = { host: spec(name, this.cfg).address, port: 443, servername: fqdn(name) };
      const socket = tlsConnect({ ...options, rejectUnauthorized: false }, () => {
        const chain: string[] = [];
        let cert = socket.getPeerCertificate(true);
        while (cert?.fingerprint256 && !chain.includes(hex(cert.fingerprint256))) {
          chain.push(hex(cert.fingerprint256));
          cert = cert.issuerCertificate;
        }
        socket.end();
        resolve(chain);
      });
      socket.once('error', reject);
    });
  }

  async leafServed(name: string): Promise<string | undefined> {
    return (await this.served(name))[0];
  }

  private async startRelay(name: string): Promise<void> {
    const address = spec(name, this.cfg).address;
    const relay: Relay = { server: createServer(), port: 0, connections: 0 };
    relay.server.on('connection', (client) => {
      relay.connections++;
      const upstream = createConnection({ host: address, port: 22 });
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.server.listen(0, address, resolve));
    relay.port = (relay.server.address() as { port: number }).port;
    this.relays.set(name, relay);
  }
}

/** What must not change when an input is refused: pexip.pem and its backup, bytes and metadata. */
export function snapshot(name: string): string {
  return labSh(
    name,
    `stat -c '%n %a %U %G %s' ${PEM} ${PEM}.backup 2>/dev/null; sha256sum ${PEM} ${PEM}.backup 2>/dev/null; true`,
  );
}

/** rpctl's upload directories left on the appliance (there must be none after a run). */
export const uploadDirs = (name: string) => labSh(name, 'ls -d /tmp/rpctl-* 2>/dev/null || true').trim();

export const fileOn = (name: string, path: string) => labSh(name, `cat ${path}`);

/** nginx's PIDs once no old worker is still shutting down after a reload (a reload changes them). */
export async function nginxPids(name: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 50; i++) {
    const ps = labSh(name, 'ps -C nginx -o pid=,args=');
    const pids = ps
      .split('\n')
      .map((l) => l.trim().split(' ')[0])
      .filter(Boolean)
      .sort()
      .join(',');
    if (!ps.includes('shutting down') && pids === last) return pids;
    last = pids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}
