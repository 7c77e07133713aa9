/**
 * rpctl install against the lab's v4 install wizard (issue 21, the 002 guide), sharing the lab's
 * appliances and running installs in parallel: a fresh v4 and a fresh v7 appliance in one run,
 * each wizard told by its text, where a third (v4) install meets a gateway the wizard refuses; then
 * the guide's TURN-only and proxy-only v4 installs in one run; and the passwords nowhere. The
 * appliances are rebuilt as installed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as files from './files.js';
import {
  cat,
  exists,
  installInventory,
  installSecrets,
  readText,
  report,
  singleNicInstall,
  wizardSettings,
} from './install-harness.js';
import { FACTORY_PASSWORD, labExec, labSh, readState, reset, spec } from './lab.js';
import { EXTERNAL_GATEWAY, INTERNAL_ROUTER, labNics, MANAGEMENT_NETWORK } from './network-addresses.js';
import { rpctl, scratch, stateFiles } from './rpctl.js';
import { allocate, spawnRpctl } from './turn-probe.js';

const names = (generation: string) =>
  readState()!
    .appliances.filter((a) => a.generation === generation)
    .map((a) => a.name);
const [v4, refusedV4] = names('v4') as [string, string];
const [v7] = names('v7') as [string];
const secrets = installSecrets();
/** Everything rpctl printed or wrote, for the secrets grep at the end. */
const seen: string[] = [];
const localCommandLines = new Set<string>();

/** The v4 wizard has no defaults: DNS and NTP are always given. */
const v4Install = (name: string, extra: Record<string, unknown> = {}) => ({
  ...singleNicInstall(name),
  ntp: ['0.pexip.pool.ntp.org', '1.pexip.pool.ntp.org'],
  ...extra,
});

async function fresh(list: string[], networked = false) {
  await reset(list, { state: 'fresh', networked });
  for (const name of list) wizardSettings(name, { rebootDelaySeconds: 1 });
}

async function install(inventory: string, limit: string) {
  const result = await rpctl(['install', '-i', inventory, '--limit', limit, '--format', 'json']);
  seen.push(result.stdout, result.stderr);
  return result;
}

function transcriptOf(host: { transcript: string }): string {
  const text = readText(host.transcript);
  seen.push(text);
  return text;
}

const turnRunning = (name: string) => labExec(name, ['pgrep', '-x', 'turnserver']).status === 0;
/** /etc/network/interfaces without the wizard's "Written at" time. */
const interfacesFile = (name: string) =>
  cat(name, '/etc/network/interfaces').replace(/Written at .* UTC/, 'Written at T');

beforeAll(async () => {
  await fresh([v4, v7, refusedV4]);
});
afterAll(async () => {
  await reset([v4, v7, refusedV4], { state: 'installed', networked: false });
}, 300_000);

