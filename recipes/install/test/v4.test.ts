/**
 * The v4 install wizard (the 002 guide): its answers from the inventory, what it cannot take
 * (refused with the reason), its screens, and telling it from the v7 wizard by its text
 * (recipes/install/v4/, wizards.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIo } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/program.js';
import { InputError } from '../../../src/errors.js';
import type { SecretRef } from '../../../src/inventory/model.js';
import { registry } from '../../../test/registry.js';
import { tempDir } from '../../../test/unit/support/helpers.js';
import { TURN_ONLY_NODE, v4SecretProblem, v4WizardAnswers } from '../v4/answers.js';
import { looksLikeV4, readV4Screen } from '../v4/screen.js';
import { InstallConversation, installAnswers } from '../wizards.js';
import { applianceToInstall, type Sections, screen as v7Screen } from './fixtures.js';

/** The 002 guide's example deployment, as an inventory gives it. */
const V4_INSTALL = {
  generation: 'v4',
  network: { address: '198.51.100.130/24', gateway: '198.51.100.129' },
  dns: ['8.8.8.8', '8.8.4.4'],
  ntp: ['0.no.pool.ntp.org', '1.no.pool.ntp.org', '2.no.pool.ntp.org'],
  managementNetworks: [{ address: '10.0.50.0', netmask: '255.255.255.0' }],
};
const v4Appliance = (sections: Sections = {}, install: Record<string, unknown> = {}) =>
  applianceToInstall({ install: { ...V4_INSTALL, ...install }, ...sections });

const SECRETS: Record<string, string> = { '/secrets/turn': 'Turn-Secret-1', '/secrets/pexip': 'Pexip-New-1' };
const secret = (ref: SecretRef) => (ref.kind === 'file' ? SECRETS[ref.path]! : 'x');

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  return undefined;
};

