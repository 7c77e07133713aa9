/**
 * The appliance lab: real sshd, sudo, nginx, coturn and fail2ban from Debian's packages, one set per
 * appliance, each in its own mount, PID and UTS namespaces (README.md, "The lab").
 *
 *   const lab = await up({ count: 3, generation: 'mixed', state: 'installed' });
 *   labExec('lab-2', ['service', 'nginx', 'reload']);
 *   await down();
 *
 * Appliance N listens on PREFIX.N (default 127.0.2.N). The lab's state lives in
 * $RPCTL_LAB_HOME/PREFIX (default /srv/rpctl-lab/127.0.2); the client side (inventory, SSH key,
 * known_hosts, secrets) in inventories/ of this repository, git-ignored.
 */
import { type ChildProcess, execFileSync, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { stopAcme } from './acme.js';
import type { ApplianceSpec, ApplianceState, Generation } from './files.js';
import * as files from './files.js';
import {
  cleanupNetwork,
  createApplianceNetwork,
  removeApplianceNetwork,
  sshAnswers,
  startRelay,
} from './network.js';

export type { ApplianceSpec, ApplianceState, Generation } from './files.js';

export interface LabConfig {
  prefix: string;
  /** where appliance roots, logs and PIDs live */
  labDir: string;
  /** repository root (for the shell parts of the lab and the inventories/ directory) */
  repoRoot: string;
  /** client side: SSH key, known_hosts, secrets */
  clientDir: string;
  inventoryPath: string;
}

export interface UpOptions {
  count: number;
  generation?: Generation | 'mixed';
  state?: ApplianceState;
  /** appliances that get the networked flavour (network.ts): own network namespace, real NICs */
  networked?: readonly string[];
}

export interface LabState {
  prefix: string;
  createdAt: string;
  appliances: ApplianceSpec[];
}

export const DOMAIN = 'lab.example.com';
export const DEFAULT_PREFIX = '127.0.2';
export const TURN_USER = 'pexip';
/** the factory password of a freshly deployed appliance */
export const FACTORY_PASSWORD = 'PEXIP';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'test', 'lab', 'boot.sh'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('lab: cannot find the repository root (package.json + test/lab/boot.sh)');
    dir = parent;
  }
  return dir;
}

export function labConfig(env: NodeJS.ProcessEnv = process.env): LabConfig {
  const prefix = env.RPCTL_LAB_PREFIX ?? DEFAULT_PREFIX;
  if (!/^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(prefix)) {
    throw new Error(`lab: RPCTL_LAB_PREFIX must be three octets inside 127.0.0.0/8, got ${prefix}`);
  }
  const repoRoot = findRepoRoot();
  const home = env.RPCTL_LAB_HOME ?? '/srv/rpctl-lab';
  if (/^\/(etc|var)(\/|$)/.test(home)) {
    throw new Error(`lab: RPCTL_LAB_HOME cannot be under /etc or /var (appliances overlay those): ${home}`);
  }
  const labDir = join(home, prefix);
  // The default lab writes inventories/lab.yaml and .lab/; another prefix gets files of its own.
  const suffix = prefix === DEFAULT_PREFIX ? '' : `-${prefix}`;
  const clientDir = join(repoRoot, 'inventories', `.lab${suffix}`);
  return {
    prefix,
    labDir,
    repoRoot,
    clientDir,
    inventoryPath: join(repoRoot, 'inventories', `lab${suffix}.yaml`),
  };
}

const applianceDir = (cfg: LabConfig, name: string) => join(cfg.labDir, 'appliances', name);
const keysDir = (cfg: LabConfig, name: string) => join(cfg.labDir, 'keys', name);

const REQUIRED_COMMANDS = [
  'sshd',
  'ssh-keygen',
  'sudo',
  'nginx',
  'turnserver',
  'turnadmin',
  'fail2ban-server',
  'ifup',
  'update-rc.d',
  'unshare',
  'nsenter',
  'openssl',
  'socat',
  'ip',
];

