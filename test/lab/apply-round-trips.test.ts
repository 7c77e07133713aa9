/**
 * Apply in few round trips (issue 19): the files travel on the apply exec's stdin (no SFTP
 * session), and nginx's TLS handshake is checked after every run of its handler and only then,
 * also on a networked appliance (reached through relays on its loopback address, :22 and :443).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFiles, labSh, readState, reset, spec } from './lab.js';
import { labInventoryFile, rpctl } from './rpctl.js';

const names = readState()!.appliances.map((a) => a.name);
const plain = names.find((n) => spec(n).generation === 'v4')!;
const networked = names.find((n) => spec(n).generation === 'v7')!;
const HANDSHAKE = 'nginx completes a TLS handshake on :443';

interface HostReport {
  status: string;
  verification?: { ok: boolean; message: string }[];
  stats: { sftpSessions: number; execs: number };
}

async function applyJson(host: string, edit: Parameters<typeof labInventoryFile>[0]): Promise<HostReport> {
  const inventory = labInventoryFile(edit);
  const apply = await rpctl(['apply', '-i', inventory, '--limit', host, '--yes', '--format', 'json']);
  expect(apply.code, apply.stderr).toBe(0);
  return JSON.parse(apply.stdout).hosts[0] as HostReport;
}

const sftpRequests = (host: string) =>
  Number(labSh(host, 'grep -c "subsystem request for sftp" /var/log/auth.log || true').trim());

describe('apply in few round trips', () => {
  beforeAll(async () => {
    await reset([plain]);
    await reset([networked], { networked: true });
  }, 300_000);
  afterAll(async () => {
    await reset([plain]);
    await reset([networked], { networked: false });
  }, 300_000);

  it('sends the files inside the apply exec: no SFTP session is opened', async () => {
    const before = sftpRequests(plain);
    const host = await applyJson(plain, (doc) => doc.appliances[plain].upstreams.nodes.push('127.0.3.77'));
    expect(host.status).toBe('changed');
    expect(labSh(plain, 'cat /etc/nginx/sites-available/pexapp')).toContain('server 127.0.3.77:443');
    expect(host.stats.sftpSessions).toBe(0);
    expect(sftpRequests(plain)).toBe(before);
    // the upload directory went with the apply
    expect(labSh(plain, 'ls -d /tmp/rpctl-* 2>/dev/null || true').trim()).toBe('');
  });

  it('checks the TLS handshake once after an upstream change, on a networked appliance too', async () => {
    const host = await applyJson(networked, (doc) =>
      doc.appliances[networked].upstreams.nodes.push('127.0.3.78'),
    );
    expect(host.status).toBe('changed');
    const handshakes = host.verification!.filter((v) => v.message === HANDSHAKE);
    expect(handshakes).toEqual([{ ok: true, message: HANDSHAKE }]);
    expect(host.verification).toContainEqual({ ok: true, message: 'nginx runs' });
  });

  it('runs no TLS handshake for changes that do not touch nginx (fail2ban tuned and started)', async () => {
    const host = await applyJson(plain, (doc) => {
      doc.appliances[plain].upstreams.nodes.push('127.0.3.77'); // as the first test left it
      doc.appliances[plain].fail2ban = { enabled: true, bantime: 600, findtime: 300, maxretry: 10 };
    });
    expect(host.status).toBe('changed');
    expect(labSh(plain, 'cat /etc/fail2ban/jail.local')).toContain('bantime = 600');
    expect(host.verification).toContainEqual({ ok: true, message: 'fail2ban runs and is enabled at boot' });
    expect(host.verification?.map((v) => v.message) ?? []).not.toContain(HANDSHAKE);
  });

  it('runs no TLS handshake when the services concern starts the TURN server only', async () => {
    labSh(networked, 'service coturn stop');
    const host = await applyJson(networked, (doc) => {
      doc.appliances[networked].upstreams.nodes.push('127.0.3.78'); // as the second test left it
      // the TURN concern managed with the lab's own credentials (nothing to change)
      doc.appliances[networked].turn = {
        credentials: { username: 'pexip', password: `file:${clientFiles().turnPasswordFile}` },
        externalIp: null,
      };
    });
    expect(host.status).toBe('changed');
    expect(labSh(networked, 'service coturn status >/dev/null && echo runs').trim()).toBe('runs');
    expect(host.verification?.map((v) => v.message) ?? []).not.toContain(HANDSHAKE);
  });
});