describe('rpctl install on v4 appliances', () => {
  it('install.generation v4 with what the v4 wizard cannot take: exit 3, no appliance contacted', async () => {
    const { inventory } = installInventory(secrets, {
      [v4]: v4Install(v4, { generation: 'v4', managementNetworks: ['127.0.0.0/8', '10.0.50.0/24'] }),
    });
    const before = labSh(v4, 'grep -c sshd /var/log/auth.log || true');
    const result = await install(inventory, v4);
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toBe(
      `rpctl: ${v4}: install.managementNetworks: the v4 install wizard takes one network allowed to SSH (step 4), not 2\n`,
    );
    expect(labSh(v4, 'grep -c sshd /var/log/auth.log || true')).toBe(before);
  });

  it('a fresh v4 and a fresh v7 appliance in one run, each wizard told by its text; in the same run a gateway the v4 wizard refuses stops a third install', async () => {
    // 127.0.99.254 is a valid address (rpctl's checks pass) outside the appliance's /24: unreachable
    const badGateway = { network: { address: `${spec(refusedV4).address}/24`, gateway: '127.0.99.254' } };
    const { inventory } = installInventory(secrets, {
      [v4]: v4Install(v4),
      [v7]: singleNicInstall(v7),
      [refusedV4]: v4Install(refusedV4, badGateway),
    });
    const run = await spawnRpctl(
      ['install', '-i', inventory, '--limit', `${v4},${v7},${refusedV4}`, '--format', 'json'],
      { RPCTL_STATE_DIR: `${scratch}/state` },
    );
    seen.push(run.stdout, run.stderr);
    for (const line of run.commandLines) localCommandLines.add(line);

    // exit 1 (one failed); the two others installed and in sync, the v4 one through the guide's ten steps
    expect(run.code, run.stderr).toBe(1);
    const { hosts, summary } = report(run.stdout);
    expect(summary).toEqual({ installed: 2, inSync: 2, changesPending: 0, failed: 1 });
    console.log(
      `install, v4 + v7 + refused v4 in one run: ${(run.ms / 1000).toFixed(1)} s wall; ${hosts.map((h) => `${h.name} ${(h.durationMs / 1000).toFixed(1)} s`).join(', ')} (the lab wizards pause 1 s before rebooting)`,
    );
    const v4Host = hosts.find((h) => h.name === v4)!;
    expect(run.stderr).toContain(`${v4}: v4 wizard done`);
    expect(run.stderr).toContain(`${v7}: v7 wizard done`);
    expect(v4Host.answered.map((a) => a.question)).toContain(
      'Network address and subnet mask of network/host allowed to access this host over SSH',
    );
    expect(
      v4Host.answered.filter((a) => a.step === '9 of 10: Conference nodes').map((a) => a.answer),
    ).toEqual([...spec(v4).nodes, '[ENTER]']);
    const v4Transcript = transcriptOf(v4Host);
    expect(v4Transcript).toContain('|              Pexip Reverse Proxy/TURN Server               |\n');
    expect(v4Transcript).toContain(
      '\nNetwork address and subnet mask of network/host allowed to access this host over SSH: 127.0.0.0 255.0.0.0\n',
    );
    expect(v4Transcript).toContain('\nDNS server(s), space separated: 127.0.0.53\n');
    expect(v4Transcript).toContain("\nTURN server username and password, or 'disable': pexip [REDACTED]\n");
    expect(v4Transcript).toContain('\nConfiguration complete. The appliance will now reboot.\n');
    expect(transcriptOf(hosts.find((h) => h.name === v7)!)).toMatch(
      /\nTURN password \(will be displayed onscreen\)\?\n> \[REDACTED\]\n/,
    );
    const plan = await rpctl(['plan', '-i', inventory, '--limit', `${v4},${v7}`, '--format', 'json']);
    seen.push(plan.stdout, plan.stderr);
    expect(plan.code, plan.stderr).toBe(0);
    // the v4 appliance's files as the lab's installed v4 appliances have them; its TURN user allocates
    const lab = spec(v4);
    expect(interfacesFile(v4)).toBe(
      files.networkInterfaces(lab).replace(/Written at .* UTC/, 'Written at T'),
    );
    expect(cat(v4, '/etc/turnserver.conf')).toBe(files.turnserverConf(lab));
    expect(cat(v4, '/etc/hosts')).toBe(files.etcHosts(lab));
    expect(cat(v4, '/home/pexip/iptables.rules')).toContain(
      `--source 127.0.0.0/8 --destination ${lab.address}`,
    );
    expect(await allocate(v4, secrets.turnPassword)).toMatchObject({ outcome: 'success' });

    // the refused gateway: failed, the state said, and true
    const host = hosts.find((h) => h.name === refusedV4);
    expect(host!.error?.message).toBe(
      `${refusedV4}: the wizard refused the answer to "Default Gateway" (127.0.99.254, from install.network.gateway): Gateway 127.0.99.254 is not reachable from ${spec(refusedV4).address}/24 (step 3 of 10, Default Gateway)`,
    );
    expect(host!.state).toBe(
      "the wizard was interrupted before it saved anything: pexip's password is now the new one; nothing is configured and the wizard starts again at the next login",
    );
    expect(transcriptOf(host!)).toContain(
      'Please try again.\nDefault Gateway: ^C\nAborted: nothing was saved or applied.',
    );
    expect(exists(refusedV4, '/etc/nginx/sites-available/pexapp')).toBe(false);
    expect(cat(refusedV4, '/etc/network/interfaces')).toBe(files.networkInterfaces(spec(refusedV4)));
    expect(
      labSh(refusedV4, "pgrep -f 'python3 /run/[.]lab-tools/wizard/installwizard.py' || true").trim(),
    ).toBe('');
    expect(labSh(refusedV4, 'chage -l pexip')).not.toMatch(/password must be changed/);
  });

  it("the guide's TURN-only (node 169.254.0.1) and proxy-only ('disable') v4 installs, in one run", async () => {
    // the refused appliance goes on from where it stopped (its password is already the new one)
    const turnOnly = refusedV4;
    const proxyOnly = v4;
    await fresh([proxyOnly]);
    const { inventory, knownHosts } = installInventory(
      secrets,
      {
        [turnOnly]: v4Install(turnOnly, { generation: 'v4' }),
        [proxyOnly]: v4Install(proxyOnly, { generation: 'v4' }),
      },
      {
        edit: (doc) => {
          doc.appliances[turnOnly].turn = doc.defaults.turn;
          delete doc.defaults.turn; // proxy-only: no TURN credentials
          delete doc.appliances[turnOnly].upstreams; // TURN-only: no reverse proxy nodes
        },
      },
    );
    const result = await install(inventory, `${turnOnly},${proxyOnly}`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const { hosts } = report(result.stdout);
    const answered = (name: string) => hosts.find((h) => h.name === name)!.answered;
    expect(hosts.find((h) => h.name === turnOnly)).toMatchObject({
      passwordChanged: false,
      plan: { status: 'in-sync' },
    });
    expect(hosts.find((h) => h.name === proxyOnly)).toMatchObject({
      passwordChanged: true,
      plan: { status: 'in-sync' },
    });
    for (const host of hosts) transcriptOf(host);

    expect(
      answered(turnOnly)
        .filter((a) => a.step?.endsWith('Conference nodes'))
        .map((a) => a.answer),
    ).toEqual(['169.254.0.1', '[ENTER]']);
    expect(cat(turnOnly, '/etc/nginx/sites-available/pexapp')).toContain(
      '    server 169.254.0.1:443 weight=1 max_fails=0;\n',
    );
    expect(await allocate(turnOnly, secrets.turnPassword)).toMatchObject({ outcome: 'success' });

    expect(answered(proxyOnly).at(-1)).toMatchObject({
      answer: 'disable',
      from: 'no turn.credentials (proxy only)',
    });
    expect(cat(proxyOnly, '/etc/default/rfc5766-turn-server')).toBe('TURNSERVER_ENABLED=0\n');
    expect(turnRunning(proxyOnly)).toBe(false);
    expect(cat(proxyOnly, '/etc/nginx/sites-available/pexapp')).toContain(
      `    server ${spec(proxyOnly).nodes[0]}:443 weight=1 max_fails=0;\n`,
    );
    expect(labExec(proxyOnly, ['service', 'nginx', 'status']).status).toBe(0);

    // a v4 wizard is never rerun: --rerun with install.generation v4 is refused before contact;
    // without it, an installed v4 appliance is found and refused, nothing changed
    const rerun = await rpctl(['install', '-i', inventory, '--limit', proxyOnly, '--rerun', '--yes']);
    seen.push(rerun.stdout, rerun.stderr);
    expect(rerun).toMatchObject({
      code: 3,
      stderr: `rpctl: ${proxyOnly}: install --rerun: the v4 wizard is never rerun (install.generation is v4); reset the appliance, then install\n`,
    });
    const undeclared = installInventory(secrets, { [proxyOnly]: v4Install(proxyOnly) }, { knownHosts });
    const again = await install(undeclared.inventory, proxyOnly);
    expect(again.code).toBe(1);
    expect(report(again.stdout).hosts[0]).toMatchObject({
      error: {
        reason: 'already-installed',
        message: `${proxyOnly}: the v4 wizard has already run (pexapp exists); it is never rerun: reset the appliance (reinstall it or restore the snapshot taken after deploying the OVA), then install`,
      },
      state: "pexip's password was already the new one; nothing else was changed",
    });
  });

  it("two NICs: the v4 wizard configures the internal one, the second-nic recipe adds the external one after the reboot (the guide's Appendix 2)", async () => {
    await fresh([v4], true);
    const nics = labNics(spec(v4));
    const { inventory } = installInventory(
      secrets,
      {
        [v4]: {
          generation: 'v4',
          network: { address: `${nics.internalAddress}/24`, gateway: INTERNAL_ROUTER },
          dns: ['198.51.100.53'],
          ntp: ['0.pexip.pool.ntp.org'],
          managementNetworks: [MANAGEMENT_NETWORK],
        },
      },
      {
        edit: (doc) => {
          doc.appliances[v4].network = {
            internal: { address: nics.internalAddress, netmask: '255.255.255.0' },
            external: {
              address: nics.externalAddress,
              netmask: '255.255.255.128',
              gateway: EXTERNAL_GATEWAY,
              dns: ['198.51.100.53'],
            },
            routes: [{ to: MANAGEMENT_NETWORK, via: INTERNAL_ROUTER }],
          };
        },
      },
    );
    const installed = await install(inventory, v4);
    // installed and reachable on the internal NIC; the second NIC is the one change left (exit 2)
    expect(installed.code, installed.stdout + installed.stderr).toBe(2);
    const [host] = report(installed.stdout).hosts;
    transcriptOf(host!);
    expect(host).toMatchObject({ status: 'installed', plan: { status: 'changes-pending' } });
    expect(new Set(host!.plan!.changes.map((c) => (c as { recipe: string }).recipe))).toEqual(
      new Set(['second-nic']),
    );
    expect(cat(v4, '/etc/network/interfaces')).toContain(
      `iface eth0 inet static\n  address ${nics.internalAddress}\n`,
    );

    const applied = await rpctl([
      'apply',
      '-i',
      inventory,
      '--limit',
      v4,
      '--yes',
      '--allow-disruptive',
      '--confirm-timeout',
      '10',
    ]);
    seen.push(applied.stdout, applied.stderr);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(cat(v4, '/etc/network/interfaces')).toContain(
      `iface eth1 inet static\n   address ${nics.externalAddress}\n`,
    );
    expect(cat(v4, '/etc/turnserver.conf')).toContain(`relay-ip=${nics.externalAddress}\n`);
    const plan = await rpctl(['plan', '-i', inventory, '--limit', v4]);
    seen.push(plan.stdout, plan.stderr);
    expect(plan.code, plan.stdout).toBe(0);
  });

  it('never shows a password: output, transcripts, state files, local command lines', () => {
    const written = [...stateFiles(), ...stateFiles(`${scratch}/state`)].map(readText);
    expect(written.length).toBeGreaterThanOrEqual(4);
    const everything = [...seen, ...written];
    expect(everything.join('\n')).toContain('[REDACTED]');
    for (const password of [FACTORY_PASSWORD, secrets.newPassword, secrets.turnPassword]) {
      for (const text of everything) expect(text.includes(password), password).toBe(false);
      expect([...localCommandLines].filter((line) => line.includes(password))).toEqual([]);
    }
    expect([...localCommandLines].some((line) => line.includes('install'))).toBe(true);
  });
});
