/**
 * `rpctl cert replace|status|rollback|renew`: the TLS certificate of the reverse proxy (pexip.pem),
 * as one-off commands over the certificate recipes (recipe.ts, rollback.ts, acme.ts).
 *
 *   rpctl cert replace -i prod.yaml --limit rp1 --pem rp1.pem --save
 *   rpctl cert status -i prod.yaml --format json
 *   rpctl cert rollback -i prod.yaml --limit rp1
 *   rpctl cert renew -i prod.yaml --limit '*' --yes
 */

import type {
  AnyOneOffCommand,
  ChangeCommand,
  OneOffGroup,
  OneOffInputContext,
  ReportCommand,
  SecretRef,
} from '../../src/engine/contract.js';
import { InputError } from '../../src/engine/contract.js';
import { acmeRenewalRecipe, certificateAcmeChallengeRecipe, certificateAcmeRecipe } from './acme.js';
import { certificateRecipe } from './recipe.js';
import { certificateRollbackRecipe } from './rollback.js';
import type { CertificateSection } from './schema.js';
import { certificateStatuses, renderStatusText } from './status-command.js';

export const certGroup: OneOffGroup = {
  name: 'cert',
  description:
    'replace, check, roll back or renew (ACME) the TLS certificate nginx serves (/etc/nginx/ssl/pexip.pem)',
};

interface ReplaceFlags {
  pem?: string;
  cert?: string;
  key?: string;
  chain?: string[];
  keyPassphraseFile?: string;
  allowNameMismatch?: boolean;
}

interface Replacement {
  /** the section the flags give, in the shape the loader produces; undefined: the inventory's */
  section?: CertificateSection;
  /** the section as --save writes it (paths inside the inventory's directory relative to it) */
  saved?: Record<string, unknown>;
  keyPassphrase?: SecretRef;
  allowNameMismatch: boolean;
}

function replacement(flags: ReplaceFlags, save: boolean, ctx: OneOffInputContext): Replacement {
  const chain = flags.chain ?? [];
  const parts = flags.cert !== undefined || flags.key !== undefined || chain.length > 0;
  if (flags.pem !== undefined && parts) {
    throw new InputError(
      '--pem and --cert/--key/--chain are alternatives: pass a ready pexip.pem, or its parts',
    );
  }
  if (parts && (flags.cert === undefined || flags.key === undefined)) {
    throw new InputError('--cert and --key go together (--chain adds intermediates to them)');
  }
  const ref = (path: string) => ctx.secretRef(`file:${path}`, path);
  const passphraseFile =
    flags.keyPassphraseFile === undefined
      ? undefined
      : ctx.file('--key-passphrase-file', flags.keyPassphraseFile);
  const common = {
    keyPassphrase: passphraseFile === undefined ? undefined : ref(passphraseFile),
    allowNameMismatch: Boolean(flags.allowNameMismatch),
  };
  if (flags.pem === undefined && !parts) {
    if (save)
      throw new InputError('--save needs the certificate to save: --pem FILE, or --cert FILE --key FILE');
    return common;
  }
  const pem = flags.pem === undefined ? undefined : ctx.file('--pem', flags.pem);
  const cert = flags.cert === undefined ? undefined : ctx.file('--cert', flags.cert);
  const key = flags.key === undefined ? undefined : ctx.file('--key', flags.key);
  const chainFiles = chain.map((c) => ctx.file('--chain', c));
  const near = ctx.savedPath;
  return {
    ...common,
    section: pem
      ? { pem: ref(pem) }
      : { cert, key: ref(key!), ...(chainFiles.length ? { chain: chainFiles } : {}) },
    saved: {
      ...(pem ? { pem: `file:${near(pem)}` } : { cert: near(cert!), key: `file:${near(key!)}` }),
      ...(chainFiles.length ? { chain: chainFiles.map(near) } : {}),
      ...(passphraseFile ? { keyPassphrase: `file:${near(passphraseFile)}` } : {}),
      ...(common.allowNameMismatch ? { allowNameMismatch: true } : {}),
    },
  };
}

