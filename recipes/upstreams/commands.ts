/**
 * `rpctl upstream list|add|remove`: one-off changes to the conferencing nodes of `upstream pexip`,
 * planned by the engine against each appliance's current block (upstreamsEditRecipe), with the same
 * validation, graceful reload, verification and rollback as `apply`. `--save` adds or removes the
 * nodes in the inventory's `upstreams.nodes` where it is declared, so the next drift check stays
 * clean; `list` is a plan of the upstreams recipe, reported node by node.
 */

import type {
  AnyOneOffCommand,
  ChangeCommand,
  HostOutcome,
  OneOffGroup,
  ReportCommand,
} from '../../src/engine/contract.js';
import { InputError, oneLine } from '../../src/engine/contract.js';
import { formatEndpoint } from './nginx-upstream.js';
import {
  currentNodes,
  parseNodeArgument,
  savedNodes,
  type UpstreamsEdit,
  upstreamsEditRecipe,
} from './one-off.js';
import { type UpstreamNode, upstreamsRecipe } from './recipe.js';
import { type UpstreamsSection, upstreamNodes } from './schema.js';

export const upstreamGroup: OneOffGroup = {
  name: 'upstream',
  description: 'list, add or remove the conferencing nodes nginx forwards to (one-off)',
};

type InventoryNodes = Parameters<typeof savedNodes>[0];

const same = (a: UpstreamNode, b: UpstreamNode) => a.address === b.address && a.port === b.port;

/** The inventory's nodes after the edit: kept entries as written, added ones in their short form. */
function editedNodes(edit: UpstreamsEdit, current: unknown, appliance: string): InventoryNodes {
  const section = current as UpstreamsSection | undefined;
  if (!section?.nodes) {
    throw new InputError(
      `--save: ${appliance} has no upstreams.nodes in the inventory to edit; declare them first (rpctl upstream list shows the current ones)`,
    );
  }
  const kept = upstreamNodes(section).filter((node) => !edit.remove.some((r) => same(r, node)));
  const added = edit.add.filter((node) => !kept.some((k) => same(k, node)));
  return savedNodes(section.nodes as InventoryNodes, [...kept, ...added]);
}

function editCommand(verb: 'add' | 'remove'): ChangeCommand<UpstreamsEdit> {
  return {
    kind: 'change',
    path: ['upstream', verb],
    summary: `${verb} conferencing nodes in upstream pexip on the selected appliances`,
    arguments: [
      {
        name: 'nodes',
        description: 'ADDRESS or ADDRESS:PORT (default port 443), IPv6 as [ADDRESS]:PORT',
        required: true,
        variadic: true,
      },
    ],
    help: `
The appliance's current block is edited: kept server lines stay byte for byte, nginx -t validates,
a graceful reload applies (calls survive), and nginx -T verifies; a failure restores the file.`,
    examples: [
      `rpctl upstream ${verb} -i inventories/prod.yaml --limit rp-lon-1,rp-lon-2 10.40.0.13 --serial 1`,
      `rpctl upstream ${verb} -i inventories/prod.yaml --limit dc1 '[2001:db8::13]:443' --yes --save`,
    ],
    input({ args: [given] }) {
      const nodes = ((given ?? []) as readonly string[]).map(parseNodeArgument);
      return verb === 'add' ? { add: nodes, remove: [] } : { add: [], remove: nodes };
    },
    recipes: (edit) => [upstreamsEditRecipe(edit)],
    section: 'upstreams',
    save: {
      writes: 'upstreams.nodes',
      values: (edit, current, appliance) => [
        { path: ['upstreams', 'nodes'], value: editedNodes(edit, current, appliance) },
      ],
    },
  };
}

interface ListRow {
  name: string;
  nodes?: string[];
  inventory?: 'in sync' | 'differs' | 'not managed';
  error?: string;
}

function listRow(host: HostOutcome): ListRow {
  if (!host.facts) return { name: host.name, error: host.error?.message ?? host.status };
  try {
    const nodes = currentNodes(host.facts, host.name).map(formatEndpoint);
    const managed = host.managed.some((m) => m.recipe === upstreamsRecipe.name);
    const inventory = !managed ? 'not managed' : host.status === 'in-sync' ? 'in sync' : 'differs';
    return { name: host.name, nodes, inventory };
  } catch (err) {
    return { name: host.name, error: oneLine(err) };
  }
}

const list: ReportCommand<void> = {
  kind: 'report',
  path: ['upstream', 'list'],
  summary: 'show the nodes of upstream pexip on each appliance, and whether they match the inventory',
  exitCodes: {
    0: 'read; every managed appliance matches the inventory',
    2: "an appliance's nodes differ from the inventory",
  },
  examples: ['rpctl upstream list -i inventories/prod.yaml --limit dc1 --format json'],
  input: () => undefined,
  mode: 'plan',
  recipes: () => [upstreamsRecipe],
  render(format, result) {
    const rows = result.hosts.map(listRow);
    if (format === 'json') return `${JSON.stringify({ hosts: rows }, null, 2)}\n`;
    return rows
      .map((r) =>
        r.error
          ? `${r.name}: ${r.error}\n`
          : `${r.name}: ${r.nodes?.join(', ')} (inventory: ${r.inventory})\n`,
      )
      .join('');
  },
};

export const upstreamCommands: readonly AnyOneOffCommand[] = [
  list,
  editCommand('add'),
  editCommand('remove'),
];
