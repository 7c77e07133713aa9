/**
 * What `rpctl facts` prints for an appliance: its identity and generation, the files rpctl manages
 * (hashes, owner, mode; never their secrets), the served certificate's identity and expiry, the
 * TURN server's addresses and realm, and the state of its services.
 *
 *   rpctl facts -i lab.yaml --limit lab-1
 *   { "hosts": [ { "name": "lab-1", "facts": { "appliance": { "generation": "v4", ... },
 *       "certificate": { "subject": "CN=lab-1.lab.example.com", "daysLeft": 1094, ... } } } ] }
 */
import { X509Certificate } from 'node:crypto';
import type { FactSpec, HostFacts } from '../../src/engine/contract.js';
import { mergeFactSpecs } from '../../src/engine/facts.js';
import { oneLine } from '../../src/errors.js';
import { APPLIANCE_FILES, applianceFactSpec, applianceFacts } from './facts.js';

export const MANAGED_FILES = {
  pexapp: '/etc/nginx/sites-available/pexapp',
  certificate: '/etc/nginx/ssl/pexip.pem',
  turnserver: APPLIANCE_FILES.turnserverConf,
  jail: '/etc/fail2ban/jail.local',
  interfaces: APPLIANCE_FILES.interfaces,
  netplan: APPLIANCE_FILES.netplan,
} as const;

/** Read on every host in every run: cheap, and what the appliance is. */
export const reportFactSpec: FactSpec = mergeFactSpecs([
  applianceFactSpec,
  {
    files: Object.values(MANAGED_FILES).map((path) => ({
      path,
      read: path === MANAGED_FILES.certificate ? ('certificates' as const) : ('content' as const),
    })),
  },
]);

/** The certificates of a PEM text, leaf first. */
export function pemCertificates(text: string | undefined): X509Certificate[] {
  const blocks = text?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

export function describeCertificate(cert: X509Certificate, now = new Date()) {
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    subjectAltNames: cert.subjectAltName?.split(', ') ?? [],
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    fingerprint256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** `key=value` and bare-flag lines of turnserver.conf, comments skipped; repeated keys collected. */
export function turnserverSettings(text: string | undefined): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    const value = eq === -1 ? '' : line.slice(eq + 1).trim();
    settings.set(key, [...(settings.get(key) ?? []), value]);
  }
  return settings;
}

export function describeFacts(facts: HostFacts, host: string): unknown {
  const out: Record<string, unknown> = {};
  try {
    out.appliance = applianceFacts(facts, host);
  } catch (err) {
    out.appliance = { error: oneLine(err) };
  }
  out.files = Object.fromEntries(
    Object.entries(MANAGED_FILES).map(([name, path]) => {
      const f = facts.file(path);
      return [
        name,
        f.exists
          ? {
              path,
              exists: true,
              sha256: f.sha256,
              size: f.size,
              mode: f.mode.toString(8).padStart(4, '0'),
              owner: f.owner,
              group: f.group,
            }
          : { path, exists: false },
      ];
    }),
  );
  try {
    const [leaf, ...chain] = pemCertificates(facts.text(MANAGED_FILES.certificate));
    out.certificate = leaf
      ? { ...describeCertificate(leaf), chain: chain.map((c) => describeCertificate(c)) }
      : null;
  } catch (err) {
    out.certificate = { error: oneLine(err) };
  }
  const turn = turnserverSettings(facts.text(MANAGED_FILES.turnserver));
  out.turn = {
    listeningIps: turn.get('listening-ip') ?? [],
    relayIps: turn.get('relay-ip') ?? [],
    externalIp: turn.get('external-ip')?.[0] ?? null,
    realm: turn.get('realm')?.[0] ?? null,
    listeningPort: Number(turn.get('listening-port')?.[0] ?? 3478),
  };
  return out;
}
