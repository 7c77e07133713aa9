/**
 * One-off upstream changes (`rpctl upstream add|remove NODE...`), planned against each host's
 * current `upstream pexip` block: the desired list is what the host has, minus the removed nodes,
 * plus the added ones; the upstreams recipe then plans it, so kept lines stay byte for byte and the
 * same validation, reload and verification apply.
 *
 *   upstreamsEditRecipe({ add: [parseNodeArgument('10.40.0.13')], remove: [] })
 */
import {
  HostError,
  type HostFacts,
  InputError,
  type PlanContext,
  type Recipe,
} from '../../src/engine/contract.js';
import { isHost, isIPv6, showValue } from '../../src/inventory/types.js';
import { formatEndpoint, parseUpstreamBlock } from './nginx-upstream.js';
import { PEXAPP, type UpstreamNode, type UpstreamsDesired, upstreamsRecipe } from './recipe.js';
import { addressKey, DEFAULT_PORT } from './schema.js';

export interface UpstreamsEdit {
  add: UpstreamNode[];
  remove: UpstreamNode[];
}

/** `10.40.0.13`, `node.example.com:8443`, `2001:db8::13`, `[2001:db8::13]:8443`; port 443 when omitted. */
export function parseNodeArgument(text: string): UpstreamNode {
  if (isIPv6(text)) return { address: addressKey(text), port: DEFAULT_PORT };
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  const [, bracketed, plain, portText] = match ?? [];
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  const valid = bracketed !== undefined ? isIPv6(bracketed) : plain !== undefined && isHost(plain);
  if (!valid || port < 1 || port > 65535) {
    throw new InputError(
      `node ${showValue(text)}: expected an IPv4/IPv6 address or host name, optionally with :PORT`,
    );
  }
  return { address: addressKey((bracketed ?? plain)!), port };
}

const same = (a: UpstreamNode, b: UpstreamNode) => a.address === b.address && a.port === b.port;

/** The nodes of the host's `upstream pexip` block, in order (parameters left unmanaged). */
export function currentNodes(facts: HostFacts, host: string): UpstreamNode[] {
  const file = facts.file(PEXAPP);
  const text = file.exists ? file.content.toString('latin1') : undefined;
  const block = text === undefined ? undefined : parseUpstreamBlock(text);
  if (!block) throw new HostError('plan', `${host}: ${PEXAPP} has no "upstream pexip" block`);
  return block.servers.flatMap((s) =>
    s.endpoint ? [{ address: s.endpoint.address, port: s.endpoint.port }] : [],
  );
}

function desiredAfterEdit(edit: UpstreamsEdit, facts: HostFacts, ctx: PlanContext): UpstreamsDesired {
  const kept = currentNodes(facts, ctx.host).filter((node) => !edit.remove.some((r) => same(r, node)));
  const nodes = [...kept, ...edit.add.filter((node) => !kept.some((k) => same(k, node)))];
  if (nodes.length === 0) {
    throw new HostError(
      'plan',
      `${ctx.host}: removing ${edit.remove.map(formatEndpoint).join(', ')} would leave no conferencing node`,
    );
  }
  return { nodes };
}

export function upstreamsEditRecipe(edit: UpstreamsEdit): Recipe<UpstreamsEdit> {
  return {
    ...upstreamsRecipe,
    verifyRestored: undefined,
    services: undefined,
    desired: () => edit,
    plan(desired, facts, ctx) {
      const result = upstreamsRecipe.plan(desiredAfterEdit(desired, facts, ctx), facts, ctx);
      const absent = desired.remove.filter((r) => !currentNodes(facts, ctx.host).some((n) => same(n, r)));
      if (absent.length)
        result.warnings = [
          ...(result.warnings ?? []),
          `not in upstream pexip: ${absent.map(formatEndpoint).join(', ')}`,
        ];
      return result;
    },
    verify(desired, after, ctx) {
      const nodes = currentNodes(after, ctx.host);
      const missing = desired.add.filter((a) => !nodes.some((n) => same(n, a)));
      const left = desired.remove.filter((r) => nodes.some((n) => same(n, r)));
      return [
        ...(upstreamsRecipe.verify?.({ nodes }, after, ctx) ?? []),
        {
          kind: 'assert',
          ok: missing.length === 0 && left.length === 0,
          message:
            missing.length + left.length === 0
              ? 'the added nodes are present and the removed ones gone'
              : `still wrong: ${[...missing.map((n) => `missing ${formatEndpoint(n)}`), ...left.map((n) => `still has ${formatEndpoint(n)}`)].join(', ')}`,
        },
      ];
    },
  };
}

type InventoryNode = string | { address: string; port?: number; [key: string]: unknown };

/**
 * The inventory's `upstreams.nodes` for an appliance after a one-off: entries that already describe
 * a kept node stay as written (with their parameters), new nodes are added in their short form.
 */
export function savedNodes(
  inventory: readonly InventoryNode[] | undefined,
  result: readonly UpstreamNode[],
): InventoryNode[] {
  const key = (entry: InventoryNode): UpstreamNode =>
    typeof entry === 'string'
      ? { address: addressKey(entry), port: DEFAULT_PORT }
      : { address: addressKey(entry.address), port: entry.port ?? DEFAULT_PORT };
  return result.map(
    (node) =>
      (inventory ?? []).find((entry) => same(key(entry), node)) ??
      (node.port === DEFAULT_PORT ? node.address : { address: node.address, port: node.port }),
  );
}
