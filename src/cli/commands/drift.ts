/**
 * `rpctl drift`: the scheduled, read-only check. Plans every recipe, never prompts, never takes the
 * apply lock; runs the concerns' drift checks (the certificate each appliance serves); appends to the local history.
 * `rpctl drift history`: since when each host and recipe has drifted.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { DriftCheck } from '../../engine/contract.js';
import type { FleetResult } from '../../engine/run.js';
import { InputError } from '../../errors.js';
import type { ApplianceConfig } from '../../inventory/model.js';
import { useColour } from '../../report/diff.js';
import { type Expiry, expiryLine, junit, prometheus } from '../../report/drift.js';
import { History } from '../../report/history.js';
import { htmlReport } from '../../report/html.js';
import { jsonReport } from '../../report/json.js';
import { renderFleet } from '../../report/text.js';
import { addInventoryOptions } from '../common.js';
import { runFleetCommand } from '../fleet.js';
import type { CommandModule } from '../program.js';
import {
  addConnectionFlags,
  addDiffFlags,
  addOutputFlags,
  addRecipeFlag,
  parseCount,
  type RunFlags,
} from '../run-options.js';
import { registerDriftHistory } from './drift-history.js';

const FORMATS = ['text', 'json', 'junit', 'prometheus', 'html'] as const;

interface DriftFlags extends RunFlags {
  shard?: string;
  warnExpiryDays?: string;
  failOnExpiry?: boolean;
}

/** `K/N`: the K-th of N stable shards (1-based). */
export function parseShard(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const [index, count] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || count < 1 || index < 1 || index > count) {
    throw new InputError(`--shard: expected K/N with 1 <= K <= N (e.g. 2/4), got ${JSON.stringify(value)}`);
  }
  return { index, count };
}

/** Which shard an appliance is in: a hash of its name, so adding hosts never moves the others. */
export function shardOf(name: string, count: number): number {
  return (createHash('sha256').update(name).digest().readUInt32BE(0) % count) + 1;
}

/** What the concerns' drift checks (the served certificate's expiry) find on each host that answered. */
async function driftFindings(
  result: FleetResult,
  appliances: readonly ApplianceConfig[],
  checks: readonly DriftCheck[],
  warnDays: number,
): Promise<Map<string, Expiry>> {
  const expiry = new Map<string, Expiry>();
  const limit = pLimit(32);
  const now = new Date();
  await Promise.all(
    result.hosts.flatMap((host) => {
      const appliance = appliances.find((a) => a.name === host.name);
      const facts = host.facts;
      if (!appliance || !facts) return [];
      const target = { host: host.name, address: appliance.ssh.host, facts };
      return checks.map((check) =>
        limit(async () => {
          try {
            const found = await check.run(target, { now, warnDays });
            if (found && !expiry.has(host.name)) expiry.set(host.name, found);
          } catch (err) {
            host.warnings.push(`certificate: ${err instanceof Error ? err.message : String(err)}`);
          }
        }),
      );
    }),
  );
  return expiry;
}

export const driftCommands: CommandModule = {
  register(program, ctx) {
    const drift = addDiffFlags(
      addOutputFlags(
        addConnectionFlags(
          addRecipeFlag(addInventoryOptions(program.command('drift')), ctx.registry.recipes),
        ),
        FORMATS,
      ),
    )
      .description('read-only check of every appliance against the inventory, for schedules and monitoring')
      // options after `history` belong to it (both commands have --format)
      .enablePositionalOptions()
      .option('--shard <k/n>', 'check only the K-th of N stable shards of the selected appliances')
      .option('--warn-expiry-days <n>', 'warn when the served certificate expires within N days', '30')
      .option('--fail-on-expiry', 'count a certificate expiring within that window as drift')
      .addHelpText(
        'after',
        `
Never prompts and never takes the apply lock. Exit codes: 0 in sync, 2 drift, 1 a host failed or
was unreachable (wins over 2), 3 invalid input. Each check is added to the history in the state
directory ($RPCTL_STATE_DIR, else ~/.local/state/rpctl).

Examples:
  rpctl drift -i inventories/prod.yaml
  rpctl drift -i inventories/prod.yaml --format junit --output reports/drift.xml
  rpctl drift -i inventories/prod.yaml --format html --output fleet.html
  rpctl drift -i inventories/prod.yaml --format prometheus --output /var/lib/node_exporter/textfile_collector/rpctl.prom
  rpctl drift -i inventories/prod.yaml --shard "$((JOB_COMPLETION_INDEX + 1))/8" --format json`,
      )
      .action(async (flags: DriftFlags) => {
        const shard = parseShard(flags.shard);
        const warnDays = parseCount('--warn-expiry-days', flags.warnExpiryDays, 30, 0, 3650);
        let expiry = new Map<string, Expiry>();
        const colour = useColour(ctx.io.stdout.isTTY, ctx.io.env, flags.color === false);
        await runFleetCommand(ctx, {
          mode: 'drift',
          flags: { ...flags, yes: true },
          formats: FORMATS,
          select: shard
            ? (list) => list.filter((a) => shardOf(a.name, shard.count) === shard.index)
            : undefined,
          async postRun(result, selection) {
            expiry = await driftFindings(
              result,
              selection.appliances,
              ctx.registry.driftChecks ?? [],
              warnDays,
            );
            for (const host of result.hosts) {
              const e = expiry.get(host.name);
              const warning = expiryLine(e);
              if (!warning) continue;
              host.warnings.push(warning);
              if (flags.failOnExpiry && host.status === 'in-sync') host.status = 'drift';
            }
          },
          historyExtra: (host) => {
            const e = expiry.get(host);
            return e ? { certificateDaysLeft: e.daysLeft } : {};
          },
          render(format, result, selection) {
            if (format === 'html') {
              const { fleet } = selection.inventory;
              const past = new History(ctx.io.env, fleet).read();
              return htmlReport(result, { expiry, fleet, past, now: Date.now() });
            }
            if (format === 'junit') return junit(result, expiry, Boolean(flags.failOnExpiry));
            if (format === 'prometheus') return prometheus(result, expiry, flags.shard);
            const diffs = flags.diff ?? true;
            if (format === 'json')
              return `${JSON.stringify(jsonReport(result, { diffs, certificates: expiry }), null, 2)}\n`;
            return renderFleet(result, { colour, diffs });
          },
        });
      });

    registerDriftHistory(drift, ctx);
  },
};
