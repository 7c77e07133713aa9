/**
 * The certificate planner as a table: the certificate the inventory names (checked and assembled
 * on this machine) and the pexip.pem the appliance has (only its certificates come back) -> the
 * plan. The appliance reports the name rp1.vc.example.com.
 */
import type { PlannerCase } from '../../../test/planner-cases.js';
import { type CertificateDesired, PEXIP_PEM } from '../recipe.js';
import { current, desiredOf, hostWith, next, pemFile, ref, wrongName } from './fixtures.js';

const NEXT = desiredOf({ pem: ref(pemFile('next-case.pem', next)) }).desired;
const CURRENT_PEM = current.certPem + current.keyPem;
const RELOAD = { writes: [PEXIP_PEM], notify: ['nginx:reload'] };
/** the inventory sets no hostname and domain: the name the appliance reports is checked */
const WRONG_NAME = desiredOf({ pem: ref(pemFile('wrong-case.pem', wrongName)) }, false).desired;
const WRONG_NAME_ALLOWED = desiredOf(
  { pem: ref(pemFile('wrong-allowed-case.pem', wrongName)), allowNameMismatch: true },
  false,
).desired;

export const CERTIFICATE_CASES: PlannerCase<CertificateDesired>[] = [
  {
    name: 'no pexip.pem yet: installed, nginx -t, graceful reload',
    desired: NEXT,
    facts: hostWith(undefined),
    expected: {
      changes: [{ summary: /^install CN=rp1\.vc\.example\.com .*, valid until \d{4}-\d\d-\d\d$/, ...RELOAD }],
    },
  },
  {
    name: 'the same file installed (by hash): in sync',
    desired: NEXT,
    facts: hostWith(NEXT.pem.content),
    expected: { changes: [] },
  },
  {
    name: 'another certificate installed: replaced, both named',
    desired: NEXT,
    facts: hostWith(CURRENT_PEM),
    expected: {
      changes: [
        {
          summary: /^replace CN=rp1\.vc\.example\.com .* with CN=rp1\.vc\.example\.com .*, valid until /,
          ...RELOAD,
        },
      ],
    },
  },
  {
    name: 'the same certificate laid out differently: rewritten',
    desired: NEXT,
    facts: hostWith(next.certPem + next.keyPem),
    expected: {
      changes: [
        { summary: /^rewrite pexip\.pem: same certificate .*, its key, chain or layout differ$/, ...RELOAD },
      ],
    },
  },
  {
    name: 'a certificate for another name than the appliance reports: a plan error',
    desired: WRONG_NAME,
    facts: hostWith(CURRENT_PEM),
    expected: {
      error: /certificate: .*rp1\.vc\.example\.com, the name the appliance reports .*--allow-name-mismatch/,
    },
  },
  {
    name: 'the same with allowNameMismatch: installed',
    desired: WRONG_NAME_ALLOWED,
    facts: hostWith(CURRENT_PEM),
    expected: { changes: [{ summary: /^replace .* with CN=rp2\.vc\.example\.com/, ...RELOAD }] },
  },
];
