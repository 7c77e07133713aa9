/**
 * `rpctl cert replace|status|rollback`: the TLS certificate of the reverse proxy (pexip.pem), as
 * one-off commands over the certificate recipes (recipes/certificate*.ts).
 *
 *   rpctl cert replace -i prod.yaml --limit rp1 --pem rp1.pem --save
 *   rpctl cert status -i prod.yaml --format json
 *   rpctl cert rollback -i prod.yaml --limit rp1
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { certificateRecipe } from '../../../recipes/certificate/recipe.js';
import { certificateRollbackRecipe } from '../../../recipes/certificate/rollback.js';
import type { CertificateSection } from '../../../recipes/certificate/schema.js';
import { InputError } from '../../errors.js';
import type { ApplianceConfig, SecretRef } from '../../inventory/model.js';
import { updateInventoryFile } from '../../inventory/save.js';
import { parseSecretRef } from '../../inventory/secrets.js';
import { addInventoryOptions, type InventoryOptions, inventoryFile } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandContext, CommandModule } from '../program.js';
import {
  addConnectionFlags,
  addOneOffFlags,
  addOutputFlags,
  ONE_OFF_FORMATS,
  type RunFlags,
} from '../run-options.js';
import { reachedHosts } from '../save.js';
import { certificateStatuses, renderStatusText } from './cert-status.js';

interface ReplaceFlags extends RunFlags, InventoryOptions {
  pem?: string;
  cert?: string;
  key?: string;
  chain: string[];
  keyPassphraseFile?: string;
  allowNameMismatch?: boolean;
  save?: boolean;
}

const FORMATS = ONE_OFF_FORMATS;

/** An existing regular file named by `flag`, made absolute against the working directory. */
function fileFlag(flag: string, value: string, cwd: string): string {
  const path = resolve(cwd, value);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new InputError(`${flag} ${value}: the file does not exist or cannot be read`);
  }
  if (!isFile) throw new InputError(`${flag} ${value}: not a regular file`);
  return path;
}

function fileRef(path: string): SecretRef {
  const parsed = parseSecretRef(`file:${path}`);
  if ('problem' in parsed) throw new InputError(`${path}: ${parsed.problem}`);
  return parsed.ref;
}

interface FlagFiles {
  pem?: string;
  cert?: string;
  key?: string;
  chain: string[];
}

/** The certificate files the flags name (absolute), or undefined: the inventory's section is used. */
function certificateFlags(flags: ReplaceFlags, cwd: string): FlagFiles | undefined {
  const parts = flags.cert !== undefined || flags.key !== undefined || flags.chain.length > 0;
  if (flags.pem !== undefined && parts) {
    throw new InputError(
      '--pem and --cert/--key/--chain are alternatives: pass a ready pexip.pem, or its parts',
    );
  }
  if (flags.pem === undefined && !parts) {
    if (flags.save)
      throw new InputError('--save needs the certificate to save: --pem FILE, or --cert FILE --key FILE');
    return undefined;
  }
  if (parts && (flags.cert === undefined || flags.key === undefined)) {
    throw new InputError('--cert and --key go together (--chain adds intermediates to them)');
  }
  if (!flags.limit) {
    throw new InputError(
      "cert replace with a certificate file needs --limit: name the appliances (--limit '*' for all)",
    );
  }
  const file = (flag: string, value: string | undefined) =>
    value === undefined ? undefined : fileFlag(flag, value, cwd);
  return {
    pem: file('--pem', flags.pem),
    cert: file('--cert', flags.cert),
    key: file('--key', flags.key),
    chain: flags.chain.map((c) => fileFlag('--chain', c, cwd)),
  };
}

/** The section the flags give an appliance, in the shape the loader produces. */
function flagSection(files: FlagFiles): CertificateSection {
  if (files.pem) return { pem: fileRef(files.pem) };
  return {
    cert: files.cert,
    key: fileRef(files.key!),
    ...(files.chain.length ? { chain: files.chain } : {}),
  };
}

