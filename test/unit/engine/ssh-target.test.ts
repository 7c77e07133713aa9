import { describe, expect, it } from 'vitest';
import { APPLIANCE_USER, sshTarget } from '../../../src/engine/ssh-target.js';
import { HostError } from '../../../src/errors.js';
import type { SecretRef } from '../../../src/inventory/model.js';
import { applianceConfig } from '../support/appliance.js';

describe('sshTarget: an appliance as transport sees it', () => {
  it("keeps the inventory's settings and defaults the user to the appliance's account", () => {
    const target = sshTarget(
      applianceConfig({ ssh: { host: 'rp1.example', port: 2222, knownHosts: ['/kh'], jump: { host: 'b' } } }),
    );
    expect(target).toMatchObject({
      name: 'rp1',
      host: 'rp1.example',
      port: 2222,
      knownHosts: ['/kh'],
      jump: { host: 'b' },
      defaultUser: APPLIANCE_USER,
    });
    expect(target.user).toBeUndefined(); // ~/.ssh/config's User may still apply
  });

  it('reads secrets only when the connection asks for them', () => {
    const asked: SecretRef[] = [];
    const secret = (ref: SecretRef) => {
      asked.push(ref);
      return ref.kind === 'env' ? `value of ${ref.name}` : '?';
    };
    const target = sshTarget(
      applianceConfig({
        ssh: { host: 'h', password: { kind: 'env', name: 'PW' }, passphrase: { kind: 'env', name: 'PP' } },
        sudo: { password: { kind: 'env', name: 'SUDO' } },
      }),
      secret,
    );
    expect(asked).toEqual([]);
    expect(target.password?.()).toBe('value of PW');
    expect(target.passphrase?.()).toBe('value of PP');
    expect(target.sudoPassword?.('pexip')).toBe('value of SUDO');
    expect(asked.map((r) => (r.kind === 'env' ? r.name : r.kind))).toEqual(['PW', 'PP', 'SUDO']);
  });

  it('fails sudo with sudo-auth naming the inventory field when there is no sudo password', () => {
    const target = sshTarget(applianceConfig({}), () => 'x');
    expect(() => target.sudoPassword?.('admin')).toThrow(HostError);
    expect(() => target.sudoPassword?.('admin')).toThrow(
      'rp1: sudo needs the password of admin, but the inventory sets no sudo.password',
    );
  });
});
