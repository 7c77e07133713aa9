import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests run in parallel; lab tests share one lab (started once by the
// global setup) and run one file at a time because they change real appliances.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // ssh -G reads this instead of the machine's ssh_config (e.g. Debian's HashKnownHosts yes)
          env: { RPCTL_SSH_CONFIG: '/dev/null' },
          include: ['test/unit/**/*.test.ts', 'recipes/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'lab',
          env: { RPCTL_SSH_CONFIG: '/dev/null' },
          include: ['test/lab/**/*.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