const replace: ChangeCommand<Replacement> = {
  kind: 'change',
  path: ['cert', 'replace'],
  summary: 'install a new pexip.pem: checked here, backed up, nginx -t, reload, verified by a TLS handshake',
  options: [
    {
      flags: '--pem <file>',
      description: 'a ready pexip.pem: certificate, unencrypted private key, intermediates',
    },
    { flags: '--cert <file>', description: 'the server certificate (PEM; intermediates may follow it)' },
    { flags: '--key <file>', description: 'its private key (PEM)' },
    {
      flags: '--chain <file>',
      description: 'an intermediate certificate file; repeat, issuer after issuer',
      repeatable: true,
    },
    {
      flags: '--key-passphrase-file <file>',
      description: 'decrypt an encrypted key on this machine with the passphrase in FILE',
    },
    {
      flags: '--allow-name-mismatch',
      description: "install even if the certificate does not cover the appliance's hostname.domain",
    },
  ],
  help: `
Before anything is contacted: the order (certificate, key, intermediates), an unencrypted key
(or --key-passphrase-file), key matches certificate, chain links, validity dates, and that a SAN
(or the CN) covers hostname.domain. RSA keys under 2048 bits are warned about (nginx refuses them).
Then per appliance: upload to a private directory, pexip.pem.backup kept, install 0400 root,
nginx -t, reload (calls survive), TLS handshake with SNI = the FQDN must serve the new certificate
and chain; any failure puts the previous file back and checks it is served again.
Without --pem/--cert the inventory's certificate section is rolled out.`,
  exitCodes: { 1: 'an appliance failed (rolled back) or was unreachable' },
  examples: [
    'rpctl cert replace -i inventories/prod.yaml --limit rp1 --pem certs/rp1.pem',
    'rpctl cert replace -i inventories/prod.yaml --limit proxies --cert wildcard.crt \\',
    '    --key wildcard.key --chain intermediate.crt --key-passphrase-file key.pass --save --yes',
  ],
  input: ({ options, save }, ctx) => replacement(options as ReplaceFlags, save, ctx),
  recipes: () => [certificateRecipe],
  section: 'certificate',
  override(input, current, appliance) {
    const declared = current as CertificateSection | undefined;
    if (!input.section && declared?.acme) {
      throw new InputError(
        `${appliance}: certificate.acme issues this certificate: renew it with rpctl cert renew, or pass --pem FILE to replace it by hand`,
      );
    }
    if (!input.section && !declared) {
      throw new InputError(
        `${appliance}: no certificate section in the inventory: pass --pem FILE, or --cert FILE --key FILE`,
      );
    }
    return {
      ...(input.section ?? declared),
      ...(input.keyPassphrase ? { keyPassphrase: input.keyPassphrase } : {}),
      ...(input.allowNameMismatch ? { allowNameMismatch: true } : {}),
    };
  },
  save: {
    writes: 'the certificate section',
    values: (input) => (input.saved ? [{ path: ['certificate'], value: input.saved }] : []),
  },
};

const status: ReportCommand<void> = {
  kind: 'report',
  path: ['cert', 'status'],
  summary: "each appliance's certificate: subject, names, issuer, days left, fingerprint, desired, served",
  help: `
Read-only. "served" is a real TLS handshake from this machine to the appliance's address with
SNI = hostname.domain; "desired" compares with the inventory's certificate section (with
certificate.acme: whether a renewal is due, which counts as drift).`,
  exitCodes: {
    0: 'all as expected',
    2: 'an appliance differs from the inventory, serves another certificate than the installed one, or its certificate expired',
  },
  examples: [
    'rpctl cert status -i inventories/prod.yaml',
    "rpctl cert status -i inventories/prod.yaml --format json | jq '.hosts[] | {name, daysLeft: .installed.daysLeft}'",
  ],
  input: () => undefined,
  mode: 'facts',
  // facts mode reads without planning; the report compares with the desired state itself
  recipes: () => [certificateRecipe, certificateAcmeRecipe],
  async render(format, result, ctx) {
    const statuses = await certificateStatuses(result, ctx);
    if (statuses.some((s) => s.status === 'drift')) ctx.exitWith(2);
    return format === 'json'
      ? `${JSON.stringify({ runId: result.runId, hosts: statuses }, null, 2)}\n`
      : renderStatusText(statuses);
  },
};

const rollback: ChangeCommand<void> = {
  kind: 'change',
  path: ['cert', 'rollback'],
  summary: 'put pexip.pem.backup back in place: nginx -t, reload, the served certificate checked',
  help: `
The backup stays on the appliance (its private key never leaves it): it is copied into place
atomically, 0400 root; a failure of nginx -t or of the TLS check puts the current file back.`,
  exitCodes: {
    0: 'done (or already in place)',
    1: 'an appliance failed, has no backup, or was unreachable',
  },
  examples: [
    'rpctl cert rollback -i inventories/prod.yaml --limit rp1',
    "rpctl cert rollback -i inventories/prod.yaml --limit 'rp1,rp2' --yes --format json",
  ],
  input: () => undefined,
  recipes: () => [certificateRollbackRecipe],
};

const renew: ChangeCommand<{ force: boolean }> = {
  kind: 'change',
  path: ['cert', 'renew'],
  summary:
    'renew the certificates certificate.acme issues where due: key made on the appliance, HTTP-01, installed and verified',
  options: [{ flags: '--force', description: 'renew even when not due' }],
  help: `
Due: fewer than certificate.acme.renewBefore days left (default 30), other names or key type than
the inventory's, or a certificate not issued through certificate.acme. Appliances without
certificate.acme are left alone. Per appliance due, one order: the challenge location in pexapp's
port-80 server (added once, nginx -t, reload), a new private key made on the appliance (only its
CSR comes back), the challenge tokens served by its nginx for the order's lifetime, then pexip.pem
= certificate + that key + chain, installed like cert replace (pexip.pem.backup kept, nginx -t,
reload, TLS check, previous file back on failure). A refused challenge leaves the installed
certificate in place and prints the CA's problem detail. badNonce and rateLimited answers are
retried, after Retry-After when the CA sends one.`,
  exitCodes: {
    0: 'renewed, or nothing due',
    1: 'an appliance failed (an order refused, or rolled back) or was unreachable',
  },
  examples: [
    "rpctl cert renew -i inventories/prod.yaml --limit '*' --yes",
    'rpctl cert renew -i inventories/prod.yaml --limit rp1 --force --yes',
  ],
  input: ({ options }) => ({ force: options.force === true }),
  recipes: ({ force }) => [certificateAcmeChallengeRecipe, acmeRenewalRecipe({ force })],
};

export const certCommands: readonly AnyOneOffCommand[] = [replace, status, rollback, renew];
