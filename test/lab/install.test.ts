/**
 * rpctl install against the lab's install wizard (issue 10): fresh v7 appliances (password
 * expired, wizard started from ~/.profile) installed unattended in parallel, one with one NIC and
 * one with two; a rerun; a value the wizard refuses and a question rpctl does not know; and the
 * passwords nowhere. The appliances are rebuilt as installed at the end.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as files from './files.js';
import {
  cat,
  dualNicInstall,
  exists,
  externalAddress,
  hostKey,
  installInventory,
  installSecrets,
  PEXIP_JSON,
  readText,
  report,
  singleNicInstall,
  twoNics,
  wizardSettings,
} from './install-harness.js';
import { FACTORY_PASSWORD, labExec, labSh, readState, reset, spec } from './lab.js';
import { rpctl, scratch, stateFiles } from './rpctl.js';
import { allocate, spawnRpctl } from './turn-probe.js';

const v7 = readState()!
  .appliances.filter((a) => a.generation === 'v7')
  .map((a) => a.name);
const [single, dual] = v7 as [string, string];
const secrets = installSecrets();
/** Everything rpctl printed or wrote, for the secrets grep at the end. */
const seen: string[] = [];
const localCommandLines = new Set<string>();
/** The known_hosts the first install recorded the regenerated host keys in. */
let knownHostsAfterInstall: string;

async function freshAppliances(names: string[], settings: Record<string, Record<string, unknown>> = {}) {
  await reset(names, { state: 'fresh' });
  for (const name of names) wizardSettings(name, settings[name] ?? {});
}

async function install(args: string[]) {
  const result = await rpctl(['install', ...args, '--format', 'json']);
  seen.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  await freshAppliances([single, dual], { [dual]: twoNics(dual) });
});
afterAll(async () => {
  await reset([single, dual], { state: 'installed' });
}, 300_000);

