/**
 * What every recipe may want to know about a Pexip RP/TURN appliance: its generation, its names
 * and the state of its services. Pure: a FactSpec to gather and a function to read the facts.
 *
 *   const recipe: Recipe<X> = {
 *     facts: mergeFactSpecs([applianceFactSpec, { files: [{ path: '/etc/turnserver.conf' }] }]),
 *     plan(desired, facts, ctx) {
 *       const appliance = applianceFacts(facts, ctx.host);
 *       const restart = sh`service ${appliance.turnService} restart`;   // coturn on v7
 *
 * Generations (docs/appliance.md):
 *   v4  ifupdown's /etc/network/interfaces + the rfc5766-turn-server service (the 002 guide)
 *   v7  netplan's /etc/netplan/01-netcfg.yaml + the coturn service (current OVA/AMI)
 * A host with marks of both generations, or with no TURN service or network file at all, is
 * reported, never guessed.
 */

import { type FactSpec, HostError, type HostFacts, joinCommands, sh } from '../../src/engine/contract.js';
import { APPLIANCE_FILES } from './paths.js';

export type Generation = 'v4' | 'v7';
export type TurnService = 'rfc5766-turn-server' | 'coturn';
export type ServiceState = 'running' | 'stopped' | 'absent';

export { APPLIANCE_FILES };

const NAMES = 'appliance.names';
const SERVICES = 'appliance.services';
// fail2ban is not here: its `status` starts Python (`fail2ban-client ping`); the fail2ban concern
// reads its state from the PID file, /proc and the socket, only where it is managed.
const SERVICE_NAMES = ['nginx', 'coturn', 'rfc5766-turn-server'] as const;

// Every one of these services ships a SysV script on both generations, and `service` falls back to
// it, so a missing script means the service is not installed. Exit 0 of `status` is running.
// nginx is read as Debian's init script reads it (status_of_proc -p on the PID file nginx.conf's
// `pid` names, /run/nginx.pid by default) without the script's cost: that PID is alive and is
// nginx's master (a PID reused by another process is not nginx).
const NGINX_RUNNING = sh`p=$(awk 'BEGIN { RS = "[;{}]" } { gsub(/#[^\\n]*/, "") } $1 == "pid" { print $2; exit }' /etc/nginx/nginx.conf 2>/dev/null); n=$(cat "\${p:-/run/nginx.pid}" 2>/dev/null); case "$n" in '' | *[!0-9]*) false ;; *) grep -aq '^nginx: master process' "/proc/$n/cmdline" 2>/dev/null ;; esac`;
const statusCommand = (name: (typeof SERVICE_NAMES)[number]) =>
  name === 'nginx' ? NGINX_RUNNING : sh`service ${name} status >/dev/null 2>&1`;
const serviceStates = joinCommands(
  SERVICE_NAMES.map(
    (name) =>
      sh`if [ -e ${`/etc/init.d/${name}`} ]; then ${statusCommand(name)}; echo ${name} $?; else echo ${name} absent; fi`,
  ),
  '; ',
);

export const applianceFactSpec: FactSpec = {
  files: Object.values(APPLIANCE_FILES).map((path) => ({ path })),
  commands: [
    // `timeout`: hostname -f asks the resolver, which may stall when DNS is unreachable.
    { id: NAMES, command: sh`echo "hostname=$(hostname)"; echo "fqdn=$(timeout 5 hostname -f 2>/dev/null)"` },
    { id: SERVICES, command: serviceStates },
  ],
};

export interface ApplianceFacts {
  generation: Generation;
  /** the configured host name (/etc/hostname), without the domain */
  hostname: string;
  /** undefined when neither /etc/hosts nor `hostname -f` gives one */
  domain: string | undefined;
  /** hostname.domain, or the bare hostname when there is no domain */
  fqdn: string;
  turnService: TurnService;
  /** /etc/network/interfaces (v4) or /etc/netplan/01-netcfg.yaml (v7) */
  networkFile: string;
  /** `realm=` of /etc/turnserver.conf (the deployment's domain); undefined before the wizard has run */
  turnRealm: string | undefined;
  /** nginx and the generation's TURN service (fail2ban's: recipes/fail2ban/running.ts) */
  services: Record<string, ServiceState>;
}

const lines = (text: string | undefined): string[] => (text ?? '').split('\n').map((l) => l.trim());

/** An ifupdown file that configures a real interface; Ubuntu leaves one made only of comments. */
function configuresInterfaces(text: string | undefined): boolean {
  return lines(text).some((line) => /^iface\s+(?!lo\s)\S+\s+inet6?\s/.test(line));
}