describe('v4WizardAnswers', () => {
  it("the guide's example: one NIC, one SSH network, DNS and NTP lists, the nodes, the TURN user", () => {
    expect(v4WizardAnswers(v4Appliance())).toEqual({
      address: '198.51.100.130',
      netmask: '255.255.255.0',
      gateway: '198.51.100.129',
      management: { network: '10.0.50.0', netmask: '255.255.255.0', from: 'install.managementNetworks[0]' },
      hostname: 'proxy',
      domain: 'example.com',
      dns: ['8.8.8.8', '8.8.4.4'],
      ntp: ['0.no.pool.ntp.org', '1.no.pool.ntp.org', '2.no.pool.ntp.org'],
      nodes: ['10.40.0.10', '10.40.0.11'],
      turnOnly: false,
      turn: { username: 'pexip', password: { kind: 'file', path: '/secrets/turn' } },
      loginPassword: { kind: 'file', path: '/secrets/pexip' },
    });
  });

  it('a management network written with its prefix and host bits is typed as network and netmask', () => {
    const answers = v4WizardAnswers(v4Appliance({}, { managementNetworks: ['10.0.50.7/24'] }));
    expect(answers.management).toMatchObject({ network: '10.0.50.0', netmask: '255.255.255.0' });
  });

  it('TURN-only (no upstreams): the node list is 169.254.0.1, as the guide says', () => {
    const answers = v4WizardAnswers(v4Appliance({ upstreams: undefined }));
    expect(answers).toMatchObject({ nodes: [TURN_ONLY_NODE], turnOnly: true, turn: { username: 'pexip' } });
  });

  it("proxy-only (no turn.credentials, or install.turn.enabled false): 'disable'", () => {
    expect(v4WizardAnswers(v4Appliance({ turn: undefined })).turn).toBe(false);
    expect(v4WizardAnswers(v4Appliance({}, { turn: { enabled: false } })).turn).toBe(false);
  });

  const refused: [string, Sections, Record<string, unknown>, string][] = [
    [
      'a second NIC at install',
      {},
      {
        network: {
          internal: { nic: 'eth0', address: '10.40.0.2/24' },
          external: { nic: 'eth1', address: '198.51.100.130/25', gateway: '198.51.100.129' },
        },
      },
      'rp1: install.network: the v4 install wizard configures one NIC: give the internal NIC (address, netmask, the LAN gateway) here and the second NIC in the network section, which the second-nic recipe applies after the reboot (rpctl apply --allow-disruptive)',
    ],
    [
      'a NIC other than eth0',
      {},
      { network: { address: '198.51.100.130/24', gateway: '198.51.100.129', nic: 'nic0' } },
      'rp1: install.network.nic: the v4 install wizard configures eth0 only, not nic0',
    ],
    [
      'two management networks',
      {},
      { managementNetworks: ['10.0.50.0/24', '10.0.60.0/24'] },
      'rp1: install.managementNetworks: the v4 install wizard takes one network allowed to SSH (step 4), not 2',
    ],
    [
      'SNMP',
      {},
      { snmp: { community: 'public' } },
      'rp1: install.snmp: the v4 install wizard has no SNMP step',
    ],
    [
      'Content-Security-Policy',
      {},
      { contentSecurityPolicy: true },
      'rp1: install.contentSecurityPolicy: the v4 install wizard has no Content-Security-Policy step (its pexapp sets none)',
    ],
    [
      'permissive TURN',
      { turn: undefined },
      { turn: { mode: 'permissive', sharedSecret: 'file:/secrets/shared' } },
      "rp1: install.turn.mode: the v4 install wizard sets TURN up with one long-term user (`username password`) or 'disable', nothing else",
    ],
    [
      'TURN on port 443',
      { upstreams: undefined },
      { turn: { port443: true } },
      "rp1: install.turn.port443: the v4 install wizard sets TURN up with one long-term user (`username password`) or 'disable', nothing else",
    ],
    [
      'no DNS servers',
      {},
      { dns: undefined },
      'rp1: install.dns: the v4 install wizard offers no default DNS servers: set them',
    ],
    [
      'no NTP servers',
      {},
      { ntp: undefined },
      'rp1: install.ntp: the v4 install wizard offers no default NTP servers: set them',
    ],
    [
      'an IPv6 NTP server',
      {},
      { ntp: ['2001:db8::123'] },
      'rp1: install.ntp: the v4 install wizard takes IPv4 addresses and names, not 2001:db8::123',
    ],
    [
      'neither a reverse proxy nor TURN',
      { upstreams: undefined, turn: undefined },
      {},
      'rp1: upstreams: the v4 install wizard needs a reverse proxy or TURN: without upstreams (TURN-only) set turn.credentials',
    ],
    [
      'an IPv6 conferencing node',
      { upstreams: { nodes: ['2001:db8::10'] } },
      {},
      'rp1: upstreams.nodes[0] 2001:db8::10:443: the install wizard takes IPv4 addresses on port 443 only; install with those and add others with rpctl apply afterwards',
    ],
  ];
  it.each(refused)('refuses %s, saying why', (_what, sections, install, message) => {
    expect(refusal(() => v4WizardAnswers(v4Appliance(sections, install)))).toBe(message);
  });

  it('a TURN password with a space cannot be typed as `username password`', () => {
    const answers = v4WizardAnswers(v4Appliance());
    expect(v4SecretProblem(answers, secret)).toBeUndefined();
    expect(v4SecretProblem(answers, () => 'two words')).toBe(
      'turn.credentials.password: the v4 install wizard reads `username password` on one line, so the password cannot contain a space',
    );
  });
});

describe('installAnswers: which wizard the inventory can answer', () => {
  it('install.generation v4: what the v4 wizard cannot take is refused before contact', () => {
    expect(refusal(() => installAnswers(v4Appliance({}, { snmp: { community: 'public' } })))).toBe(
      'rp1: install.snmp: the v4 install wizard has no SNMP step',
    );
    const answers = installAnswers(v4Appliance());
    expect(answers.declared).toBe('v4');
    expect(answers.v7).toEqual({ refused: 'rp1: install.generation is v4, not v7' });
  });

  it('undeclared: both answer sets where they can be given; the refusal kept for when its wizard shows up', () => {
    const answers = installAnswers(v4Appliance({}, { generation: undefined, snmp: { community: 'public' } }));
    expect(answers.declared).toBeUndefined();
    expect(answers.v7).toMatchObject({ hostname: 'proxy', snmp: { community: 'public' } });
    expect(answers.v4).toEqual({ refused: 'rp1: install.snmp: the v4 install wizard has no SNMP step' });
  });

  it('undeclared and neither can be answered: refused with the v7 reason', () => {
    expect(
      refusal(() =>
        installAnswers(v4Appliance({ turn: undefined, upstreams: undefined }, { generation: undefined })),
      ),
    ).toBe(
      'rp1: without upstreams (no web reverse proxy) the wizard always runs TURN: set turn.credentials or install.turn.sharedSecret',
    );
  });
});