/** The section as --save writes it: paths inside the inventory's directory relative to it. */
function savedSection(
  files: FlagFiles,
  flags: ReplaceFlags,
  passphrase: string | undefined,
  inventory: string,
) {
  const near = (path: string) => {
    const rel = relative(dirname(inventory), path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  return {
    ...(files.pem
      ? { pem: `file:${near(files.pem)}` }
      : { cert: near(files.cert!), key: `file:${near(files.key!)}` }),
    ...(files.chain.length ? { chain: files.chain.map(near) } : {}),
    ...(passphrase ? { keyPassphrase: `file:${near(passphrase)}` } : {}),
    ...(flags.allowNameMismatch ? { allowNameMismatch: true } : {}),
  };
}

async function replace(ctx: CommandContext, flags: ReplaceFlags): Promise<void> {
  const files = certificateFlags(flags, ctx.io.cwd);
  const passphrase =
    flags.keyPassphraseFile === undefined
      ? undefined
      : fileFlag('--key-passphrase-file', flags.keyPassphraseFile, ctx.io.cwd);
  const override = (appliance: ApplianceConfig): ApplianceConfig => {
    const declared = appliance.sections.certificate as CertificateSection | undefined;
    if (!files && !declared) {
      throw new InputError(
        `${appliance.name}: no certificate section in the inventory: pass --pem FILE, or --cert FILE --key FILE`,
      );
    }
    const section: CertificateSection = {
      ...(files ? flagSection(files) : declared!),
      ...(passphrase ? { keyPassphrase: fileRef(passphrase) } : {}),
      ...(flags.allowNameMismatch ? { allowNameMismatch: true } : {}),
    };
    return { ...appliance, sections: { ...appliance.sections, certificate: section } };
  };
  const result = await runFleetCommand(ctx, {
    mode: 'apply',
    flags,
    formats: FORMATS,
    recipes: [certificateRecipe],
    override,
  });
  if (!flags.save || !files || !result.confirmed) return;
  const inventory = resolve(ctx.io.cwd, inventoryFile(ctx, flags));
  const hosts = reachedHosts(result).map((h) => h.name);
  if (hosts.length === 0) return;
  const value = savedSection(files, flags, passphrase, inventory);
  await updateInventoryFile(
    inventory,
    hosts.map((name) => ({ op: 'set' as const, path: ['appliances', name, 'certificate'], value })),
  );
  ctx.io.stderr.write(`saved the certificate section of ${hosts.join(', ')} in ${inventory}\n`);
}

const applyCommand = addOneOffFlags;

export const certCommands: CommandModule = {
  register(program, ctx) {
    const cert = program
      .command('cert')
      .description('replace, check or roll back the TLS certificate nginx serves (/etc/nginx/ssl/pexip.pem)');

    applyCommand(cert.command('replace'))
      .description(
        'install a new pexip.pem: checked here, backed up, nginx -t, reload, verified by a TLS handshake',
      )
      .option('--pem <file>', 'a ready pexip.pem: certificate, unencrypted private key, intermediates')
      .option('--cert <file>', 'the server certificate (PEM; intermediates may follow it)')
      .option('--key <file>', 'its private key (PEM)')
      .option('--chain <file>', 'an intermediate certificate file; repeat, issuer after issuer', collect, [])
      .option(
        '--key-passphrase-file <file>',
        'decrypt an encrypted key on this machine with the passphrase in FILE',
      )
      .option(
        '--allow-name-mismatch',
        "install even if the certificate does not cover the appliance's hostname.domain",
      )
      .option(
        '--save',
        "write the certificate into the inventory's appliances that end up with it (comments kept)",
      )
      .addHelpText(
        'after',
        `
Before anything is contacted: the order (certificate, key, intermediates), an unencrypted key
(or --key-passphrase-file), key matches certificate, chain links, validity dates, and that a SAN
(or the CN) covers hostname.domain. RSA keys under 2048 bits are warned about (nginx refuses them).
Then per appliance: upload to a private directory, pexip.pem.backup kept, install 0400 root,
nginx -t, reload (calls survive), TLS handshake with SNI = the FQDN must serve the new certificate
and chain; any failure puts the previous file back and checks it is served again.
Without --pem/--cert the inventory's certificate section is rolled out.

Exit codes: 0 done, 1 an appliance failed (rolled back), 3 invalid input (nothing contacted).

Examples:
  rpctl cert replace -i inventories/prod.yaml --limit rp1 --pem certs/rp1.pem
  rpctl cert replace -i inventories/prod.yaml --limit proxies --cert wildcard.crt \\
      --key wildcard.key --chain intermediate.crt --key-passphrase-file key.pass --save --yes`,
      )
      .action((flags: ReplaceFlags) => replace(ctx, flags));

    addOutputFlags(addConnectionFlags(addInventoryOptions(cert.command('status'))), FORMATS)
      .description(
        "each appliance's certificate: subject, names, issuer, days left, fingerprint, desired, served",
      )
      .addHelpText(
        'after',
        `
Read-only. "served" is a real TLS handshake from this machine to the appliance's address with
SNI = hostname.domain; "desired" compares with the inventory's certificate section.

Exit codes: 0 all as expected, 2 an appliance differs from the inventory, serves another
certificate than the installed one, or its certificate expired; 1 an appliance failed; 3 invalid input.

Examples:
  rpctl cert status -i inventories/prod.yaml
  rpctl cert status -i inventories/prod.yaml --format json | jq '.hosts[] | {name, daysLeft: .installed.daysLeft}'`,
      )
      .action(async (flags: RunFlags & InventoryOptions) => {
        await runFleetCommand(ctx, {
          mode: 'facts',
          flags,
          formats: FORMATS,
          // facts mode reads without planning; the report compares with the desired state itself
          recipes: [certificateRecipe],
          render: async (format, result, selection) => {
            const statuses = await certificateStatuses(result, selection);
            if (statuses.some((s) => s.status === 'drift')) ctx.exitWith(2);
            return format === 'json'
              ? `${JSON.stringify({ runId: result.runId, hosts: statuses }, null, 2)}\n`
              : renderStatusText(statuses);
          },
        });
      });

    applyCommand(cert.command('rollback'))
      .description('put pexip.pem.backup back in place: nginx -t, reload, the served certificate checked')
      .addHelpText(
        'after',
        `
The backup stays on the appliance (its private key never leaves it): it is copied into place
atomically, 0400 root; a failure of nginx -t or of the TLS check puts the current file back.

Exit codes: 0 done (or already in place), 1 an appliance failed or has no backup, 3 invalid input.

Examples:
  rpctl cert rollback -i inventories/prod.yaml --limit rp1
  rpctl cert rollback -i inventories/prod.yaml --limit 'rp1,rp2' --yes --format json`,
      )
      .action(async (flags: RunFlags & InventoryOptions) => {
        if (!flags.limit) {
          throw new InputError("cert rollback needs --limit: name the appliances (--limit '*' for all)");
        }
        await runFleetCommand(ctx, {
          mode: 'apply',
          flags,
          formats: FORMATS,
          recipes: [certificateRollbackRecipe],
        });
      });
  },
};

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
