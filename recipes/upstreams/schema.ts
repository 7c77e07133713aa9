/**
 * The `upstreams` inventory section and the value types it needs.
 *
 *   upstreams:
 *     nodes:
 *       - 10.40.0.11                                  # port 443, the appliance's usual parameters
 *       - conf-node-2.example.com
 *       - { address: 2001:db8::12, weight: 5 }
 *       - { address: 10.40.0.13, port: 8443, backup: true }
 *
 * The schema only validates (no transforms, so the editor's JSON Schema shows what people type);
 * `upstreamNodes` turns a validated section into the normalized nodes the planner works with.
 */
import { z } from 'zod';
import { defineSection } from '../../src/engine/contract.js';
import { host, intRange, isIPv6, port, showValue } from '../../src/inventory/types.js';

export { isIPv6 } from '../../src/inventory/types.js';

/** nginx time: seconds as a number, or digits with a unit (`10s`, `500ms`, `1m`). */
const nginxTime = z
  .union([
    intRange(0, 86_400),
    z.string().regex(/^[0-9]{1,6}(ms|s|m|h)?$/, 'must be like 10, 10s, 500ms or 1m'),
  ])
  .meta({ description: 'nginx time: seconds, or a number with ms, s, m or h' });

// ---------------------------------------------------------------------------------------------
// The section

const nodeObject = z
  .strictObject({
    address: host,
    port: port.optional().meta({ description: 'default 443' }),
    weight: intRange(1, 1000).optional().meta({ description: 'nginx `weight=`' }),
    max_fails: intRange(0, 1000).optional().meta({ description: 'nginx `max_fails=` (the wizard writes 0)' }),
    fail_timeout: nginxTime.optional(),
    backup: z.boolean().optional().meta({ description: 'nginx `backup` (not allowed with ip_hash)' }),
    down: z.boolean().optional().meta({ description: 'nginx `down`: listed but sent no traffic' }),
  })
  .meta({ description: 'a conferencing node with nginx server parameters' });

const nodeEntry = z.union([host, nodeObject]);
type NodeEntry = z.infer<typeof nodeEntry>;

const NEED_ONE = 'a reverse proxy needs at least one conferencing node';

export const upstreamsSection = z
  .strictObject({
    nodes: z
      .array(nodeEntry)
      .min(1, NEED_ONE)
      .meta({ description: 'the conferencing nodes of `upstream pexip`' }),
  })
  .superRefine((section, ctx) => {
    const seen = new Map<string, number>();
    section.nodes.forEach((entry, index) => {
      const key = addressKey(typeof entry === 'string' ? entry : entry.address);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', index],
          message: `duplicate conferencing node ${showValue(key)} (also nodes[${first}])`,
        });
    });
  });

export type UpstreamsSection = z.infer<typeof upstreamsSection>;

// ---------------------------------------------------------------------------------------------
// Normalized nodes

/** A conferencing node as the planner sees it; parameters left undefined are not managed. */
export interface UpstreamNode {
  /** normalized: IPv6 compressed lower case, host names lower case */
  address: string;
  port: number;
  weight?: number;
  maxFails?: number;
  failTimeout?: string;
  backup?: boolean;
  down?: boolean;
}

export const DEFAULT_PORT = 443;

/** The comparable form of an address: IPv6 compressed and lower case, host names lower case. */
export function addressKey(address: string): string {
  if (isIPv6(address)) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return address.toLowerCase();
}

function toNode(entry: NodeEntry): UpstreamNode {
  if (typeof entry === 'string') return { address: addressKey(entry), port: DEFAULT_PORT };
  const { address, port = DEFAULT_PORT, weight, max_fails, fail_timeout, backup, down } = entry;
  return {
    address: addressKey(address),
    port,
    ...(weight === undefined ? {} : { weight }),
    ...(max_fails === undefined ? {} : { maxFails: max_fails }),
    ...(fail_timeout === undefined ? {} : { failTimeout: String(fail_timeout) }),
    ...(backup === undefined ? {} : { backup }),
    ...(down === undefined ? {} : { down }),
  };
}

export function upstreamNodes(section: UpstreamsSection): UpstreamNode[] {
  return section.nodes.map(toNode);
}

export const upstreamsInventorySection = defineSection({
  key: 'upstreams',
  description: 'the conferencing nodes the reverse proxy forwards to (upstream pexip)',
  schema: upstreamsSection,
});
