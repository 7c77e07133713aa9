/** A test PKI, appliances with a certificate section, and facts of a host with a given pexip.pem. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { FileFact, HostFacts } from '../../../src/engine/contract.js';
import type { ApplianceConfig, SecretRef } from '../../../src/inventory/model.js';
import { parseSecretRef } from '../../../src/inventory/secrets.js';
import { TestPki } from '../../../test/certificates.js';
import { etcHosts, networkInterfaces } from '../../../test/lab/files.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { certificateRecipe, PEXIP_PEM, PEXIP_PEM_BACKUP } from '../recipe.js';
import type { CertificateSection } from '../schema.js';

export const dir = mkdtempSync(join(tmpdir(), 'rpctl-cert-recipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
export const pki = new TestPki(dir);
export const current = pki.leaf('current', { names: ['rp1.vc.example.com'] });
export const next = pki.leaf('next', { names: ['rp1.vc.example.com'] });
export const wrongName = pki.leaf('wrong-name', { names: ['rp2.vc.example.com'] });
export const inter = pki.intermediate;

export const ref = (path: string): SecretRef => (parseSecretRef(`file:${path}`) as { ref: SecretRef }).ref;
export const pemFile = (name: string, issued: typeof current) =>
  pki.file(name, issued.certPem, issued.keyPem, inter.certPem);

export function appliance(section: CertificateSection | undefined, names = true): ApplianceConfig {
  return {
    name: 'rp1',
    groups: [],
    ssh: { host: '10.40.1.5' },
    sudo: {},
    ...(names ? { hostname: 'rp1', domain: 'vc.example.com' } : {}),
    sections: section ? { certificate: section } : {},
    source: { file: join(dir, 'inventory.yaml'), line: 1, column: 1 },
  };
}

export function desiredOf(section: CertificateSection, names = true) {
  const added: string[] = [];
  const desired = certificateRecipe.desired({
    appliance: appliance(section, names),
    secret: (r) => readFileSync((r as { path: string }).path, 'utf8'),
    addSecret: (value) => added.push(value),
    now: new Date(),
  });
  return { desired: desired!, added };
}

/** Facts of a v4 appliance whose pexip.pem is `pem`, read as the facts script reads it. */
export function hostWith(pem: string | undefined, backup?: string): HostFacts {
  const spec = {
    name: 'rp1',
    index: 1,
    address: '10.40.1.5',
    generation: 'v4' as const,
    state: 'installed' as const,
    hostname: 'rp1',
    domain: 'vc.example.com',
    nodes: [],
    turnUser: 'pexip',
  };
  const base = fakeFacts({
    files: {
      '/etc/hostname': 'rp1\n',
      '/etc/hosts': etcHosts(spec),
      '/etc/network/interfaces': networkInterfaces(spec),
      '/etc/init.d/rfc5766-turn-server': '#!/bin/sh\n',
    },
    commands: { 'appliance.services': 'nginx 0\nrfc5766-turn-server 0\n' },
  });
  const certificatesOnly = (path: string, whole: string): FileFact & { exists: true } => {
    const content = Buffer.from(
      whole.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!.join(''),
    );
    const sha256 = createHash('sha256').update(whole).digest('hex');
    return {
      path,
      exists: true,
      content,
      sha256,
      mode: 0o400,
      owner: 'root',
      group: 'root',
      size: whole.length,
    };
  };
  const files = new Map<string, FileFact & { exists: true }>();
  if (pem) files.set(PEXIP_PEM, certificatesOnly(PEXIP_PEM, pem));
  if (backup) files.set(PEXIP_PEM_BACKUP, certificatesOnly(PEXIP_PEM_BACKUP, backup));
  return {
    ...base,
    file: (path) => files.get(path) ?? base.file(path),
    text: (path) => (files.has(path) ? files.get(path)!.content.toString() : base.text(path)),
  };
}