function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new Error('lab: needs root (namespaces, mounts, a user per appliance)');
  const missing = REQUIRED_COMMANDS.filter(
    (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    throw new Error(
      `lab: missing ${missing.join(', ')}; install the lab's packages with: bash test/lab/install-deps.sh`,
    );
  }
}

function specsFor(cfg: LabConfig, options: UpOptions): ApplianceSpec[] {
  const generation = options.generation ?? 'mixed';
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 250) {
    throw new Error(`lab: --count must be 1..250, got ${options.count}`);
  }
  const unknown = (options.networked ?? []).filter(
    (name) => !/^lab-\d+$/.test(name) || Number(name.slice(4)) > options.count,
  );
  if (unknown.length > 0) throw new Error(`lab: --networked: no appliance ${unknown.join(', ')}`);
  return Array.from({ length: options.count }, (_, i) => {
    const index = i + 1;
    const name = `lab-${index}`;
    return {
      name,
      index,
      address: `${cfg.prefix}.${index}`,
      generation: generation === 'mixed' ? (index % 2 === 1 ? 'v4' : 'v7') : generation,
      state: options.state ?? 'installed',
      hostname: name,
      domain: DOMAIN,
      // Conferencing nodes are loopback addresses nobody listens on: nothing is ever proxied off-box.
      nodes: index % 2 === 1 ? ['127.0.3.10', '127.0.3.11'] : ['127.0.3.10', '127.0.3.11', '127.0.3.12'],
      turnUser: TURN_USER,
      ...(options.networked?.includes(name) ? { networked: true } : {}),
    } satisfies ApplianceSpec;
  });
}

// ---------------------------------------------------------------------------------------------
// Processes: only ever the ones this lab started, recognised by the appliance directory in their
// command line (supervise.sh DIR, unshare ... boot.sh DIR, boot.sh DIR).

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** PIDs of processes whose command line names a directory of this lab. */
export function labProcesses(cfg: LabConfig): number[] {
  const marker = `${join(cfg.labDir, 'appliances')}/`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && (cmdline(pid)?.includes(marker) ?? false));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Stop one appliance: TERM its supervisor (which halts PID 1), then make sure nothing is left. */
async function stopAppliance(cfg: LabConfig, name: string): Promise<void> {
  const dir = applianceDir(cfg, name);
  // The directory itself or a file in it (the SSH relay of a networked appliance runs
  // relay-connect.sh): never lab-10's processes for lab-1.
  const names = (line: string) => `${line} `.includes(`${dir} `) || line.includes(`${dir}/`);
  const ours = (pid: number | undefined) => pid !== undefined && (cmdline(pid)?.includes(dir) ?? false);
  const supervisor = readPid(join(dir, 'supervisor.pid'));
  if (ours(supervisor)) process.kill(supervisor!, 'SIGTERM');
  for (let i = 0; i < 60 && ours(supervisor) && alive(supervisor!); i++) await sleep(50);
  // Anything of this appliance still running (a crashed run, a supervisor that did not answer):
  // killing its PID 1 ends the whole PID namespace.
  for (const pid of labProcesses(cfg)) {
    if (names(cmdline(pid) ?? '')) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (let i = 0; i < 100 && labProcesses(cfg).some((pid) => names(cmdline(pid) ?? '')); i++) {
    await sleep(20);
  }
}

function leakedMounts(cfg: LabConfig): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountpoint) => mountpoint.startsWith(`${cfg.labDir}/`) || mountpoint === cfg.labDir);
}

