/**
 * upstreams: the conferencing nodes a reverse proxy forwards to, i.e. the `server` lines of
 * `upstream pexip` in /etc/nginx/sites-available/pexapp. It automates the guide's "Adding or
 * removing Conferencing Nodes" procedure: edit those lines, then `sudo service nginx reload`
 * (graceful: calls in progress survive).
 *
 *   upstreams:
 *     nodes:
 *       - 10.40.0.11
 *       - 10.40.0.12
 *       - { address: 10.40.0.13, weight: 5 }
 *
 * On an appliance whose block lists 10.40.0.11 and 10.40.0.14 the plan is one change:
 *
 *   upstreams: add 10.40.0.12:443, add 10.40.0.13:443, remove 10.40.0.14:443
 *     write /etc/nginx/sites-available/pexapp (owner and mode kept), validate `nginx -t`,
 *     then the handler `service nginx reload`
 *
 * Rules:
 * - Only `server` lines change. Kept servers keep their bytes and order unless a parameter the
 *   inventory declares differs (parameters it does not declare are left as they are); new
 *   servers go after the last server line with its indentation, with the parameters the existing
 *   lines share (`weight=1 max_fails=0`, as the wizard writes them) under the node's own.
 * - One change per host, not one per node: every node edits the same file, written once.
 * - A missing file or block is a plan error: rpctl edits an installed appliance, it does not
 *   make one up. `backup` with ip_hash (the appliance's balancing) is refused: nginx -t would be.
 * - Host names are resolved by nginx when it loads the configuration: one that does not resolve
 *   makes `nginx -t` fail, and the apply rolls back.
 * - Planning and drift read pexapp only. verify reads the configuration with `nginx -T` after the
 *   reload (the one fact read only after a change): the configuration on disk as nginx parses it,
 *   which proves pexapp is loaded; nginx -T cannot show what the running master has loaded. A
 *   configuration nginx refuses is caught by `nginx -t` before any reload.
 */

import {
  type Change,
  type Check,
  defineRecipe,
  HostError,
  type HostFacts,
  type PlanContext,
  type PlanResult,
  sh,
} from '../../src/engine/contract.js';
import { PEXAPP } from '../appliance/paths.js';
import { NGINX_RELOAD, NGINX_TEST, nginxRunsCheck } from '../services/nginx.js';
import { editUpstreamServers } from './edit.js';
import { NginxSyntaxError, parseUpstreamBlock, type UpstreamBlock } from './nginx-upstream.js';
import { type UpstreamNode, upstreamNodes, upstreamsInventorySection } from './schema.js';

export {
  editUpstreamServers,
  renderServerLine,
  serverConvention,
  WIZARD_CONVENTION,
} from './edit.js';
export { formatEndpoint, parseEndpoint, parseUpstreamBlock } from './nginx-upstream.js';
export type { UpstreamNode } from './schema.js';
export { PEXAPP, upstreamsInventorySection };
export const NGINX_DUMP = 'upstreams.nginx-T';
export const RECOMMENDED_NODES = 3;

export interface UpstreamsDesired {
  nodes: UpstreamNode[];
}

// Balancing methods with which nginx refuses `backup` servers.
const NO_BACKUP_WITH = ['ip_hash', 'hash', 'random'];

function parseOrFail(text: string, where: string, host: string): UpstreamBlock | undefined {
  try {
    return parseUpstreamBlock(text);
  } catch (err) {
    if (err instanceof NginxSyntaxError) throw new HostError('plan', `${host}: ${where}: ${err.message}`);
    throw err;
  }
}

function refuseBackupWithHashing(block: UpstreamBlock, nodes: readonly UpstreamNode[], host: string): void {
  const method = block.directives.find((d) => NO_BACKUP_WITH.includes(d.name))?.name;
  const backups = nodes.filter((node) => node.backup === true).map((node) => node.address);
  if (method !== undefined && backups.length > 0) {
    throw new HostError(
      'plan',
      `${host}: upstream pexip balances with ${method}, with which nginx refuses backup servers (${backups.join(', ')}); use down or remove backup`,
    );
  }
}

function summary(edit: { added: string[]; removed: string[]; updated: string[] }): string {
  const parts = [
    ...edit.added.map((e) => `add ${e}`),
    ...edit.removed.map((e) => `remove ${e}`),
    ...edit.updated.map((e) => `update ${e}`),
  ];
  return parts.join(', ');
}

