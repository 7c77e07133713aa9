import { describe, expect, it } from 'vitest';
import { applianceConfig } from '../../../test/unit/support/appliance.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { NGINX_RELOAD } from '../nginx.js';
import { servicesRecipe } from '../running.js';

const ctx = { host: 'rp1', now: new Date('2026-12-01T00:00:00Z') };

function v7(states: { nginx?: string; coturn?: string; fail2ban?: string }) {
  const { nginx = '0', coturn = '0', fail2ban = '3' } = states;
  return fakeFacts({
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/netplan/01-netcfg.yaml': 'network: {}\n',
      '/etc/init.d/coturn': '#!/bin/sh\n',
    },
    commands: {
      'appliance.names': 'hostname=rp1\nfqdn=rp1.example.com\n',
      'appliance.services': `nginx ${nginx}\ncoturn ${coturn}\nrfc5766-turn-server absent\nfail2ban ${fail2ban}\n`,
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
  it('follows the managed sections: nginx for upstreams or certificate, TURN for turn, fail2ban when enabled', () => {
    expect(desiredFor({})).toBeUndefined();
    expect(desiredFor({ fail2ban: { enabled: false } })).toBeUndefined();
    expect(desiredFor({ upstreams: {} })).toEqual({ nginx: true, turn: false, fail2ban: false });
    expect(desiredFor({ certificate: {}, turn: {}, fail2ban: { enabled: true } })).toEqual({
      nginx: true,
      turn: true,
      fail2ban: true,
    });
  });

  it('a stopped nginx or TURN server is a change that starts it; fail2ban is left to its recipe', () => {
    const desired = { nginx: true, turn: true, fail2ban: true };
    const { changes } = servicesRecipe.plan(desired, v7({ nginx: '3', coturn: '3', fail2ban: '3' }), ctx);
    expect(
      changes.map((c) => [c.summary, c.notify?.map((h) => [h.id, h.command.text, h.disruptive])]),
    ).toEqual([
      ['nginx is not running: start it', [['nginx:reload', NGINX_RELOAD.command.text, false]]],
      [
        'coturn is not running: start it',
        [['turn:start', 'service coturn start && service coturn status >/dev/null 2>&1', false]],
      ],
    ]);
    expect(servicesRecipe.services?.(desired, v7({ nginx: '3', coturn: '0', fail2ban: '3' }))).toEqual([
      { service: 'nginx', running: false },
      { service: 'coturn', running: true },
      { service: 'fail2ban', running: false },
    ]);
    expect(servicesRecipe.plan(desired, v7({ fail2ban: '0' }), ctx).changes).toEqual([]);
  });

  it('the nginx handler starts a stopped nginx instead of reloading it, and fails unless it runs', () => {
    expect(NGINX_RELOAD.command.text).toBe(
      'if service nginx status >/dev/null 2>&1; then service nginx reload; else service nginx start; fi && service nginx status >/dev/null 2>&1',
    );
  });

  it('verification: each service runs; the TLS handshake comes with nginx handler, when it ran', () => {
    const checks = servicesRecipe.verify?.(
      { nginx: true, turn: true, fail2ban: false },
      v7({ coturn: '3' }),
      ctx,
    );
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