describe('the v4 screen', () => {
  it('a prompt ends in ": "; a refusal says "Please try again."; the reboot is announced', () => {
    expect(readV4Screen('pexip\nDNS server(s), space separated: ')).toEqual({
      kind: 'question',
      prompt: 'DNS server(s), space separated',
    });
    expect(
      readV4Screen(
        '10.1.1.1\nGateway 10.1.1.1 is not reachable from 198.51.100.130/24. Please try again.\nDefault Gateway: ',
      ),
    ).toEqual({
      kind: 'invalid',
      reason: 'Gateway 10.1.1.1 is not reachable from 198.51.100.130/24',
    });
    expect(
      readV4Screen('\nWriting configuration...\nConfiguration complete. The appliance will now reboot.\n'),
    ).toEqual({
      kind: 'rebooting',
    });
    expect(
      readV4Screen('\nWriting configuration...\nConfiguration failed: turnadmin -k failed: x\n'),
    ).toEqual({
      kind: 'failed',
      reason: 'Configuration failed: turnadmin -k failed: x',
    });
    expect(readV4Screen('Writing configuration...\n')).toBeUndefined();
  });

  it('is told from the v7 wizard by its text', () => {
    expect(
      looksLikeV4(
        '\nPexip Reverse Proxy and TURN Server installation wizard\nPress Ctrl-C to abort\n\nIP address: ',
      ),
    ).toBe(true);
    expect(looksLikeV4('\nIP address: ')).toBe(true);
    expect(
      looksLikeV4(v7Screen('IP Address?', { default: '198.51.100.130', step: [1, 9, 'Configuring nic0'] })),
    ).toBe(false);
    expect(looksLikeV4('[sudo] password for pexip: ')).toBe(false);
  });
});

const BANNER = [
  'Last login: today',
  '+------------------------------------------------------------+',
  '|              Pexip Reverse Proxy/TURN Server               |',
  '+------------------------------------------------------------+',
  '[sudo] password for pexip: ',
].join('\n');
const TITLE = '\nPexip Reverse Proxy and TURN Server installation wizard\nPress Ctrl-C to abort.\n\n';

/** Each screen's turn: the text typed, a stop's reason, or done. */
function turns(c: InstallConversation, screens: string[]) {
  return screens.map((s) => {
    const turn = c.next(s);
    if (!turn) throw new Error(`no turn for ${JSON.stringify(s)}`);
    return turn.kind === 'answer' ? turn.text : turn.kind === 'stop' ? { stop: turn.reason } : 'done';
  });
}

const v4Conversation = (sections: Sections = {}, install: Record<string, unknown> = {}) =>
  new InstallConversation(installAnswers(v4Appliance(sections, install)), secret, 'rp1');

