/**
 * The connection drops during an apply (issue 16, point 5): inside the appliance, `nginx -t` (a
 * wrapper, removed afterwards) kills the sshd session processes rpctl's apply runs under, found by
 * walking up from its own PID, then takes 2 s. The apply goes on detached; rpctl reconnects once,
 * waits for its outcome and reports it. With sshd's listener stopped too, no new connection can be
 * made: the host is `unknown` (exit 1), and the run record says so.
 *
 * lab-1 (v4, upstreams). Each test puts the appliance back as it found it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportSchema } from '../../src/report/json.js';
import { labExec, labSh, readState } from './lab.js';
import { labInventoryFile, rpctl, scratch } from './rpctl.js';

const host = readState()!.appliances.find((a) => a.generation === 'v4')!.name;
const PEXAPP = '/etc/nginx/sites-available/pexapp';
const OUTCOME = '/var/lib/rpctl/outcome';
const CUT = '/run/rpctl-test-cut';

/**
 * `nginx -t`, once CUT exists: kill the sshd session processes above it (not the listener), with
 * the listener stopped first when CUT says `no-listener`, then wait 2 s so the apply outlives them.
 */
const NGINX_WRAPPER = `#!/bin/sh
if [ "$1" = -t ] && [ -e ${CUT} ]; then
  how=$(cat ${CUT}); rm -f ${CUT}
  pids=; pid=$$
  while [ "$pid" -gt 1 ]; do
    case "$(tr '\\0' ' ' < /proc/$pid/cmdline)" in "sshd: "*"[priv]"*|"sshd: "*@*) pids="$pids $pid";; esac
    pid=$(awk '/^PPid:/ { print $2 }' /proc/$pid/status)
  done
  [ "$how" = no-listener ] && service ssh stop > /dev/null 2>&1
  echo "$pids" > ${CUT}.killed
  kill -KILL $pids
  sleep 2
fi
exec /usr/sbin/nginx "$@"
`;

function cutNextApply(how: 'reconnect' | 'no-listener'): void {
  labSh(host, 'cat > /usr/local/sbin/nginx && chmod 755 /usr/local/sbin/nginx', { input: NGINX_WRAPPER });
  labSh(host, `echo ${how} > ${CUT}; rm -f ${CUT}.killed`);
}

/** Remove the wrapper, start sshd's listener, wait for the apply to end; the lab's inventory again. */
async function putBack(): Promise<void> {
  labSh(host, `rm -f /usr/local/sbin/nginx ${CUT}`);
  if (labExec(host, ['service', 'ssh', 'status']).status !== 0) labSh(host, 'service ssh start');
  labSh(host, 'flock /run/lock/rpctl.apply.lock true');
  const back = await rpctl([
    'apply',
    '-i',
    labInventoryFile(),
    '--limit',
    host,
    '--yes',
    '--lock-timeout',
    '30',
  ]);
  expect(back.code, back.stdout + back.stderr).toBe(0);
}

const withNode = (node: string) => labInventoryFile((doc) => doc.appliances[host].upstreams.nodes.push(node));
const killed = () => labSh(host, `cat ${CUT}.killed 2>/dev/null || true`).trim();

describe('the SSH connection drops during an apply', () => {
  it('rpctl reconnects once, reads the outcome the appliance kept and reports the change (exit 0)', async () => {
    cutNextApply('reconnect');
    try {
      const apply = await rpctl([
        'apply',
        '-i',
        withNode('127.0.3.81'),
        '--limit',
        host,
        '--yes',
        '--format',
        'json',
      ]);
      expect(killed()).toMatch(/^\d+ \d+$/); // the session's two sshd processes
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      const report = reportSchema.parse(JSON.parse(apply.stdout));
      const outcome = report.hosts[0]!;
      expect(outcome.status).toBe('changed');
      expect(outcome.notes?.join('\n')).toMatch(
        /the connection dropped during the apply \(.+\); its outcome was read after reconnecting over /,
      );
      expect(outcome.verification?.length).toBeGreaterThan(0);
      expect(outcome.verification?.every((v) => v.ok)).toBe(true);
      expect(labSh(host, `cat ${PEXAPP}`)).toContain('server 127.0.3.81:443');
      expect(labExec(host, ['service', 'nginx', 'status']).status).toBe(0);
      // read, then removed
      expect(labExec(host, ['test', '-e', `${OUTCOME}/${report.runId}`]).status).toBe(1);
    } finally {
      await putBack();
    }
  });

  it('no new connection possible (sshd listener stopped): the host is unknown, exit 1, in text and the run record', async () => {
    cutNextApply('no-listener');
    const stateDir = join(scratch, 'state-unknown');
    try {
      const apply = await rpctl(['apply', '-i', withNode('127.0.3.82'), '--limit', host, '--yes'], {
        env: { RPCTL_STATE_DIR: stateDir },
      });
      expect(killed()).toMatch(/^\d+ \d+$/);
      expect(apply.code, apply.stdout + apply.stderr).toBe(1);
      expect(apply.stdout).toContain(`${host}: UNKNOWN (outcome unknown)`);
      expect(apply.stdout).toMatch(
        /the connection dropped during the apply \(.+\) and reading it over a new SSH connection to .+ failed \(.+\): its outcome is unknown; check \/var\/lib\/rpctl\/outcome\/\S+ on the appliance/,
      );
      expect(apply.stdout).toContain('Apply: 1 outcome unknown.');
      const runs = join(stateDir, 'runs');
      const record = JSON.parse(readFileSync(join(runs, readdirSync(runs)[0]!), 'utf8'));
      expect(record.hosts[0]).toMatchObject({
        name: host,
        status: 'unknown',
        error: { reason: 'outcome-unknown' },
      });
      expect(record.summary.unknown).toBe(1);
      // the appliance finished the apply by itself; its outcome stays there, root's alone
      labSh(host, 'flock /run/lock/rpctl.apply.lock true');
      expect(labSh(host, `cat ${PEXAPP}`)).toContain('server 127.0.3.82:443');
      const run = record.runId;
      expect(labSh(host, `stat -c '%a %U' ${OUTCOME}/${run} ${OUTCOME}/${run}/apply.out`)).toBe(
        '700 root\n600 root\n',
      );
      expect(labSh(host, `cat ${OUTCOME}/${run}/apply.out`)).toContain('@applied');
      labSh(host, `rm -rf ${OUTCOME}/${run}`);
    } finally {
      await putBack();
    }
  });
});
