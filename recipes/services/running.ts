/**
 * Managed services must run: nginx when a recipe that changes what it serves is managed
 * (upstreams, certificate), the generation's TURN server when `turn` is. A stopped one is drift
 * (a change that starts it) and every report shows it (`rpctl_service_up`); the facts are the
 * appliance's service states, read on every run.
 *
 *   services: nginx is not running: start it        (notifies nginx's reload-or-start handler)
 *
 * fail2ban is not here: its own recipe (recipes/fail2ban) starts it, owns its boot links, and
 * reports whether it runs, from a fact read only where fail2ban is managed.
 */
import type {
  Change,
  Check,
  HostFacts,
  PlanContext,
  PlanResult,
  Recipe,
  ServiceStatus,
} from '../../src/engine/contract.js';
import { applianceFactSpec, applianceFacts } from '../appliance/facts.js';
import { NGINX_RELOAD, nginxRunsCheck } from './nginx.js';
import { startTurn } from './turn.js';

/** Which services the appliance's inventory makes rpctl responsible for. */
export interface ManagedServices {
  nginx: boolean;
  turn: boolean;
}

const NGINX_SECTIONS = ['upstreams', 'certificate'];

function managedServices(sections: Record<string, unknown>): ManagedServices | undefined {
  const managed = {
    nginx: NGINX_SECTIONS.some((key) => sections[key] !== undefined),
    turn: sections.turn !== undefined,
  };
  return managed.nginx || managed.turn ? managed : undefined;
}

function statuses(desired: ManagedServices, facts: HostFacts, host = 'host'): ServiceStatus[] {
  const appliance = applianceFacts(facts, host);
  const names = [
    desired.nginx ? 'nginx' : undefined,
    desired.turn ? appliance.turnService : undefined,
  ].filter((name): name is string => name !== undefined);
  return names.map((service) => ({ service, running: appliance.services[service] === 'running' }));
}

function plan(desired: ManagedServices, facts: HostFacts, ctx: PlanContext): PlanResult {
  const appliance = applianceFacts(facts, ctx.host);
  const changes: Change[] = [];
  const warnings: string[] = [];
  for (const { service, running } of statuses(desired, facts, ctx.host)) {
    if (running) continue;
    if (appliance.services[service] === 'absent') {
      warnings.push(`${service} is not installed: nothing can start it`);
      continue;
    }
    const handler = service === 'nginx' ? NGINX_RELOAD : startTurn(appliance.turnService);
    changes.push({ summary: `${service} is not running: start it`, notify: [handler] });
  }
  return { changes, warnings };
}

function verify(desired: ManagedServices, after: HostFacts, ctx: PlanContext): Check[] {
  const checks: Check[] = [];
  for (const { service, running } of statuses(desired, after, ctx.host)) {
    // the TLS handshake comes with nginx's handler, when it ran (nginx.ts)
    if (service === 'nginx') checks.push(nginxRunsCheck(after, ctx.host));
    else
      checks.push({
        kind: 'assert',
        ok: running,
        message: `${service} ${running ? 'runs' : 'is not running'}`,
      });
  }
  return checks;
}

export const servicesRecipe: Recipe<ManagedServices> = {
  name: 'services',
  description: 'the services the managed recipes need are running (nginx, the TURN server)',
  // no section of its own: it follows the sections of the recipes whose services it watches
  section: 'services',
  desired: ({ appliance }) => managedServices(appliance.sections),
  facts: applianceFactSpec,
  plan,
  verify,
  services: (desired, facts) => statuses(desired, facts),
};