describe('InstallConversation on the v4 wizard', () => {
  it("answers the guide's ten steps: several values on a line, the nodes one per line and an empty line, `username password`", () => {
    const c = v4Conversation();
    const node = 'Enter IP of next conference node or press [ENTER] if finished: ';
    expect(
      turns(c, [
        BANNER,
        `${TITLE}IP address: `,
        '198.51.100.130\nSubnet mask: ',
        '255.255.255.0\nDefault Gateway: ',
        '198.51.100.129\nNetwork address and subnet mask of network/host allowed to access this host over SSH: ',
        '10.0.50.0 255.255.255.0\nHostname: ',
        'proxy\nDomain suffix: ',
        'example.com\nDNS server(s), space separated: ',
        '8.8.8.8 8.8.4.4\nNTP server(s), space separated: ',
        `0.no.pool.ntp.org 1.no.pool.ntp.org 2.no.pool.ntp.org\nEnter the IP address of each conference node separately, followed by [ENTER].\nPress [ENTER] on an empty line to finish entering conference nodes.\n${node}`,
        `10.40.0.10\n${node}`,
        `10.40.0.11\n${node}`,
        "\nChoose a space-separated username and password to enable the built in TURN server\nEnter 'disable' to disable the built in TURN Server\nExample: someusername somepassword\nTURN server username and password, or 'disable': ",
        'pexip Turn-Secret-1\n\nWriting configuration...\nConfiguration complete. The appliance will now reboot.\n',
      ]),
    ).toEqual([
      'Pexip-New-1',
      '198.51.100.130',
      '255.255.255.0',
      '198.51.100.129',
      '10.0.50.0 255.255.255.0',
      'proxy',
      'example.com',
      '8.8.8.8 8.8.4.4',
      '0.no.pool.ntp.org 1.no.pool.ntp.org 2.no.pool.ntp.org',
      '10.40.0.10',
      '10.40.0.11',
      '',
      'pexip Turn-Secret-1',
      'done',
    ]);
    expect(c.recognised).toBe('v4');
    expect(c.applying).toBe(true);
    // recorded for the report: the password as its reference, never its value
    expect(c.answered.at(-1)).toEqual({
      step: '10 of 10: TURN server',
      question: "TURN server username and password, or 'disable'",
      answer: 'pexip (secret from file:/secrets/turn)',
      usedDefault: false,
      from: 'turn.credentials',
    });
    expect(JSON.stringify(c.answered)).not.toContain('Turn-Secret-1');
    expect(JSON.stringify(c.answered)).not.toContain('Pexip-New-1');
  });

  const nodesAndTurn = (c: InstallConversation) =>
    turns(c, [
      BANNER,
      `${TITLE}Enter IP of next conference node or press [ENTER] if finished: `,
      'x\nEnter IP of next conference node or press [ENTER] if finished: ',
      "\nTURN server username and password, or 'disable': ",
    ]).slice(1);

  it("TURN-only: 169.254.0.1 as the only node; proxy-only: 'disable'", () => {
    expect(nodesAndTurn(v4Conversation({ upstreams: undefined }))).toEqual([
      TURN_ONLY_NODE,
      '',
      'pexip Turn-Secret-1',
    ]);
    expect(nodesAndTurn(v4Conversation({ turn: undefined }))).toEqual([
      '10.40.0.10',
      '10.40.0.11',
      'disable',
    ]);
  });

  it('a refused answer stops it, naming the question, the answer, its field and the step', () => {
    const stop = turns(v4Conversation(), [
      BANNER,
      `${TITLE}IP address: `,
      '198.51.100.130\nSubnet mask: ',
      '255.255.255.0\nDefault Gateway: ',
      '198.51.100.129\nGateway 198.51.100.129 is not reachable from 198.51.100.130/24. Please try again.\nDefault Gateway: ',
    ]).at(-1);
    expect(stop).toEqual({
      stop: 'the wizard refused the answer to "Default Gateway" (198.51.100.129, from install.network.gateway): Gateway 198.51.100.129 is not reachable from 198.51.100.130/24 (step 3 of 10, Default Gateway)',
    });
  });

  it('an unknown prompt stops it before anything is typed into it', () => {
    const [, stop] = turns(v4Conversation(), [BANNER, `${TITLE}Enable IPv6: `]);
    expect(stop).toEqual({
      stop: 'the v4 wizard asks "Enable IPv6", a question rpctl does not know; nothing was answered to it',
    });
  });
});