/** Stop everything of this lab and remove its state: used by `down` and before every `up`. */
export async function cleanup(cfg: LabConfig = labConfig()): Promise<void> {
  const appliancesRoot = join(cfg.labDir, 'appliances');
  const names = existsSync(appliancesRoot) ? readdirSync(appliancesRoot) : [];
  await Promise.all(names.map((name) => stopAppliance(cfg, name)));
  for (const pid of labProcesses(cfg)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const mountpoint of leakedMounts(cfg).reverse()) spawnSync('umount', ['-l', mountpoint]);
  cleanupNetwork(cfg.prefix);
  stopAcme(cfg);
  rmSync(cfg.labDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Building an appliance

function randomPassword(): string {
  // 3 of 4 classes guaranteed (the appliance's policy); base64url adds '-' and '_' often enough.
  return `Lab-${randomBytes(12).toString('base64url')}7x`;
}

function ensureClientMaterial(cfg: LabConfig): {
  sudoPassword: string;
  turnPassword: string;
  publicKey: string;
} {
  mkdirSync(cfg.clientDir, { recursive: true, mode: 0o700 });
  const key = join(cfg.clientDir, 'id_ed25519');
  if (!existsSync(key)) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rpctl-lab', '-f', key]);
  }
  const secret = (file: string) => {
    const path = join(cfg.clientDir, file);
    if (!existsSync(path)) writeFileSync(path, `${randomPassword()}\n`, { mode: 0o600 });
    return readFileSync(path, 'utf8').trim();
  };
  return {
    sudoPassword: secret('sudo-password'),
    turnPassword: secret('turn-password'),
    publicKey: readFileSync(`${key}.pub`, 'utf8'),
  };
}

/** Host keys and certificate of an appliance, made once and kept across resets of that appliance. */
function ensureApplianceKeys(cfg: LabConfig, spec: ApplianceSpec): void {
  const dir = keysDir(cfg, spec.name);
  if (existsSync(join(dir, 'pexip.pem'))) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const type of ['ed25519', 'ecdsa']) {
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      type,
      '-N',
      '',
      '-C',
      `root@${spec.hostname}`,
      '-f',
      join(dir, `ssh_host_${type}_key`),
    ]);
  }
  const fqdn = files.fqdn(spec);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1095',
      '-subj',
      `/CN=${fqdn}`,
      '-addext',
      `subjectAltName=DNS:${fqdn}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  // As the guide orders it: certificate, then its private key.
  writeFileSync(
    join(dir, 'pexip.pem'),
    readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'),
    { mode: 0o600 },
  );
}

function ensureDhParams(cfg: LabConfig): string {
  const path = join(cfg.labDir, 'dhparam.pem');
  if (!existsSync(path)) {
    execFileSync(
      'openssl',
      ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'dh_param:ffdhe2048', '-out', path],
      { stdio: 'ignore' },
    );
  }
  return readFileSync(path, 'utf8');
}

function writeFile(root: string, path: string, content: string, mode = 0o644): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content, { mode });
  chmodSync(full, mode);
}

function writeSeed(
  cfg: LabConfig,
  spec: ApplianceSpec,
  client: ReturnType<typeof ensureClientMaterial>,
): void {
  const dir = applianceDir(cfg, spec.name);
  mkdirSync(dir, { recursive: true });
  const services =
    spec.state === 'fresh' ? 'ssh' : `ssh nginx ${files.turnService(spec.generation)} fail2ban`;
  writeFileSync(
    join(dir, 'appliance.env'),
    [
      `NAME=${spec.name}`,
      `ADDRESS=${spec.address}`,
      `GENERATION=${spec.generation}`,
      `STATE=${spec.state}`,
      `DOMAIN=${spec.domain}`,
      `TURN_USER=${spec.turnUser}`,
      `SERVICES="${services}"`,
      `NETWORKED=${spec.networked ? 'yes' : 'no'}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'spec.json'), `${JSON.stringify(spec, null, 2)}\n`);
  const seed = join(dir, 'seed');
  const fs = join(seed, 'fs');
  const keys = keysDir(cfg, spec.name);
  const secrets = join(seed, 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const loginPassword = spec.state === 'fresh' ? FACTORY_PASSWORD : client.sudoPassword;
  writeFile(secrets, 'pexip-login', `pexip:${loginPassword}\n`, 0o600);
  writeFile(secrets, 'turn-password', client.turnPassword, 0o600);

  writeFile(fs, 'etc/hostname', `${spec.hostname}\n`);
  writeFile(fs, 'etc/hosts', files.etcHosts(spec));
  writeFile(fs, 'etc/ssh/sshd_config', files.sshdConfig(spec));
  for (const type of ['ed25519', 'ecdsa']) {
    writeFile(
      fs,
      `etc/ssh/ssh_host_${type}_key`,
      readFileSync(join(keys, `ssh_host_${type}_key`), 'utf8'),
      0o600,
    );
    writeFile(
      fs,
      `etc/ssh/ssh_host_${type}_key.pub`,
      readFileSync(join(keys, `ssh_host_${type}_key.pub`), 'utf8'),
    );
  }
  writeFile(fs, 'home/pexip/.profile', files.profileOf(spec.generation));
  if (spec.generation === 'v4') writeFile(fs, 'etc/network/interfaces', files.networkInterfaces(spec));
  else writeFile(fs, 'etc/netplan/01-netcfg.yaml', files.netplan(spec), 0o600);

  // fail2ban ships configured but disabled, on both states.
  writeFile(fs, 'etc/fail2ban/jail.local', files.jailLocal);
  writeFile(fs, 'etc/fail2ban/filter.d/pexiprp.conf', files.pexiprpFilter);
  writeFile(fs, 'etc/fail2ban/action.d/rpctl-lab-record.conf', files.labBanAction);
  writeFile(fs, 'etc/fail2ban/jail.d/zz-rpctl-lab.local', files.labBanOverride);

  // The image's nginx files, on both states: the install wizard only writes pexapp and pexip.pem.
  writeFile(fs, 'etc/nginx/nginx.conf', files.nginxConf);
  writeFile(fs, 'etc/nginx/conf.d/logging.conf', files.nginxLoggingConf);
  writeFile(fs, 'etc/nginx/includes/pex-rewrites.conf', files.pexRewrites);
  writeFile(fs, 'etc/ssl/certs/dhparam.pem', ensureDhParams(cfg));
  writeFile(fs, 'var/www/404.html', files.errorPage('404 Not Found'));
  writeFile(fs, 'var/www/50x.html', files.errorPage('Service Unavailable'));

  if (spec.state === 'installed') {
    writeFile(fs, 'home/pexip/.ssh/authorized_keys', client.publicKey, 0o600);
    if (spec.generation === 'v7')
      writeFile(fs, 'home/pexip/.reverseproxy-config.json', files.reverseProxyConfigJson(spec), 0o600);
    writeFile(fs, 'etc/nginx/sites-available/pexapp', files.pexapp(spec));
    writeFile(fs, 'etc/nginx/ssl/pexip.pem', readFileSync(join(keys, 'pexip.pem'), 'utf8'), 0o400);
    writeFile(fs, 'etc/turnserver.conf', files.turnserverConf(spec));
  }
}

