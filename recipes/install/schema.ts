/**
 * The `install` inventory section: what `rpctl install` answers the appliance's install wizard
 * that no recipe section already says. The rest comes from the sections the recipes read, so
 * the wizard and the recipes agree by construction: hostname/domain, upstreams (signaling nodes),
 * turn.credentials (restricted TURN), fail2ban.enabled.
 *
 *   install:
 *     newPassword: file:secrets/pexip-password   # default: sudo.password
 *     network: { address: 198.51.100.130/24, gateway: 198.51.100.129 }
 *     dns: [10.44.0.9]
 *     managementNetworks: [10.0.50.0/24]
 *
 * The wizard takes IPv4 only. A value left out is not managed: the wizard's default is accepted
 * (and a question with no default and no value stops the install).
 */
import { z } from 'zod';
import { defineSection, secret } from '../../src/engine/contract.js';
import { host, intRange, ipv4, isIPv4, isNetmask, showValue } from '../../src/inventory/types.js';

/** `a.b.c.d/prefix` with an IPv4 address. */
export function ipv4CidrProblem(text: string): string | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1]!) || Number(match[2]) > 32)
    return `${showValue(text)} is not an IPv4 address with a prefix (a.b.c.d/nn)`;
  return undefined;
}

const withProblem = (problem: (s: string) => string | undefined, description: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const reason = problem(value);
      if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
    })
    .meta({ description });

const ipv4Cidr = withProblem(ipv4CidrProblem, 'an IPv4 address with its prefix, e.g. 10.0.50.0/24');
const addressOrCidr = withProblem(
  (s) => (isIPv4(s) ? undefined : ipv4CidrProblem(s)),
  'an IPv4 address, or address/prefix (then netmask is not needed)',
);
const netmask = withProblem(
  (s) => (isNetmask(s) ? undefined : `${showValue(s)} is not a netmask such as 255.255.255.0`),
  'a dotted netmask such as 255.255.255.0',
);
const nicName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'not a network interface name (e.g. nic0)')
  .meta({ description: 'a network interface as the wizard lists it, e.g. nic0' });

const route = z
  .strictObject({
    to: ipv4Cidr.meta({ description: 'the network, e.g. 10.0.0.0/8' }),
    via: ipv4.meta({ description: 'the router, reachable from the internal interface' }),
  })
  .meta({ description: 'a custom route on the internal interface' });

const nicSettings = {
  address: addressOrCidr,
  netmask: netmask.optional(),
};

const singleNic = z
  .strictObject({
    ...nicSettings,
    gateway: ipv4.meta({ description: 'the default gateway' }),
    nic: nicName
      .optional()
      .meta({ description: 'the NIC to use when the appliance has several (default nic0)' }),
  })
  .meta({ description: 'one network interface: its address, netmask and default gateway' });

const dualNic = z
  .strictObject({
    internal: z
      .strictObject({
        nic: nicName,
        ...nicSettings,
        routes: z
          .array(route)
          .optional()
          .meta({ description: 'custom routes via routers on the internal network' }),
      })
      .meta({ description: 'the internal-facing NIC (SSH, signaling and media towards the nodes)' }),
    external: z
      .strictObject({ nic: nicName, ...nicSettings, gateway: ipv4 })
      .meta({ description: 'the external-facing NIC, which has the default gateway' }),
  })
  .meta({ description: 'two network interfaces (the wizard\'s "Dual NIC")' });

const managementNetwork = z.union([
  ipv4Cidr,
  z.strictObject({ address: ipv4, netmask }).meta({ description: 'a network address and its netmask' }),
]);

const snmpText = (longest: number, what: string) =>
  z
    .string()
    .max(longest, `the wizard takes at most ${longest} characters`)
    // typed on the wizard's terminal: no line breaks, no characters that edit the line or signal
    .regex(/^[^\x00-\x1f\x7f]*$/, 'one line without control characters')
    .optional()
    .meta({ description: what });

export const installSection = z
  .strictObject({
    generation: z.enum(['v4', 'v7']).optional().meta({
      description:
        "which install wizard the appliance runs: v7 (7.1 OVA) or v4 (the 002 guide's); default: recognised by its text. Saying v4 checks before connecting what the v4 wizard cannot take",
    }),
    initialPassword: secret.optional().meta({
      description: "pexip's expired factory password (secret reference); default the factory PEXIP",
    }),
    newPassword: secret.optional().meta({
      description:
        "pexip's new password, set at the first login (secret reference; at least 8 characters, 3 of lower, upper, digit, special); default sudo.password",
    }),
    network: z.union([singleNic, dualNic]).meta({
      description: 'the NIC configuration: one NIC (address, gateway), or internal and external (two NICs)',
    }),
    dns: z
      .array(ipv4)
      .min(1)
      .optional()
      .meta({ description: 'DNS servers, in order (default: what the wizard detects)' }),
    ntp: z.array(host).min(1).optional().meta({
      description: "NTP servers: addresses or names (default: the wizard's *.pexip.pool.ntp.org)",
    }),
    contentSecurityPolicy: z.boolean().optional().meta({
      description: 'the reverse proxy adds a Content-Security-Policy header (the wizard defaults to yes)',
    }),
    turn: z
      .strictObject({
        enabled: z.boolean().optional().meta({
          description:
            'run the TURN server (default: true when turn.credentials, mode or sharedSecret is set); without a web reverse proxy it always runs',
        }),
        mode: z.enum(['restricted', 'permissive']).optional().meta({
          description:
            'restricted (default): turn.credentials, relaying to mediaNodes only; permissive: a shared secret, relaying anywhere (direct media)',
        }),
        port443: z.boolean().optional().meta({
          description: 'listen on 443 instead of 3478 (only without a web reverse proxy)',
        }),
        mediaNodes: z.array(ipv4).min(1).optional().meta({
          description: 'restricted mode: the conferencing nodes TURN relays to (default: upstreams.nodes)',
        }),
        sharedSecret: secret.optional().meta({
          description: 'permissive mode: the TURN shared secret (secret reference)',
        }),
      })
      .optional()
      .meta({ description: 'the TURN server as the wizard sets it up' }),
    managementNetworks: z
      .array(managementNetwork)
      .min(1, 'at least one: without a management network the wizard disables SSH')
      .meta({
        description: 'networks allowed to SSH to the appliance (iptables): a.b.c.d/nn or {address, netmask}',
      }),
    snmp: z
      .strictObject({
        community: snmpText(16, 'the read-only community (default public)'),
        location: snmpText(70, 'sysLocation'),
        contact: snmpText(70, 'sysContact'),
        name: snmpText(70, 'sysName'),
        description: snmpText(70, 'sysDescr'),
      })
      .optional()
      .meta({ description: 'SNMPv2c read only, enabled when present' }),
    regenerate: z
      .strictObject({
        ssl: z
          .boolean()
          .optional()
          .meta({ description: 'a new self-signed pexip.pem (default false: keep it)' }),
        ssh: z.boolean().optional().meta({ description: 'new SSH host keys (default false: keep them)' }),
      })
      .optional()
      .meta({ description: 'reruns only (the first run always regenerates both)' }),
    rebootTimeout: intRange(30, 3600).optional().meta({
      description: 'seconds to wait for the appliance to come back after the wizard reboots it (default 300)',
    }),
  })
  .meta({ description: 'answers for the install wizard (rpctl install); see inventories/example.yaml' });

export type InstallSection = z.output<typeof installSection>;

export const installInventorySection = defineSection({
  key: 'install',
  description: 'answers for the install wizard (rpctl install)',
  schema: installSection,
});