function generationOf(facts: HostFacts, host: string): Generation {
  const marks = {
    ifupdown: configuresInterfaces(facts.text(APPLIANCE_FILES.interfaces)),
    netplan: facts.file(APPLIANCE_FILES.netplan).exists,
    rfc5766: facts.file(APPLIANCE_FILES.rfc5766Init).exists,
    coturn: facts.file(APPLIANCE_FILES.coturnInit).exists,
  };
  const missing = [
    marks.rfc5766 || marks.coturn
      ? ''
      : `no TURN service (${APPLIANCE_FILES.coturnInit} or ${APPLIANCE_FILES.rfc5766Init})`,
    marks.ifupdown || marks.netplan
      ? ''
      : `no network configuration (${APPLIANCE_FILES.interfaces} or ${APPLIANCE_FILES.netplan})`,
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new HostError(
      'not-an-appliance',
      `${host}: does not look like a Pexip RP/TURN appliance: ${missing.join(', ')}`,
    );
  }
  const v4 = marks.ifupdown || marks.rfc5766;
  const v7 = marks.netplan || marks.coturn;
  if (marks.ifupdown && marks.rfc5766 && !v7) return 'v4';
  if (marks.netplan && marks.coturn && !v4) return 'v7';
  const found = [
    marks.ifupdown && `${APPLIANCE_FILES.interfaces} (ifupdown, v4)`,
    marks.rfc5766 && 'rfc5766-turn-server (v4)',
    marks.netplan && `${APPLIANCE_FILES.netplan} (netplan, v7)`,
    marks.coturn && 'coturn (v7)',
  ].filter(Boolean);
  throw new HostError(
    'ambiguous-generation',
    `${host}: cannot tell the appliance generation, it has ${found.join(', ')}; a v4 appliance has ifupdown and rfc5766-turn-server, a v7 one netplan and coturn`,
  );
}

/** `key=value` lines printed by the names command. */
function keyValues(output: string | undefined): Map<string, string> {
  const pairs = lines(output).map((line) => [
    line.slice(0, line.indexOf('=')),
    line.slice(line.indexOf('=') + 1),
  ]);
  return new Map(pairs.filter(([key]) => key) as [string, string][]);
}

/** The canonical name /etc/hosts gives the host name, when it is hostname.domain. */
function fqdnFromHosts(hosts: string | undefined, hostname: string): string | undefined {
  const prefix = `${hostname.toLowerCase()}.`;
  for (const line of lines(hosts)) {
    const [, ...names] = (line.split('#')[0] ?? '').split(/\s+/).filter(Boolean);
    const fqdn = names.find((name) => name.toLowerCase().startsWith(prefix));
    if (fqdn) return fqdn;
  }
  return undefined;
}

function servicesOf(facts: HostFacts, turnService: TurnService, host: string): Record<string, ServiceState> {
  const fact = facts.command(SERVICES);
  if (fact === undefined) throw new HostError('facts', `${host}: the service states were not gathered`);
  const states = new Map<string, ServiceState>();
  for (const line of lines(fact.output)) {
    const [name, status] = line.split(' ');
    if (name && status)
      states.set(name, status === 'absent' ? 'absent' : status === '0' ? 'running' : 'stopped');
  }
  const state = (name: string) => states.get(name) ?? 'absent';
  return { nginx: state('nginx'), [turnService]: state(turnService) };
}

/**
 * Read the facts of `applianceFactSpec`. Throws HostError `not-an-appliance` or
 * `ambiguous-generation` (the host is reported, never guessed), or `facts` when names are missing.
 */
export function applianceFacts(facts: HostFacts, host = 'host'): ApplianceFacts {
  const generation = generationOf(facts, host);
  const names = keyValues(facts.command(NAMES)?.output);
  const configured = lines(facts.text(APPLIANCE_FILES.hostname))[0] || names.get('hostname') || '';
  if (!configured)
    throw new HostError('facts', `${host}: no host name in ${APPLIANCE_FILES.hostname} nor from hostname`);
  // /etc/hostname sometimes holds the FQDN itself.
  const dot = configured.indexOf('.');
  const hostname = dot === -1 ? configured : configured.slice(0, dot);
  const resolved = names.get('fqdn');
  const fqdn =
    (dot === -1 ? undefined : configured) ??
    fqdnFromHosts(facts.text(APPLIANCE_FILES.hosts), hostname) ??
    (resolved?.toLowerCase().startsWith(`${hostname.toLowerCase()}.`) ? resolved : undefined) ??
    hostname;
  const turnService: TurnService = generation === 'v4' ? 'rfc5766-turn-server' : 'coturn';
  const realm = /^realm=(.*)$/m.exec(facts.text(APPLIANCE_FILES.turnserverConf) ?? '')?.[1]?.trim();
  return {
    generation,
    hostname,
    domain: fqdn.length > hostname.length ? fqdn.slice(hostname.length + 1) : undefined,
    fqdn,
    turnService,
    networkFile: generation === 'v4' ? APPLIANCE_FILES.interfaces : APPLIANCE_FILES.netplan,
    turnRealm: realm || undefined,
    services: servicesOf(facts, turnService, host),
  };
}