function startSupervisor(cfg: LabConfig, name: string): void {
  const dir = applianceDir(cfg, name);
  const log = openSync(join(dir, 'console.log'), 'a');
  const child = spawn('/bin/bash', [join(cfg.repoRoot, 'test', 'lab', 'supervise.sh'), dir], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  writeFileSync(join(dir, 'supervisor.pid'), `${child.pid}\n`);
  child.unref();
}

export function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Wait until an appliance has booted and its sshd (and nginx when installed) accept connections. */
export async function waitReady(
  cfg: LabConfig,
  spec: ApplianceSpec,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const dir = applianceDir(cfg, spec.name);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const ports = spec.state === 'installed' ? [22, 443] : [22];
  while (Date.now() < deadline && !options.signal?.aborted) {
    if (existsSync(join(dir, 'ready'))) {
      // a networked appliance is reached through its relay, which accepts before sshd answers
      const open = spec.networked
        ? [await sshAnswers(spec.address)]
        : await Promise.all(ports.map((port) => tcpOpen(spec.address, port)));
      if (open.every(Boolean)) return;
    }
    if (
      !existsSync(join(dir, 'init.pid')) &&
      existsSync(join(dir, 'supervisor.pid')) &&
      !alive(readPid(join(dir, 'supervisor.pid')) ?? 0)
    ) {
      break;
    }
    await sleep(100);
  }
  const console = existsSync(join(dir, 'console.log')) ? readFileSync(join(dir, 'console.log'), 'utf8') : '';
  throw new Error(
    `lab: ${spec.name} did not come up at ${spec.address}\n${console.split('\n').slice(-15).join('\n')}`,
  );
}

async function bootAppliance(
  cfg: LabConfig,
  spec: ApplianceSpec,
  client: ReturnType<typeof ensureClientMaterial>,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return;
  ensureApplianceKeys(cfg, spec);
  writeSeed(cfg, spec, client);
  if (spec.networked) {
    createApplianceNetwork(networkLab(cfg), spec);
    await startRelay(networkLab(cfg), spec);
  }
  startSupervisor(cfg, spec.name);
  await waitReady(cfg, spec, { signal });
}

/** Boot appliances; the first failure stops the others and removes everything started. */
async function bootAll(
  cfg: LabConfig,
  specs: ApplianceSpec[],
  client: ReturnType<typeof ensureClientMaterial>,
): Promise<void> {
  const abort = new AbortController();
  const limit = pLimit(Math.max(4, availableParallelism() * 4));
  const boot = async (spec: ApplianceSpec) => {
    try {
      await bootAppliance(cfg, spec, client, abort.signal);
    } catch (err) {
      abort.abort();
      throw err;
    }
  };
  try {
    await Promise.all(specs.map((spec) => limit(() => boot(spec))));
  } catch (err) {
    limit.clearQueue();
    await cleanup(cfg);
    throw err;
  }
}

function statePath(cfg: LabConfig): string {
  return join(cfg.labDir, 'lab.json');
}

export function readState(cfg: LabConfig = labConfig()): LabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(cfg), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function writeClientFiles(cfg: LabConfig, state: LabState): void {
  const knownHosts = state.appliances
    .map((spec) => {
      const keys = keysDir(cfg, spec.name);
      return ['ed25519', 'ecdsa']
        .map((type) => {
          const [algo, blob] = readFileSync(join(keys, `ssh_host_${type}_key.pub`), 'utf8')
            .trim()
            .split(/\s+/);
          return `${spec.address} ${algo} ${blob}\n`;
        })
        .join('');
    })
    .join('');
  writeFileSync(join(cfg.clientDir, 'known_hosts'), knownHosts, { mode: 0o600 });
  writeFileSync(cfg.inventoryPath, labInventory(state, relative(dirname(cfg.inventoryPath), cfg.clientDir)), {
    mode: 0o600,
  });
}

/** The lab's inventory: every appliance with the desired state it was built with. */
/** The lab's inventory; `clientDir` is where its key, known_hosts and passwords are, relative to it. */
export function labInventory(state: LabState, clientDir = '.lab'): string {
  const lines = [
    `# Written by \`npm run lab -- up\` for the lab at ${state.prefix}.N; rewritten on every up.`,
    '# yaml-language-server: $schema=./schema.json',
    'defaults:',
    '  ssh:',
    '    user: pexip',
    `    identityFile: ${clientDir}/id_ed25519`,
    `    knownHosts: ${clientDir}/known_hosts`,
    '  sudo:',
    `    password: file:${clientDir}/sudo-password`,
    `  domain: ${DOMAIN}`,
    'groups:',
    '  v4:',
    '    description: appliances of the v4 generation (ifupdown, rfc5766-turn-server)',
    '  v7:',
    '    description: appliances of the v7 generation (netplan, coturn)',
    'appliances:',
  ];
  for (const spec of state.appliances) {
    lines.push(
      `  ${spec.name}:`,
      `    host: ${spec.address}`,
      `    groups: [${spec.generation}]`,
      `    hostname: ${spec.hostname}`,
    );
    if (spec.state === 'installed') {
      lines.push('    upstreams:', '      nodes:', ...spec.nodes.map((node) => `        - ${node}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Start a lab of `count` appliances named lab-1 … lab-N, after cleaning any stale one. */
export async function up(options: UpOptions, cfg: LabConfig = labConfig()): Promise<LabState> {
  checkPrerequisites();
  const specs = specsFor(cfg, options);
  await cleanup(cfg);
  const busy = (await Promise.all(specs.map((s) => tcpOpen(s.address, 22, 200)))).flatMap((open, i) =>
    open ? [specs[i]!.address] : [],
  );
  if (busy.length > 0) throw new Error(`lab: something else already listens on ${busy.join(', ')} port 22`);
  mkdirSync(join(cfg.labDir, 'appliances'), { recursive: true, mode: 0o700 });
  const client = ensureClientMaterial(cfg);
  ensureDhParams(cfg);
  await bootAll(cfg, specs, client);
  const state: LabState = { prefix: cfg.prefix, createdAt: new Date().toISOString(), appliances: specs };
  writeFileSync(statePath(cfg), `${JSON.stringify(state, null, 2)}\n`);
  writeClientFiles(cfg, state);
  return state;
}

/** Stop every appliance and remove the lab's state and client files. */
export async function down(cfg: LabConfig = labConfig()): Promise<void> {
  await cleanup(cfg);
  rmSync(cfg.clientDir, { recursive: true, force: true });
  rmSync(cfg.inventoryPath, { force: true });
}

/**
 * Rebuild appliances from scratch (same addresses, host keys and certificate): a clean baseline.
 * `state` rebuilds them fresh (password expired, wizard pending) or installed.
 */
export async function reset(
  names: string[],
  options: { state?: ApplianceState; networked?: boolean; cfg?: LabConfig } = {},
): Promise<void> {
  const cfg = options.cfg ?? labConfig();
  const state = readState(cfg);
  if (!state) throw new Error('lab: no lab is up');
  const client = ensureClientMaterial(cfg);
  const specs = names.map((name) => {
    const index = state.appliances.findIndex((s) => s.name === name);
    if (index < 0) throw new Error(`lab: no appliance ${name}`);
    const { networked: _, ...was } = state.appliances[index]!;
    const networked = options.networked ?? state.appliances[index]!.networked ?? false;
    const spec: ApplianceSpec = {
      ...was,
      state: options.state ?? was.state,
      ...(networked ? { networked: true } : {}),
    };
    state.appliances[index] = spec;
    return spec;
  });
  await Promise.all(
    specs.map(async (spec) => {
      await stopAppliance(cfg, spec.name);
      removeApplianceNetwork(networkLab(cfg), spec);
      rmSync(applianceDir(cfg, spec.name), { recursive: true, force: true });
      await bootAppliance(cfg, spec, client);
    }),
  );
  writeFileSync(statePath(cfg), `${JSON.stringify(state, null, 2)}\n`);
  writeClientFiles(cfg, state);
}

/** Stop one appliance (as if powered off); `reset([name])` brings it back. */
export async function stop(name: string, cfg: LabConfig = labConfig()): Promise<void> {
  await stopAppliance(cfg, name);
}

export function spec(name: string, cfg: LabConfig = labConfig()): ApplianceSpec {
  const found = readState(cfg)?.appliances.find((s) => s.name === name);
  if (!found) throw new Error(`lab: no appliance ${name}`);
  return found;
}

export interface ApplianceStatus {
  name: string;
  address: string;
  generation: Generation;
  state: ApplianceState;
  running: boolean;
  initPid: number | undefined;
}

export function status(cfg: LabConfig = labConfig()): ApplianceStatus[] {
  const state = readState(cfg);
  if (!state) return [];
  return state.appliances.map((spec) => {
    const initPid = readPid(join(applianceDir(cfg, spec.name), 'init.pid'));
    const running =
      initPid !== undefined &&
      alive(initPid) &&
      (cmdline(initPid)?.includes(applianceDir(cfg, spec.name)) ?? false);
    return {
      name: spec.name,
      address: spec.address,
      generation: spec.generation,
      state: spec.state,
      running,
      initPid,
    };
  });
}

export function initPid(name: string, cfg: LabConfig = labConfig()): number {
  const pid = readPid(join(applianceDir(cfg, name), 'init.pid'));
  if (pid === undefined || !alive(pid)) throw new Error(`lab: ${name} is not running`);
  return pid;
}

/** nsenter's namespace flags for an appliance: its network namespace too when it has one. */
function enterFlags(name: string, cfg: LabConfig): string[] {
  const networked = existsSync(join(applianceDir(cfg, name), 'netns'));
  return ['--mount', '--uts', '--pid', ...(networked ? ['--net'] : [])];
}

/** Run a command as root inside an appliance (its mount, UTS, PID and any network namespaces). */
export function labExec(
  name: string,
  argv: string[],
  options: { input?: string | Buffer; cfg?: LabConfig } = {},
): SpawnSyncReturns<string> {
  const cfg = options.cfg ?? labConfig();
  const pid = initPid(name, cfg);
  return spawnSync('nsenter', ['--target', String(pid), ...enterFlags(name, cfg), '--', ...argv], {
    encoding: 'utf8',
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Start a command as root inside an appliance without waiting for it. */
export function labSpawn(name: string, argv: string[], cfg: LabConfig = labConfig()): ChildProcess {
  return spawn('nsenter', ['--target', String(initPid(name, cfg)), ...enterFlags(name, cfg), '--', ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** labExec that throws on a non-zero exit and returns stdout. */
export function labSh(
  name: string,
  command: string,
  options: { input?: string; cfg?: LabConfig } = {},
): string {
  const result = labExec(name, ['/bin/sh', '-c', command], options);
  if (result.status !== 0) {
    throw new Error(`lab: ${name}: \`${command}\` exited ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/**
 * PIDs of an appliance's nginx workers, once workers of an earlier reload have finished shutting
 * down (a graceful reload lets old workers finish their connections).
 */
export function nginxWorkers(name: string, cfg: LabConfig = labConfig()): string {
  // Settled: exactly one worker per CPU (worker_processes auto) and none shutting down.
  for (let i = 0; i < 100; i++) {
    const [cpus = '', ...lines] = labSh(name, 'nproc; ps -C nginx -o pid=,args= || true', { cfg }).split(
      '\n',
    );
    const workers = lines.filter((l) => l.includes('worker process'));
    if (!workers.some((l) => l.includes('shutting down')) && workers.length === Number(cpus)) {
      return workers
        .map((l) => l.trim().split(/\s+/)[0])
        .sort()
        .join(',');
    }
    spawnSync('sleep', ['0.05']);
  }
  throw new Error(`lab: ${name}: nginx workers still shutting down after 5 s`);
}

/** Paths of the client-side files the lab writes. */
export function clientFiles(cfg: LabConfig = labConfig()) {
  return {
    inventory: cfg.inventoryPath,
    identityFile: join(cfg.clientDir, 'id_ed25519'),
    knownHosts: join(cfg.clientDir, 'known_hosts'),
    sudoPasswordFile: join(cfg.clientDir, 'sudo-password'),
    turnPasswordFile: join(cfg.clientDir, 'turn-password'),
    sudoPassword: () => readFileSync(join(cfg.clientDir, 'sudo-password'), 'utf8').trim(),
    turnPassword: () => readFileSync(join(cfg.clientDir, 'turn-password'), 'utf8').trim(),
  };
}

export function applianceRoot(name: string, cfg: LabConfig = labConfig()): string {
  return applianceDir(cfg, name);
}

function networkLab(cfg: LabConfig) {
  return { prefix: cfg.prefix, applianceDir: (name: string) => applianceDir(cfg, name) };
}