describe('InstallConversation: which wizard', () => {
  it('the v7 wizard, told by its header and "> " prompt, gets the v7 answers', () => {
    const c = new InstallConversation(installAnswers(applianceToInstall()), secret, 'rp1');
    expect(
      turns(c, [
        '[sudo] password for pexip: ',
        v7Screen('IP Address?', { default: '198.51.100.130', step: [1, 9, 'Configuring nic0'] }),
      ]),
    ).toEqual(['Pexip-New-1', '']);
    expect(c.recognised).toBe('v7');
  });

  it('undeclared, on a v4 wizard the inventory cannot answer: stops before typing anything, with the reason', () => {
    const c = v4Conversation({}, { generation: undefined, contentSecurityPolicy: false });
    const [, stop] = turns(c, [BANNER, `${TITLE}IP address: `]);
    expect(stop).toEqual({
      stop: 'the appliance runs the v4 install wizard, which the inventory cannot answer: install.contentSecurityPolicy: the v4 install wizard has no Content-Security-Policy step (its pexapp sets none) (install.generation: v4 checks this before connecting); nothing was answered to it',
    });
    expect(c.answered.map((a) => a.question)).toEqual(['[sudo] password']);
  });

  it('install.generation v4 on a v7 wizard: stops', () => {
    const [, stop] = turns(v4Conversation(), [
      '[sudo] password for pexip: ',
      v7Screen('IP Address?', { step: [1, 9, 'x'] }),
    ]);
    expect(stop).toEqual({
      stop: 'install.generation is v4 but the appliance runs the v7 install wizard; nothing was answered to it',
    });
  });

  it('a wizard that stops before its first question: stops, saying what it printed', () => {
    expect(turns(v4Conversation(), [BANNER, 'Traceback (most recent call last):\n  File "x"\n'])[1]).toEqual({
      stop: 'the wizard stopped: Traceback (most recent call last):',
    });
  });

  it('a login shell without a wizard, a refused sudo password: stops', () => {
    expect(turns(v4Conversation(), ['Last login: today\npexip@proxy:~$ '])).toEqual([
      {
        stop: 'the login shell started no install wizard: a shell prompt instead (has the wizard run already?)',
      },
    ]);
    expect(turns(v4Conversation(), [BANNER, 'Sorry, try again.\n[sudo] password for pexip: '])[1]).toEqual({
      stop: 'sudo refused the password (file:/secrets/pexip): Sorry, try again.',
    });
  });
});

describe('rpctl install with install.generation v4: exit 3, nothing contacted', () => {
  async function install(installLines: string[], args: string[] = [], turnPassword = 'Turn-Secret-1') {
    const dir = tempDir();
    writeFileSync(join(dir, 'new'), 'Pexip-New-1\n', { mode: 0o600 });
    writeFileSync(join(dir, 'turn'), `${turnPassword}\n`, { mode: 0o600 });
    const lines = [
      'defaults: { sudo: { password: file:new }, domain: example.com }',
      'appliances:',
      '  rp1:',
      '    host: 192.0.2.1',
      '    hostname: proxy',
      '    ssh: { port: 9, connectTimeout: 1, knownHosts: known_hosts }',
      '    upstreams: { nodes: [10.40.0.10] }',
      '    turn: { credentials: { username: pexip, password: file:turn } }',
      '    install:',
      '      generation: v4',
      '      network: { address: 198.51.100.130/24, gateway: 198.51.100.129 }',
      '      managementNetworks: [10.0.50.0/24]',
      '      dns: [8.8.8.8]',
      '      ntp: [0.no.pool.ntp.org]',
      ...installLines.map((l) => `      ${l}`),
    ];
    writeFileSync(join(dir, 'inv.yaml'), `${lines.join('\n')}\n`);
    const buffers = bufferIo({
      env: { NO_COLOR: '1', HOME: '/nonexistent', RPCTL_STATE_DIR: join(dir, 'state') },
    });
    const code = await run(
      ['install', '-i', join(dir, 'inv.yaml'), '--limit', 'rp1', ...args],
      buffers.io,
      registry,
    );
    return { code, stdout: buffers.stdout(), stderr: buffers.stderr() };
  }

  it.each([
    [
      ['snmp: { community: public }'],
      [],
      'Turn-Secret-1',
      'rpctl: rp1: install.snmp: the v4 install wizard has no SNMP step\n',
    ],
    [
      [],
      ['--rerun', '--yes'],
      'Turn-Secret-1',
      'rpctl: rp1: install --rerun: the v4 wizard is never rerun (install.generation is v4); reset the appliance, then install\n',
    ],
    [
      [],
      [],
      'Turn Secret 1',
      'rpctl: rp1: turn.credentials.password: the v4 install wizard reads `username password` on one line, so the password cannot contain a space\n',
    ],
  ])('%j %j', async (installLines, args, turnPassword, message) => {
    expect(await install(installLines, args, turnPassword)).toEqual({ code: 3, stdout: '', stderr: message });
  });
});
