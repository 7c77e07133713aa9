/**
 * certificate.acme on the appliance: where the key lives, the command that makes it and prints
 * only its CSR, and the step that joins an issued chain with it into pexip.pem.
 *
 *   ACME_DIR      /etc/nginx/ssl/rpctl-acme, 0700 root
 *   PENDING_KEY   the key of the order running (removed when the order fails)
 *   ACME_KEY      the installed certificate's key, 0600 root (also inside pexip.pem)
 *   ISSUED_FILE   `directory=URL` and `leaf=SHA256` of the certificate certificate.acme installed
 */
import {
  HostError,
  joinCommands,
  type RemoteStep,
  type ShellCommand,
  sh,
  uploadedFile,
} from '../../src/engine/contract.js';
import { PEXIP_PEM, PEXIP_PEM_BACKUP } from '../appliance/paths.js';
import { dnsNames, leafFingerprint } from './acme-due.js';
import type { IssuedCertificate } from './acme-order.js';
import type { AcmeKeyType } from './acme-schema.js';
import { pemCertificates } from './describe.js';

export const ACME_DIR = '/etc/nginx/ssl/rpctl-acme';
export const PENDING_KEY = `${ACME_DIR}/pending.key`;
export const ACME_KEY = `${ACME_DIR}/pexip.key`;
export const ISSUED_FILE = `${ACME_DIR}/issued`;
const CSR_CONFIG = `${ACME_DIR}/csr.cnf`;
const STAGING = '/etc/nginx/ssl/.pexip.pem.rpctl-acme';

/** Remove what a failed order left: its key and CSR configuration. */
export const discardCommand = sh`rm -f ${PENDING_KEY} ${CSR_CONFIG}`;

function keyCommand(keyType: AcmeKeyType): ShellCommand {
  return keyType === 'rsa-2048'
    ? sh`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ${PENDING_KEY}`
    : sh`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out ${PENDING_KEY}`;
}

/**
 * Make the key (0600 root in the 0700 ACME_DIR) and print only the CSR for `names`, the first as
 * its CN. A configuration file rather than `-addext`, which OpenSSL before 1.1.1 lacks.
 */
export function csrCommand(names: readonly string[], keyType: AcmeKeyType): ShellCommand {
  const sans = names.map((n) => `DNS:${n}`).join(',');
  const config = `[req]\ndistinguished_name=dn\nreq_extensions=ext\nprompt=no\n[dn]\nCN=${names[0]}\n[ext]\nsubjectAltName=${sans}\n`;
  return joinCommands(
    [
      sh`set -e`,
      sh`umask 077`,
      sh`mkdir -p ${ACME_DIR}`,
      sh`chmod 0700 ${ACME_DIR}`,
      sh`rm -f ${PENDING_KEY}`,
      sh`${keyCommand(keyType)} 2>/dev/null`,
      sh`chmod 0600 ${PENDING_KEY}`,
      sh`printf %s ${config} > ${CSR_CONFIG}`,
      sh`openssl req -new -key ${PENDING_KEY} -config ${CSR_CONFIG} -outform PEM`,
      sh`rm -f ${CSR_CONFIG}`,
    ],
    '; ',
  );
}

const LEAF_UPLOAD = 'acme-leaf.pem';
const CHAIN_UPLOAD = 'acme-chain.pem';

/** `[ A = B ] || { echo WHY; exit 1; }` */
const orFail = (test: ShellCommand, why: string) => sh`${test} || { echo ${why}; exit 1; }`;
const publicKeyHash = (command: ShellCommand) => sh`"$(${command} | openssl sha256)"`;

/**
 * The step that installs an issued chain with the appliance's pending key: checks the key is the
 * certificate's, keeps pexip.pem.backup, renames into place 0400 root (certificate, key,
 * intermediates: the guide's order), keeps the key as ACME_KEY, records ISSUED_FILE.
 */
export function installSteps(
  issued: IssuedCertificate,
  names: readonly string[],
  directory: string,
): RemoteStep[] {
  const blocks = issued.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const [leafPem, ...intermediates] = blocks;
  if (!leafPem) throw new HostError('acquire', 'the CA sent no certificate');
  const leaf = pemCertificates(leafPem)[0]!;
  const missing = names.filter((n) => !dnsNames(leaf).includes(n));
  if (missing.length > 0)
    throw new HostError('acquire', `the issued certificate does not cover ${missing.join(', ')}`);
  const leafFile = uploadedFile(LEAF_UPLOAD);
  const chainFile = uploadedFile(CHAIN_UPLOAD);
  const certificateKey = publicKeyHash(sh`openssl x509 -noout -pubkey -in ${leafFile}`);
  const pendingKey = publicKeyHash(sh`openssl pkey -pubout -in ${PENDING_KEY}`);
  const issuedNew = `${ISSUED_FILE}.new`;
  const command = joinCommands(
    [
      sh`set -e`,
      orFail(sh`[ -s ${PENDING_KEY} ]`, 'the key made for this order is gone'),
      orFail(
        sh`[ ${certificateKey} = ${pendingKey} ]`,
        'the issued certificate is not for the key made on the appliance',
      ),
      sh`umask 077`,
      sh`cat ${leafFile} ${PENDING_KEY} ${chainFile} > ${STAGING}`,
      sh`chown root:root ${STAGING}`,
      sh`chmod 0400 ${STAGING}`,
      sh`if [ -e ${PEXIP_PEM} ]; then cp -a ${PEXIP_PEM} ${PEXIP_PEM_BACKUP}; fi`,
      sh`mv -f ${STAGING} ${PEXIP_PEM}`,
      sh`mv -f ${PENDING_KEY} ${ACME_KEY}`,
      sh`printf %s ${`directory=${directory}\nleaf=${leafFingerprint(leaf)}\n`} > ${issuedNew}`,
      sh`mv -f ${issuedNew} ${ISSUED_FILE}`,
    ],
    '; ',
  );
  return [
    {
      summary: `join the issued certificate and the key made on the appliance into ${PEXIP_PEM}`,
      command,
      secretFiles: {
        [LEAF_UPLOAD]: `${leafPem}\n`,
        [CHAIN_UPLOAD]: intermediates.map((b) => `${b}\n`).join(''),
      },
      touches: [PEXIP_PEM, PEXIP_PEM_BACKUP, ACME_KEY, ISSUED_FILE],
    },
  ];
}