describe('rpctl install', () => {
  it('a new password the appliance would refuse: exit 3 before any appliance is contacted', async () => {
    const weak = join(scratch, 'weak-password');
    writeFileSync(weak, 'pexipnew1\n', { mode: 0o600 }); // 2 of the 4 character classes
    const { inventory } = installInventory(
      secrets,
      { [single]: singleNicInstall(single), [dual]: dualNicInstall(dual) },
      {
        edit: (doc) => {
          for (const name of [single, dual]) doc.appliances[name].install.newPassword = `file:${weak}`;
        },
      },
    );
    const sshdLines = (name: string) => labSh(name, 'grep -c sshd /var/log/auth.log || true').trim();
    const before = [single, dual].map(sshdLines);
    const result = await install(['-i', inventory, '--limit', `${single},${dual}`]);
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toContain(
      `${single}: the new password (file:${weak}) does not meet the appliance's policy: it has 2 of the 4 character classes`,
    );
    expect([single, dual].map(sshdLines)).toEqual(before); // sshd saw no connection at all
    expect(labSh(single, 'chage -l pexip')).toMatch(/Last password change\s*:\s*password must be changed/);
  });

  it('installs a fresh single-NIC and a fresh dual-NIC appliance unattended, in parallel; plan then reports 0 changes', async () => {
    const { inventory, knownHosts } = installInventory(
      secrets,
      { [single]: singleNicInstall(single), [dual]: dualNicInstall(dual) },
      { edit: (doc) => (doc.appliances[dual].fail2ban = { enabled: true }) },
    );
    knownHostsAfterInstall = knownHosts;
    const keysBefore = [single, dual].map(hostKey);
    const run = await spawnRpctl(
      ['install', '-i', inventory, '--limit', `${single},${dual}`, '--format', 'json'],
      {
        RPCTL_STATE_DIR: `${scratch}/state`,
      },
    );
    seen.push(run.stdout, run.stderr);
    for (const line of run.commandLines) localCommandLines.add(line);
    expect(run.code, run.stderr).toBe(0);
    const { hosts, summary } = report(run.stdout);
    expect(summary).toEqual({ installed: 2, inSync: 2, changesPending: 0, failed: 0 });
    for (const host of hosts) {
      expect(host).toMatchObject({
        status: 'installed',
        passwordChanged: true,
        plan: { status: 'in-sync', changes: [] },
      });
      // the wizard regenerated the host keys; the new ones replaced the old in this known_hosts
      expect(host.hostKey?.recordedIn).toBe(knownHosts);
      expect(readText(knownHosts)).toContain(`${spec(host.name).address} ${hostKey(host.name)}`);
      // the transcript: the TURN password the wizard echoes is redacted
      const transcript = readText(host.transcript);
      seen.push(transcript);
      expect(transcript).toMatch(/\nTURN password \(will be displayed onscreen\)\?\n> \[REDACTED\]\n/);
      expect(transcript).toMatch(/\nRebooting\.\n/);
    }
    expect([single, dual].map(hostKey)).not.toEqual(keysBefore);
    const questions = (name: string) => hosts.find((h) => h.name === name)!.answered.map((a) => a.question);
    expect(questions(dual)).toContain('Which is the internal-facing network interface? (nic0/nic1)');
    expect(questions(dual)).toContain('Add another custom network route for nic0? (Yes/No)');
    expect(questions(single)).not.toContain('Do you want to configure Dual NIC? (Yes/No)');
    // in parallel: the run took less than the two installs one after the other would
    expect(run.ms).toBeLessThan(hosts.reduce((sum, h) => sum + h.durationMs, 0));
    console.log(
      `install, 2 appliances in parallel: ${(run.ms / 1000).toFixed(1)} s wall; per appliance ${hosts.map((h) => `${h.name} ${(h.durationMs / 1000).toFixed(1)} s`).join(', ')} (the wizard waits 5 s before its reboot)`,
    );

    // install and the recipes agree: the same inventory plans 0 changes
    const plan = await rpctl(['plan', '-i', inventory, '--limit', `${single},${dual}`, '--format', 'json']);
    seen.push(plan.stdout, plan.stderr);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).hosts.map((h: { status: string }) => h.status)).toEqual([
      'in-sync',
      'in-sync',
    ]);

    // the files a real wizard writes, in the shapes the lab's installed appliances have
    const lab = spec(single);
    expect(cat(single, '/etc/nginx/sites-available/pexapp')).toBe(files.pexapp(lab));
    expect(cat(single, '/etc/turnserver.conf')).toBe(files.turnserverConf(lab));
    expect(cat(single, '/etc/hosts')).toBe(files.etcHosts(lab));
    expect(cat(single, '/etc/netplan/01-netcfg.yaml')).toBe(files.netplan(lab));
    expect(JSON.parse(cat(single, PEXIP_JSON))).toMatchObject({
      hostname: lab.hostname,
      conferencenodes: lab.nodes,
      turnserver: { username: 'pexip' },
    });
    expect(cat(single, PEXIP_JSON)).not.toContain(secrets.turnPassword);
    expect(cat(dual, '/etc/netplan/01-netcfg.yaml')).toMatch(
      /nic0:[\s\S]*- to: 10\.0\.0\.0\/8\n {8}via: [\d.]+\n {4}nic1:[\s\S]*- to: default/,
    );
    expect(cat(dual, '/etc/turnserver.conf')).toContain(`relay-ip=${externalAddress(dual)}\n`);
    expect(cat(dual, '/home/pexip/iptables.rules')).toContain('--source 127.0.0.0/8 --destination');
    // services as the answers say: TURN relays with the TURN password, fail2ban runs on the dual one
    expect(await allocate(single, secrets.turnPassword)).toMatchObject({ outcome: 'success' });
    expect(labExec(dual, ['service', 'fail2ban', 'status']).status).toBe(0);
    expect(labExec(single, ['service', 'fail2ban', 'status']).status).not.toBe(0);
  });

  it('a rerun keeps the saved answers where the inventory agrees, and changes the others; it waits for the real reboot', async () => {
    const changed = { ...singleNicInstall(single), dns: ['127.0.0.53', '127.0.0.54'] };
    const { inventory } = installInventory(
      secrets,
      { [single]: changed },
      { knownHosts: knownHostsAfterInstall },
    );
    const pem = labSh(single, 'sha256sum /etc/nginx/ssl/pexip.pem');
    const key = hostKey(single);
    // The reboot lags behind the wizard's end (as systemd's): its session ends while the appliance
    // is still up on the old boot, which rpctl must not take for the rebooted one.
    wizardSettings(single, { rebootLagSeconds: 3 });
    const startedAt = Math.floor(Date.now() / 1000);
    const result = await install(['-i', inventory, '--limit', single, '--rerun', '--yes']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // when rpctl has planned and returned, the appliance has rebooted (it wrote `ready` as it booted)
    expect(Number(labSh(single, 'cat /run/.lab-dir/ready'))).toBeGreaterThanOrEqual(startedAt);
    const [host] = report(result.stdout).hosts;
    const byQuestion = new Map(host!.answered.map((a) => [a.question, a]));
    for (const question of [
      'IP Address?',
      'Hostname?',
      'Domain?',
      'TURN username?',
      'Use these default IP Address of Signaling Conferencing Nodes? (Yes/No)',
      'Use these default IPTables rules for SSH access? (Yes/No)',
    ])
      expect(byQuestion.get(question), question).toMatchObject({ answer: '[ENTER]', usedDefault: true });
    expect(byQuestion.get('Use these default DNS Servers? (Yes/No)')).toMatchObject({
      answer: 'no',
      from: 'install.dns',
    });
    expect(byQuestion.get('DNS Server 2?')).toMatchObject({ answer: '127.0.0.54' });
    // certificates are kept unless the inventory says otherwise: same pexip.pem, same host key
    expect(byQuestion.get('Do you want to regenerate a new SSL certificate? (Yes/No)')).toMatchObject({
      answer: 'no',
    });
    expect(labSh(single, 'sha256sum /etc/nginx/ssl/pexip.pem')).toBe(pem);
    expect(hostKey(single)).toBe(key);
    expect(JSON.parse(cat(single, PEXIP_JSON)).dns).toEqual(['127.0.0.53', '127.0.0.54']);
    expect(report(result.stdout).hosts[0]!.plan?.status).toBe('in-sync');
  });

  it('a value the wizard refuses: exit 1, the wizard interrupted before saving, the state said and true', async () => {
    await freshAppliances([dual], { [dual]: twoNics(dual) });
    const { inventory } = installInventory(secrets, { [dual]: dualNicInstall(dual, 'nic7') });
    const result = await install(['-i', inventory, '--limit', dual]);
    expect(result.code).toBe(1);
    const [host] = report(result.stdout).hosts;
    expect(host!.error?.message).toBe(
      `${dual}: the wizard refused the answer to "Which is the internal-facing network interface? (nic0/nic1)" (nic7, from install.network.internal.nic): Invalid: Not a valid network interface (step 1 of 9, NIC Configuration)`,
    );
    expect(host!.state).toBe(
      "the wizard was interrupted before it saved anything: pexip's password is now the new one; nothing is configured and the wizard starts again at the next login",
    );
    const transcript = readText(host!.transcript);
    seen.push(transcript);
    expect(transcript).toContain('Invalid: Not a valid network interface');
    // what the state says: nothing saved or applied, no wizard left running, the new password works
    expect(exists(dual, PEXIP_JSON)).toBe(false);
    expect(exists(dual, '/etc/nginx/sites-available/pexapp')).toBe(false);
    expect(labSh(dual, "pgrep -f 'python3 /run/[.]lab-tools/wizard/installwizard.py' || true").trim()).toBe(
      '',
    );
    expect(labSh(dual, 'chage -l pexip')).not.toMatch(/password must be changed/);

    // fixed, the same install goes on from there (the password is already the new one)
    const fixed = installInventory(secrets, { [dual]: dualNicInstall(dual) });
    const again = await install(['-i', fixed.inventory, '--limit', dual]);
    expect(again.code, again.stdout).toBe(0);
    expect(report(again.stdout).hosts[0]).toMatchObject({
      passwordChanged: false,
      plan: { status: 'in-sync' },
    });
  });

  it('a question rpctl does not know: exit 1, nothing answered to it, nothing saved', async () => {
    await freshAppliances([single], { [single]: { extraQuestion: 'Enable IPv6 on nic0?' } });
    const { inventory } = installInventory(secrets, { [single]: singleNicInstall(single) });
    const result = await install(['-i', inventory, '--limit', single]);
    expect(result.code).toBe(1);
    const [host] = report(result.stdout).hosts;
    expect(host!.error?.message).toBe(
      `${single}: the wizard asks "Enable IPv6 on nic0? (Yes/No)", a question rpctl does not know; nothing was answered to it (step 5 of 10, Additional Settings)`,
    );
    expect(host!.state).toMatch(
      /^the wizard was interrupted before it saved anything: pexip's password is now the new one/,
    );
    const transcript = readText(host!.transcript);
    seen.push(transcript);
    expect(transcript).toMatch(
      /Enable IPv6 on nic0\? \(Yes\/No\)\nPress \[ENTER\] to use the default value: No\n> \^C\nAborted: nothing was saved or applied\./,
    );
    expect(exists(single, PEXIP_JSON)).toBe(false);
  });

  it('host keys made only as the appliance boots: refused after the reboot unless --accept-regenerated-host-key', async () => {
    // The wizard removes the keys and the appliance makes new ones at boot: rpctl cannot read them first.
    await freshAppliances([single], { [single]: { hostKeysAtBoot: true } });
    const first = installInventory(secrets, { [single]: singleNicInstall(single) });
    const knownBefore = readText(first.knownHosts);
    const refused = await install(['-i', first.inventory, '--limit', single]);
    expect(refused.code, refused.stderr).toBe(1);
    const [host] = report(refused.stdout).hosts;
    expect(host!.error?.reason).toBe('host-key-mismatch');
    expect(host!.error?.message).toContain(
      'the keys the wizard generated could not be read before the reboot. Check the offered key',
    );
    expect(host!.state).toBe(
      'the wizard saved and applied the configuration and rebooted the appliance; rpctl did not log in again, and known_hosts still has the old key',
    );
    expect(readText(first.knownHosts)).toBe(knownBefore);
    expect(exists(single, PEXIP_JSON)).toBe(true); // as the state says: installed

    // With the flag (after checking the key on the console), the offered key replaces the old one.
    await freshAppliances([single], { [single]: { hostKeysAtBoot: true } });
    const second = installInventory(secrets, { [single]: singleNicInstall(single) });
    const oldLines = readText(second.knownHosts)
      .split('\n')
      .filter((line) => line.startsWith(`${spec(single).address} `));
    expect(oldLines.length).toBeGreaterThan(0);
    const accepted = await install([
      '-i',
      second.inventory,
      '--limit',
      single,
      '--accept-regenerated-host-key',
    ]);
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0);
    const [done] = report(accepted.stdout).hosts;
    expect(done).toMatchObject({
      status: 'installed',
      hostKey: { acceptedOnFlag: true, recordedIn: second.knownHosts },
      plan: { status: 'in-sync' },
    });
    expect(done!.hostKey!.before.length).toBeGreaterThan(0);
    const known = readText(second.knownHosts);
    expect(known).toContain(`${spec(single).address} ${hostKey(single)}`);
    for (const line of oldLines) expect(known).not.toContain(line);
    expect(accepted.stderr).toContain(`${single}: --accept-regenerated-host-key: replaced `);
  });

  it('never shows a password: output, transcripts, state files, local command lines', () => {
    const written = [...stateFiles(), ...stateFiles(`${scratch}/state`)].map(readText);
    expect(written.length).toBeGreaterThanOrEqual(4);
    const everything = [...seen, ...written];
    expect(everything.join('\n')).toContain('[REDACTED]'); // the TURN password, echoed by the wizard
    for (const password of [FACTORY_PASSWORD, secrets.newPassword, secrets.turnPassword]) {
      for (const text of everything) expect(text.includes(password), password).toBe(false);
      expect([...localCommandLines].filter((line) => line.includes(password))).toEqual([]);
    }
    expect([...localCommandLines].some((line) => line.includes('install'))).toBe(true); // the watch saw rpctl
  });
});
