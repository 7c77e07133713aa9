import { describe, expect, it } from 'vitest';
import { ansibleFailures, parseRecap } from '../../../bench/ansible.js';
import { parsePyinfraSummary } from '../../../bench/pyinfra.js';

describe("the peers' outcomes", () => {
  it("reads pyinfra's closing summary once per host, whichever streams repeat it", () => {
    const dry = `--> Proposed changes:
    Groups: hosts / inventory_2_22
    [lab-1]   Operations: 10   Change: 0   No change: 10   
    [lab-2]   Operations: 10   Change: 1   No change: 9   
`;
    expect(parsePyinfraSummary(`${dry}\n${dry}`)).toEqual({
      hosts: 2,
      changed: 1,
      errors: 0,
      noConnection: 0,
    });
    const run = `--> Results:
    [lab-1]   Changed: 3   No change: 0   Errors: 0   
    [lab-2]   Changed: 2   No change: 0   Errors: 1   
    [lab-3]   No connection
`;
    expect(parsePyinfraSummary(run)).toEqual({ hosts: 2, changed: 5, errors: 1, noConnection: 1 });
  });

  it("reads Ansible's recap and its failed hosts", () => {
    const out = `fatal: [lab-3]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect"}
PLAY RECAP *********************************************************************
lab-1                      : ok=18   changed=0    unreachable=0    failed=0    skipped=10
lab-3                      : ok=0    changed=0    unreachable=1    failed=0    skipped=0
`;
    expect(parseRecap(out)).toEqual({ ok: 18, changed: 0, unreachable: 1, failed: 0 });
    expect(ansibleFailures(out)).toEqual([
      'fatal: [lab-3]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect"}',
    ]);
  });
});
