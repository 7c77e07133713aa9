/**
 * The upstreams planner as a table: the nodes an inventory declares and the appliance's pexapp
 * (the lab's, as the wizard writes it: 10.40.0.11-13, ip_hash) -> the plan.
 */
import type { ApplianceSpec } from '../../../test/lab/files.js';
import { pexapp } from '../../../test/lab/files.js';
import type { PlannerCase } from '../../../test/planner-cases.js';
import { fakeFacts } from '../../../test/unit/support/fake-facts.js';
import { PEXAPP, type UpstreamsDesired } from '../recipe.js';
import { upstreamNodes, upstreamsSection } from '../schema.js';

const spec: ApplianceSpec = {
  name: 'rp1',
  index: 1,
  address: '127.0.2.1',
  generation: 'v7',
  state: 'installed',
  hostname: 'rp1',
  domain: 'lab.example',
  nodes: ['10.40.0.11', '10.40.0.12', '10.40.0.13'],
  turnUser: 'turnuser',
};
/** pexapp as the wizard writes it */
export const WIZARD_FILE = pexapp(spec);

/** The desired state of an inventory's `upstreams.nodes`. */
const nodes = (...list: unknown[]): UpstreamsDesired => ({
  nodes: upstreamNodes(upstreamsSection.parse({ nodes: list })),
});
// The file alone: `nginx -T` is read only after a change, for verification.
const host = (file: string | undefined) => fakeFacts({ files: file === undefined ? {} : { [PEXAPP]: file } });
const RELOAD = { writes: [PEXAPP], notify: ['nginx:reload'] };

export const UPSTREAMS_CASES: PlannerCase<UpstreamsDesired>[] = [
  {
    name: 'in sync, in any order: no change',
    desired: nodes('10.40.0.13', '10.40.0.11', '10.40.0.12'),
    facts: host(WIZARD_FILE),
    expected: { changes: [] },
  },
  {
    name: 'a new node: one change, the file, a graceful reload',
    desired: nodes('10.40.0.11', '10.40.0.12', '10.40.0.13', '10.40.0.14'),
    facts: host(WIZARD_FILE),
    expected: { changes: [{ summary: 'add 10.40.0.14:443', ...RELOAD, disruptive: false }] },
  },
  {
    name: 'a node removed, below the 3 the guide recommends: a warning',
    desired: nodes('10.40.0.11', '10.40.0.12'),
    facts: host(WIZARD_FILE),
    expected: {
      changes: [{ summary: 'remove 10.40.0.13:443', ...RELOAD }],
      warnings: [/^only 2 active conferencing nodes in upstream pexip/],
    },
  },
  {
    name: 'added, removed and updated nodes: still one change',
    desired: nodes({ address: '10.40.0.11', weight: 5 }, '10.40.0.12', '10.40.0.14'),
    facts: host(WIZARD_FILE),
    expected: {
      changes: [{ summary: 'add 10.40.0.14:443, remove 10.40.0.13:443, update 10.40.0.11:443', ...RELOAD }],
    },
  },
  {
    name: 'a down node does not count as active',
    desired: nodes('10.40.0.11', '10.40.0.12', { address: '10.40.0.13', down: true }),
    facts: host(WIZARD_FILE),
    expected: { changes: [{ summary: 'update 10.40.0.13:443', ...RELOAD }], warnings: [/^only 2 active/] },
  },
  {
    name: 'backup with ip_hash: a plan error (nginx -t would refuse it)',
    desired: nodes('10.40.0.11', '10.40.0.12', { address: '10.40.0.13', backup: true }),
    facts: host(WIZARD_FILE),
    expected: { error: /balances with ip_hash, with which nginx refuses backup servers \(10\.40\.0\.13\)/ },
  },
  {
    name: 'no pexapp: a plan error, rpctl does not create it',
    desired: nodes('10.40.0.11'),
    facts: host(undefined),
    expected: { error: /pexapp does not exist/ },
  },
  {
    name: 'no upstream pexip block: a plan error',
    desired: nodes('10.40.0.11'),
    facts: host('server {\n  listen 443;\n}\n'),
    expected: { error: /has no "upstream pexip" block to edit/ },
  },
];
