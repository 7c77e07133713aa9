/**
 * What the install lab tests set up and look at: inventories that install fresh appliances (a
 * known_hosts copy of their own, new passwords in files), the lab wizard's settings (the NICs an
 * appliance has, an extra question), and the appliance's state after an install.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientFiles, labSh, spec } from './lab.js';
import { type InventoryDoc, labInventoryFile, scratch } from './rpctl.js';

export const PEXIP_JSON = '/home/pexip/.reverseproxy-config.json';

export interface InstallSecrets {
  newPassword: string;
  turnPassword: string;
  files: { newPassword: string; turnPassword: string };
}

/** New passwords for this test file, in files the inventories reference. */
export function installSecrets(): InstallSecrets {
  const tag = randomBytes(3).toString('hex');
  const newPassword = `Pexip-${randomBytes(8).toString('base64url')}-7q`;
  const turnPassword = `Turn-${randomBytes(8).toString('base64url')}-3z`;
  const files = {
    newPassword: join(scratch, `new-password-${tag}`),
    turnPassword: join(scratch, `turn-password-${tag}`),
  };
  writeFileSync(files.newPassword, `${newPassword}\n`, { mode: 0o600 });
  writeFileSync(files.turnPassword, `${turnPassword}\n`, { mode: 0o600 });
  return { newPassword, turnPassword, files };
}

/** The dual-NIC appliance's external address: a loopback address of this lab's block. */
export const externalAddress = (name: string) =>
  spec(name).address.replace(/\.(\d+)$/, (_m, n) => `.${100 + Number(n)}`);
const gateway = (name: string) => spec(name).address.replace(/\.\d+$/, '.254');

export function singleNicInstall(name: string) {
  return {
    network: { address: `${spec(name).address}/24`, gateway: gateway(name) },
    dns: ['127.0.0.53'],
    managementNetworks: ['127.0.0.0/8'],
  };
}

export function dualNicInstall(name: string, internalNic = 'nic0') {
  return {
    network: {
      internal: {
        nic: internalNic,
        address: `${spec(name).address}/24`,
        routes: [{ to: '10.0.0.0/8', via: gateway(name) }],
      },
      external: {
        nic: 'nic1',
        address: externalAddress(name),
        netmask: '255.255.255.0',
        gateway: gateway(name),
      },
    },
    dns: ['127.0.0.53', '127.0.0.54'],
    managementNetworks: [{ address: '127.0.0.0', netmask: '255.0.0.0' }],
  };
}

/**
 * The lab's inventory, set up to install `installs` (appliance -> install section): pexip's new
 * password as login and sudo password, the lab's TURN user, the appliance's own nodes, and a fresh
 * copy of the lab's known_hosts (an install rewrites the entries of the hosts it installs).
 */
export function installInventory(
  secrets: InstallSecrets,
  installs: Record<string, unknown>,
  options: { edit?: (doc: InventoryDoc) => void; knownHosts?: string } = {},
): { inventory: string; knownHosts: string } {
  let knownHosts = options.knownHosts;
  if (knownHosts === undefined) {
    knownHosts = join(scratch, `known_hosts-${randomBytes(3).toString('hex')}`);
    copyFileSync(clientFiles().knownHosts, knownHosts);
  }
  const inventory = labInventoryFile((doc) => {
    doc.defaults.ssh.knownHosts = knownHosts;
    doc.defaults.ssh.password = `file:${secrets.files.newPassword}`;
    doc.defaults.sudo.password = `file:${secrets.files.newPassword}`;
    doc.defaults.turn = {
      credentials: { username: 'pexip', password: `file:${secrets.files.turnPassword}` },
    };
    for (const [name, install] of Object.entries(installs)) {
      doc.appliances[name].install = install;
      doc.appliances[name].upstreams = { nodes: spec(name).nodes };
    }
    options.edit?.(doc);
  });
  return { inventory, knownHosts };
}

/** The lab wizard's settings on an appliance (test/lab/wizard/installwizard.py). */
export function wizardSettings(name: string, settings: Record<string, unknown>): void {
  labSh(name, `mkdir -p /etc/rpctl-lab && cat > /etc/rpctl-lab/wizard.json`, {
    input: JSON.stringify(settings),
  });
}

export const twoNics = (name: string) => ({
  nics: [
    ['nic0', `02:00:00:00:${spec(name).index.toString(16).padStart(2, '0')}:00`],
    ['nic1', `02:00:00:00:${spec(name).index.toString(16).padStart(2, '0')}:01`],
  ],
});

export function cat(name: string, path: string): string {
  return labSh(name, `cat ${path}`);
}

export const exists = (name: string, path: string) =>
  labSh(name, `test -e ${path} && echo yes || echo no`).trim() === 'yes';

/** The appliance's ed25519 host key as `ssh-ed25519 BASE64`. */
export const hostKey = (name: string) =>
  cat(name, '/etc/ssh/ssh_host_ed25519_key.pub').split(' ').slice(0, 2).join(' ');

export interface InstallReport {
  hosts: {
    name: string;
    status: 'installed' | 'failed';
    durationMs: number;
    passwordChanged: boolean;
    answered: { step?: string; question: string; answer: string; usedDefault: boolean; from: string }[];
    hostKey?: { before: string[]; after: string[]; recordedIn: string; acceptedOnFlag?: boolean };
    plan?: { status: string; changes: unknown[] };
    error?: { reason: string; message: string };
    state?: string;
    transcript: string;
  }[];
  summary: { installed: number; inSync: number; changesPending: number; failed: number };
}

export const report = (stdout: string) => JSON.parse(stdout) as InstallReport;
export const readText = (path: string) => readFileSync(path, 'utf8');
