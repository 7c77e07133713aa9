/**
 * The install wizard as the CLI's runner sees it (FirstLoginWizard): handed over by the install
 * spec, its answers and passwords checked before contact, and what tells an installed appliance.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import type { SecretRef } from '../../../src/inventory/model.js';
import { install } from '../commands.js';
import { installWizard } from '../driver.js';
import { FACTORY_PASSWORD } from '../wizard.js';
import { InstallConversation } from '../wizards.js';
import { applianceToInstall, GUIDE_INSTALL, ref } from './fixtures.js';

const SECRETS: Record<string, string> = {
  '/secrets/pexip': 'Pexip-New-1',
  '/secrets/turn': 'Turn-Secret-1',
  '/secrets/initial': 'Initial-1',
  '/secrets/weak': 'short',
};
const secret = (r: SecretRef) => (r.kind === 'file' ? SECRETS[r.path]! : 'x');
const firstRun = { rerun: false, acceptRegeneratedHostKey: false };

describe('the install spec hands its runner the wizard', () => {
  it('runner install, uses installWizard', () => {
    expect(install.runner).toBe('install');
    expect(install.uses).toBe(installWizard);
    expect(installWizard.factoryPassword).toBe(FACTORY_PASSWORD);
  });
});

describe('prepare', () => {
  it('the passwords, the reboot timeout, a new conversation each time', () => {
    const prepared = installWizard.prepare(applianceToInstall(), secret, firstRun);
    expect(prepared).toMatchObject({ newPassword: ref('file:/secrets/pexip'), rebootTimeoutMs: 300_000 });
    expect(prepared.initialPassword).toBeUndefined(); // the factory password
    const c = prepared.conversation();
    expect(c).toBeInstanceOf(InstallConversation);
    expect(prepared.conversation()).not.toBe(c);
    expect(c.answered).toEqual([]);
  });

  it('install.initialPassword and install.rebootTimeout when the inventory gives them', () => {
    const appliance = applianceToInstall({
      install: { ...GUIDE_INSTALL, initialPassword: 'file:/secrets/initial', rebootTimeout: 60 },
    });
    expect(installWizard.prepare(appliance, secret, firstRun)).toMatchObject({
      initialPassword: ref('file:/secrets/initial'),
      rebootTimeoutMs: 60_000,
    });
  });

  it.each([
    [
      'a new password against the policy',
      applianceToInstall({}, { sudo: { password: ref('file:/secrets/weak') } }),
      firstRun,
      /^rp1: the new password \(file:\/secrets\/weak\) does not meet the appliance's policy: /,
    ],
    [
      '--rerun of a declared v4 appliance',
      applianceToInstall({
        install: {
          ...GUIDE_INSTALL,
          generation: 'v4',
          ntp: ['0.no.pool.ntp.org'],
          network: { address: '198.51.100.130/24', gateway: '198.51.100.129' },
        },
      }),
      { rerun: true, acceptRegeneratedHostKey: false },
      /^rp1: install --rerun: the v4 wizard is never rerun/,
    ],
    ['no install section', applianceToInstall({ install: undefined }), firstRun, /^rp1: no install section/],
  ])('%s: InputError', (_what, appliance, run, message) => {
    expect(() => installWizard.prepare(appliance, secret, run)).toThrow(InputError);
    expect(() => installWizard.prepare(appliance, secret, run)).toThrow(message);
  });
});

describe('state', () => {
  it.each([
    ['v7\n', { kind: 'installed', evidence: '~/.reverseproxy-config.json exists' }],
    ['fresh\n', { kind: 'fresh', evidence: 'no ~/.reverseproxy-config.json' }],
    [
      'v4\n',
      {
        kind: 'installed',
        evidence: 'pexapp exists',
        neverRerun: expect.stringMatching(
          /^the v4 wizard has already run \(pexapp exists\); it is never rerun/,
        ),
      },
    ],
  ])('%j', (output, state) => {
    expect(installWizard.state(output)).toEqual(state);
  });

  it('reads the saved answers, then a v4 appliance whose wizard wrote pexapp', () => {
    expect(installWizard.stateCommand.toString()).toBe(
      'if test -e .reverseproxy-config.json; then echo v7; elif test -e /etc/init.d/rfc5766-turn-server && test -e /etc/nginx/sites-available/pexapp; then echo v4; else echo fresh; fi',
    );
  });
});
