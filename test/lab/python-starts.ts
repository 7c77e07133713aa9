/**
 * Which Python interpreters start on an appliance while something runs: the interpreter binary is
 * replaced, inside the appliance's own mount namespace only (private propagation), by a shell shim
 * that records its command line and runs the real interpreter. Every Python program (fail2ban-client
 * is `#!/usr/bin/python3`) goes through it.
 *
 *   const starts = await pythonStarts(['lab-1'], () => rpctl(['drift', ...]));
 *   expect(starts).toEqual({ 'lab-1': [] });
 */
import { labSh } from './lab.js';

const DIR = '/run/rpctl-python-starts';

const install = `set -e
real=$(readlink -f /usr/bin/python3)
mkdir -p ${DIR}
: > ${DIR}/starts
touch ${DIR}/real
mount --bind "$real" ${DIR}/real
printf '#!/bin/sh\\necho "$0 $*" >> ${DIR}/starts\\nexec ${DIR}/real "$@"\\n' > ${DIR}/shim
chmod 755 ${DIR}/shim
mount --bind ${DIR}/shim "$real"
echo "$real"`;

/** Run `during` with the shim on each host; the command lines of the interpreters started, per host. */
export async function pythonStarts(
  hosts: readonly string[],
  during: () => Promise<unknown>,
): Promise<Record<string, string[]>> {
  const interpreters = hosts.map((host) => labSh(host, install).trim());
  try {
    // the shim itself works: a Python started by hand is recorded
    for (const host of hosts) labSh(host, `/usr/bin/python3 -c 'pass' && grep -q -- "-c pass" ${DIR}/starts`);
    for (const host of hosts) labSh(host, `: > ${DIR}/starts`);
    await during();
    return Object.fromEntries(
      hosts.map((host) => [host, labSh(host, `cat ${DIR}/starts`).split('\n').filter(Boolean)]),
    );
  } finally {
    hosts.forEach((host, i) => {
      labSh(host, `umount ${interpreters[i]} && umount ${DIR}/real && rm -rf ${DIR}`);
    });
  }
}
