/**
 * Vitest global setup of the lab project: one lab for the whole test run, torn down at the end.
 * RPCTL_LAB_COUNT (default 4: lab-1 v4, lab-2 v7, lab-3 v4, lab-4 v7) and RPCTL_LAB_PREFIX
 * (default 127.0.2) choose its size and addresses. Lab test files run one at a time and reset the
 * appliances they change (`reset([...])` from ./lab.js) so each starts from a known baseline.
 */
import { down, up } from './lab.js';

export async function setup(): Promise<void> {
  const count = Number(process.env.RPCTL_LAB_COUNT ?? 4);
  await up({ count, generation: 'mixed', state: 'installed' });
}

export async function teardown(): Promise<void> {
  if (process.env.RPCTL_LAB_KEEP === '1') return;
  await down();
}
