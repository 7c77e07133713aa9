/**
 * The install wizard conversation (recipes/install/wizard.ts, recipes/install/questions.ts): each question
 * recognised by its text and answered from the inventory; defaults kept where they agree; a stop,
 * never a guess, for anything else.
 */
import { describe, expect, it } from 'vitest';
import type { SecretRef } from '../../../src/inventory/model.js';
import { wizardAnswers } from '../answers.js';
import { V7WizardConversation } from '../wizard.js';
import { applianceToInstall, GUIDE_INSTALL, type Sections, screen } from './fixtures.js';

const SECRETS: Record<string, string> = { '/secrets/turn': 'Turn-Secret-1', '/secrets/pexip': 'Pexip-New-1' };
const secret = (ref: SecretRef) => (ref.kind === 'file' ? SECRETS[ref.path]! : 'x');

function conversation(sections: Sections = {}) {
  return new V7WizardConversation(wizardAnswers(applianceToInstall(sections)), secret);
}

/** The text typed for each screen, in order. */
function typed(c: V7WizardConversation, screens: string[]): (string | { stop: string } | 'done')[] {
  return screens.map((s) => {
    const turn = c.next(s);
    if (!turn) throw new Error(`no turn for ${JSON.stringify(s)}`);
    return turn.kind === 'answer' ? turn.text : turn.kind === 'stop' ? { stop: turn.reason } : 'done';
  });
}

describe("the first run of a single-NIC appliance (the guide's example)", () => {
  it('answers every question from the inventory and keeps the defaults that agree', () => {
    const c = conversation({ fail2ban: { enabled: true } });
    const answers = typed(c, [
      'Last login: today\n[sudo] password for pexip: ',
      screen('IP Address?', {
        default: '198.51.100.130',
        step: [1, 9, 'Configuring nic0 (00:50:56:aa:bb:cc)'],
      }),
      screen('Subnet mask?', { default: '255.255.255.0' }),
      screen('Default gateway?'),
      screen('Use these default DNS Servers? (Yes/No)', {
        listed: ['DNS Servers', ['8.8.8.8', '8.8.4.4']],
        default: 'Yes',
        step: [2, 9, 'DNS Servers'],
      }),
      screen('DNS Server 1?'),
      screen('DNS Server 2?'),
      screen('Hostname?'),
      screen('Domain?'),
      screen('Use these default NTP Servers? (Yes/No)', {
        listed: ['NTP Servers', ['0.pexip.pool.ntp.org']],
        default: 'Yes',
      }),
      screen('Enable web reverse proxy? (Yes/No)', { default: 'Yes' }),
      screen('IP Address of Signaling Conferencing Node 1?'),
      screen('IP Address of Signaling Conferencing Node 2?'),
      screen('IP Address of Signaling Conferencing Node 3?'),
      screen('Enable Content-Security-Policy? (Yes/No)', { default: 'Yes' }),
      screen('Enable TURN server? (Yes/No)', { default: 'Yes' }),
      screen('Do you want to configure TURN using the restricted configuration mode? (Yes/No)', {
        default: 'Yes',
      }),
      screen('TURN username?'),
      screen('TURN password (will be displayed onscreen)?'),
      screen('Use these default IP Address of Media Conferencing Nodes? (Yes/No)', {
        listed: ['IP Address of Media Conferencing Nodes', ['10.40.0.10', '10.40.0.11']],
        default: 'Yes',
      }),
      screen('Add a management network? (Yes/No)'),
      screen('IP Address for management network 1?'),
      screen('Add another management network? (Yes/No)'),
      screen('Enable Fail2ban? (Yes/No)', { default: 'No' }),
      screen('Enable SNMPv2c read only? (Yes/No)', { default: 'No' }),
    ]);
    expect(answers).toEqual([
      'Pexip-New-1',
      '',
      '255.255.0.0',
      '198.51.100.129',
      'no',
      '10.44.0.9',
      '',
      'proxy',
      'example.com',
      '', // NTP: not in the inventory, the wizard's default
      '',
      '10.40.0.10',
      '10.40.0.11',
      '',
      '',
      '',
      '',
      'pexip',
      'Turn-Secret-1',
      '', // media nodes default to the signaling nodes
      'yes',
      '10.0.50.0/24',
      'no',
      'yes', // fail2ban.enabled
      '', // SNMP: not in the inventory, the wizard's default
    ]);
  });

  it('records answers for the report, secrets by reference only; done once it reboots', () => {
    const c = conversation();
    c.next('[sudo] password for pexip: ');
    c.next(screen('TURN password (will be displayed onscreen)?', { step: [6, 9, 'TURN Server'] }));
    expect(c.answered).toEqual([
      {
        question: '[sudo] password',
        answer: '(secret from file:/secrets/pexip)',
        usedDefault: false,
        from: 'the new password',
      },
      {
        step: '6 of 9: TURN Server',
        question: 'TURN password (will be displayed onscreen)?',
        answer: '(secret from file:/secrets/turn)',
        usedDefault: false,
        from: 'turn.credentials.password',
      },
    ]);
    expect(JSON.stringify(c.answered)).not.toMatch(/Secret-1|Pexip-New/);
    expect(c.next('\nApplying configuration...\n')).toBeUndefined();
    expect(c.applying).toBe(true);
    expect(c.next('\nApplying configuration...\n\nRebooting.\n')).toEqual({ kind: 'done' });
    expect(c.applied).toBe(true);
  });
});