function plan(desired: UpstreamsDesired, facts: HostFacts, ctx: PlanContext): PlanResult {
  const file = facts.file(PEXAPP);
  if (!file.exists) {
    throw new HostError(
      'plan',
      `${ctx.host}: ${PEXAPP} does not exist; rpctl edits the upstream pexip block of an installed appliance and does not create the file (has the install wizard run?)`,
    );
  }
  // latin1 maps each byte to one character and back, so bytes outside our edit survive exactly.
  const text = file.content.toString('latin1');
  const block = parseOrFail(text, PEXAPP, ctx.host);
  if (!block) throw new HostError('plan', `${ctx.host}: ${PEXAPP} has no "upstream pexip" block to edit`);
  refuseBackupWithHashing(block, desired.nodes, ctx.host);

  const warnings: string[] = [];
  const active = desired.nodes.filter((node) => node.down !== true).length;
  if (active < RECOMMENDED_NODES) {
    warnings.push(
      `only ${active} active conferencing node${active === 1 ? '' : 's'} in upstream pexip; the Pexip guide recommends at least ${RECOMMENDED_NODES} conferencing nodes for resilience`,
    );
  }

  const edit = editUpstreamServers(text, block, desired.nodes);
  if (edit.text === text) return { changes: [], warnings };
  const change: Change = {
    summary: summary(edit),
    writes: [{ path: PEXAPP, content: Buffer.from(edit.text, 'latin1') }],
    validate: [NGINX_TEST],
    notify: [NGINX_RELOAD],
  };
  return { changes: [change], warnings };
}

/** The dump starts at the first `# configuration file` header; anything before is not configuration. */
function configurationOf(dump: string): string {
  const start = dump.indexOf('# configuration file ');
  return start === -1 ? dump : dump.slice(start);
}

/**
 * nginx loads the nodes and runs (`nginx -T` reads the disk: a reload of a stopped nginx starts
 * nothing). The TLS handshake on :443 is the services recipe's, when it starts nginx: a reload
 * keeps the listening sockets.
 */
function verify(desired: UpstreamsDesired, after: HostFacts, ctx: PlanContext): Check[] {
  return [...loadsNodes(desired, after), nginxRunsCheck(after, ctx.host)];
}

function loadsNodes(desired: UpstreamsDesired, after: HostFacts): Check[] {
  const fail = (message: string): Check[] => [{ kind: 'assert', ok: false, message }];
  const dump = after.command(NGINX_DUMP);
  if (dump === undefined || dump.code !== 0) {
    return fail(
      `nginx -T failed (exit ${dump?.code ?? 'unknown'}): the configuration nginx loads is not valid`,
    );
  }
  const config = configurationOf(dump.output);
  let block: UpstreamBlock | undefined;
  try {
    block = parseUpstreamBlock(config);
  } catch (err) {
    if (!(err instanceof NginxSyntaxError)) throw err;
    return fail(`the output of nginx -T does not parse: ${err.message}`);
  }
  if (!block) return fail('the configuration nginx loads has no upstream pexip block (is pexapp enabled?)');
  const edit = editUpstreamServers(config, block, desired.nodes);
  const problems = [
    edit.added.length ? `missing ${edit.added.join(', ')}` : '',
    edit.removed.length ? `unexpected ${edit.removed.join(', ')}` : '',
    edit.updated.length ? `other parameters on ${edit.updated.join(', ')}` : '',
  ].filter(Boolean);
  return [
    {
      kind: 'assert',
      ok: problems.length === 0,
      message:
        problems.length === 0
          ? `nginx loads upstream pexip with exactly ${edit.result.join(', ')}`
          : `nginx loads upstream pexip with ${problems.join('; ')}`,
    },
  ];
}

export const upstreamsRecipe = defineRecipe({
  name: 'upstreams',
  description:
    'the conferencing nodes of `upstream pexip` in the nginx reverse proxy (reload, calls survive)',
  section: upstreamsInventorySection,
  desired: (section): UpstreamsDesired => ({ nodes: upstreamNodes(section) }),
  facts: {
    files: [{ path: PEXAPP }],
    // stdout only: the test result nginx prints on stderr is not configuration. Read only after a
    // change: planning and drift need pexapp alone (a hand edit is in the file), and nginx parsing
    // every file it loads costs more than the rest of the facts together.
    commands: [{ id: NGINX_DUMP, command: sh`nginx -T 2>/dev/null`, afterChange: true }],
  },
  plan,
  verify,
});
