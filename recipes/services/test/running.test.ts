import { describe, expect, it } from 'vitest';
import { applianceConfig } from '../../../test/unit/support/appliance.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { NGINX_RELOAD } from '../nginx.js';
import { servicesRecipe } from '../running.js';

const ctx = { host: 'rp1', now: new Date('2026-12-01T00:00:00Z') };

function v7(states: { nginx?: string; coturn?: string }) {
  const { nginx = '0', coturn = '0' } = states;
  return fakeFacts({
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/netplan/01-netcfg.yaml': 'network: {}\n',
      '/etc/init.d/coturn': '#!/bin/sh\n',
    },
    commands: {
      'appliance.names': 'hostname=rp1\nfqdn=rp1.example.com\n',
      'appliance.services': `nginx ${nginx}\ncoturn ${coturn}\nrfc5766-turn-server absent\n`,
    },
  });
}

const desiredFor = (sections: Record<string, unknown>) =>
  servicesRecipe.desired({
    appliance: applianceConfig({ sections }),
    now: ctx.now,
    secret: () => '',
  });

describe('services that must run', () => {
  it('follows the managed sections: nginx for upstreams or certificate, TURN for turn; fail2ban is its recipe’s', () => {
    expect(desiredFor({})).toBeUndefined();
    expect(desiredFor({ fail2ban: { enabled: true } })).toBeUndefined();
    expect(desiredFor({ upstreams: {} })).toEqual({ nginx: true, turn: false });
    expect(desiredFor({ certificate: {}, turn: {}, fail2ban: { enabled: true } })).toEqual({
      nginx: true,
      turn: true,
    });
  });

  it('a stopped nginx or TURN server is a change that starts it', () => {
    const desired = { nginx: true, turn: true };
    const { changes } = servicesRecipe.plan(desired, v7({ nginx: '3', coturn: '3' }), ctx);
    expect(
      changes.map((c) => [c.summary, c.notify?.map((h) => [h.id, h.command.text, h.disruptive])]),
    ).toEqual([
      ['nginx is not running: start it', [['nginx:reload', NGINX_RELOAD.command.text, false]]],
      [
        'coturn is not running: start it',
        [['turn:start', 'service coturn start && service coturn status >/dev/null 2>&1', false]],
      ],
    ]);
    expect(servicesRecipe.services?.(desired, v7({ nginx: '3', coturn: '0' }))).toEqual([
      { service: 'nginx', running: false },
      { service: 'coturn', running: true },
    ]);
    expect(servicesRecipe.plan(desired, v7({}), ctx).changes).toEqual([]);
  });

  it('the nginx handler starts a stopped nginx instead of reloading it, and fails unless it runs', () => {
    expect(NGINX_RELOAD.command.text).toBe(
      'if service nginx status >/dev/null 2>&1; then service nginx reload; else service nginx start; fi && service nginx status >/dev/null 2>&1',
    );
  });

  it('verification: each service runs; the TLS handshake comes with nginx handler, when it ran', () => {
    const checks = servicesRecipe.verify?.({ nginx: true, turn: true }, v7({ coturn: '3' }), ctx);
    expect(checks).toEqual([
      { kind: 'assert', ok: true, message: 'nginx runs' },
      { kind: 'assert', ok: false, message: 'coturn is not running' },
    ]);
    expect(NGINX_RELOAD.verify?.(v7({ coturn: '3' }), ctx)).toEqual([
      { kind: 'assert', ok: true, message: 'nginx runs' },
      {
        kind: 'probe',
        probe: 'nginx-handshake',
        params: { port: 443, servername: 'rp1.example.com' },
        message: 'nginx completes a TLS handshake on :443',
      },
    ]);
  });
});