describe('a rerun', () => {
  it('keeps the saved answers where the inventory agrees and replaces the others', () => {
    const c = conversation({
      install: { ...GUIDE_INSTALL, dns: ['10.44.0.9', '10.44.0.10'], regenerate: { ssl: true } },
    });
    expect(
      typed(c, [
        screen('IP Address?', { default: '198.51.100.130' }),
        screen('Use these default DNS Servers? (Yes/No)', {
          listed: ['DNS Servers', ['10.44.0.9']],
          default: 'Yes',
        }),
        screen('DNS Server 1?'),
        screen('DNS Server 2?'),
        screen('DNS Server 3?'),
        screen('Hostname?', { default: 'proxy' }),
        screen('Use these default IP Address of Signaling Conferencing Nodes? (Yes/No)', {
          listed: ['IP Address of Signaling Conferencing Nodes', ['10.40.0.10', '10.40.0.11']],
          default: 'Yes',
        }),
        screen('TURN username?', { default: 'pexip' }),
        screen('Use these default IPTables rules for SSH access? (Yes/No)', {
          listed: ['IPTables rules for SSH access', ['10.0.50.0/24']],
          default: 'Yes',
        }),
        screen(
          'An existing SSL certificate exists.\nDo you want to regenerate a new SSL certificate? (Yes/No)',
          { default: 'Yes' },
        ),
        screen(
          'An existing SSH certificate exists.\nDo you want to regenerate a new SSH certificate? (Yes/No)',
          { default: 'Yes' },
        ),
      ]),
    ).toEqual(['', 'no', '10.44.0.9', '10.44.0.10', '', '', '', '', '', '', 'no']);
    expect(c.answered.map((a) => a.usedDefault)).toEqual([
      true,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
  });

  it("accepts the guide's shorter question texts too", () => {
    const c = conversation();
    expect(typed(c, [screen('Username?'), screen('Netmask?'), screen('DNS server 1?')])).toEqual([
      'pexip',
      '255.255.0.0',
      '10.44.0.9',
    ]);
  });
});

describe('two NICs', () => {
  const dual = {
    install: {
      ...GUIDE_INSTALL,
      network: {
        internal: { nic: 'nic0', address: '10.44.0.5/16', routes: [{ to: '10.0.0.0/8', via: '10.44.0.1' }] },
        external: {
          nic: 'nic1',
          address: '198.51.100.130',
          netmask: '255.255.255.0',
          gateway: '198.51.100.129',
        },
      },
    },
  };

  it('chooses the NICs and enters the custom routes', () => {
    const c = conversation(dual);
    expect(
      typed(c, [
        screen('Do you want to configure Dual NIC? (Yes/No)', { default: 'No' }),
        screen('Which is the internal-facing network interface? (nic0/nic1)'),
        screen('IP Address for internal interface?'),
        screen('Subnet mask for internal interface?'),
        screen('Add a custom network route for nic0? (Yes/No)'),
        screen('Network IP Address?'),
        screen('Via IP Address?'),
        screen('Add another custom network route for nic0? (Yes/No)'),
        screen('IP Address for external interface?'),
        screen('Subnet mask for external interface?'),
        screen('Default gateway for external interface?'),
      ]),
    ).toEqual([
      'yes',
      'nic0',
      '10.44.0.5',
      '255.255.0.0',
      'yes',
      '10.0.0.0/8',
      '10.44.0.1',
      'no',
      '198.51.100.130',
      '255.255.255.0',
      '198.51.100.129',
    ]);
  });

  it('stops when the appliance has one NIC but the inventory configures two (and the reverse)', () => {
    const [stop] = typed(conversation(dual), [
      screen('IP Address?', { step: [1, 9, 'Configuring nic0 (x)'] }),
    ]);
    expect(stop).toEqual({
      stop: 'the wizard configures one NIC ("IP Address?") but install.network sets internal and external: does the appliance have only one? (step 1 of 9, Configuring nic0 (x))',
    });
    expect(typed(conversation(), [screen('IP Address for internal interface?')])[0]).toMatchObject({
      stop: expect.stringContaining('install.network sets one'),
    });
  });
});

describe('stops, never guesses', () => {
  it('on a question it does not know, naming it and the step', () => {
    const c = conversation();
    const [stop] = typed(c, [
      screen('Enable IPv6? (Yes/No)', { default: 'No', step: [5, 10, 'Additional Settings'] }),
    ]);
    expect(stop).toEqual({
      stop: 'the wizard asks "Enable IPv6? (Yes/No)", a question rpctl does not know; nothing was answered to it (step 5 of 10, Additional Settings)',
    });
  });

  it('when the wizard refuses an answer, naming the question, the answer and its inventory field', () => {
    const c = conversation({
      install: { ...GUIDE_INSTALL, network: { ...GUIDE_INSTALL.network, nic: 'nic7' } },
    });
    typed(c, [
      screen('Do you want to configure Dual NIC? (Yes/No)', { default: 'No' }),
      screen('Which network interface should be used? (nic0/nic1)'),
    ]);
    expect(
      c.next(
        'nic7\nInvalid: Not a valid network interface\n\nWhich network interface should be used? (nic0/nic1)\n> ',
      ),
    ).toEqual({
      kind: 'stop',
      reason:
        'the wizard refused the answer to "Which network interface should be used? (nic0/nic1)" (nic7, from install.network.nic): Invalid: Not a valid network interface',
    });
  });

  it('when the inventory has no answer and the wizard offers none', () => {
    const c = conversation({ install: { ...GUIDE_INSTALL, dns: undefined } });
    expect(c.next(screen('DNS Server 1?'))).toEqual({
      kind: 'stop',
      reason: 'the wizard asks "DNS Server 1?" and the inventory has no answer for it (set install.dns)',
    });
  });

  it('when sudo refuses the password or asks twice', () => {
    const c = conversation();
    c.next('[sudo] password for pexip: ');
    expect(c.next('\nSorry, try again.\n[sudo] password for pexip: ')).toMatchObject({
      kind: 'stop',
      reason: 'sudo refused the password (file:/secrets/pexip): Sorry, try again.',
    });
  });
});
