/**
 * The `fail2ban` inventory section.
 *
 *   fail2ban:
 *     enabled: true          # update-rc.d fail2ban enable + /etc/init.d/fail2ban restart
 *     bantime: 600           # [DEFAULT] of /etc/fail2ban/jail.local, seconds
 *     findtime: 300          # [DEFAULT], seconds
 *     maxretry: 10           # [pexiprp] jail: failed-PIN log lines within findtime before a ban
 *     usersBehindNat: true   # enabling is refused unless force: true
 *
 * Every key is optional: a key left out is not managed and stays as it is on the appliance, so a
 * fleet can set thresholds in `defaults` and turn fail2ban on group by group, and an appliance can
 * be flagged `usersBehindNat` without managing anything else.
 *
 * fail2ban's `bantime = -1` (ban forever) is refused: with the guide's counting (every PIN attempt
 * logs a failure), a few honest mistakes would lock an address out until someone unbans it by hand.
 */
import { z } from 'zod';
import { defineSection } from '../../src/engine/contract.js';

export const LIMITS = {
  /** a year */
  bantime: { min: 1, max: 31_536_000 },
  /** a week: fail2ban only keeps failures that long in practice (dbpurgeage is a day by default) */
  findtime: { min: 1, max: 604_800 },
  maxretry: { min: 1, max: 1000 },
} as const;

export type Tunable = keyof typeof LIMITS;
export const TUNABLES: readonly Tunable[] = ['bantime', 'findtime', 'maxretry'];

export const PERMANENT_BAN =
  'a permanent ban (-1) is refused: an address banned by mistake (users behind one NAT, a few mistyped PINs) would stay locked out until someone unbans it by hand; use a long bantime such as 86400';

/** The one-line reason a value of `key` is wrong, or undefined when it is fine. */
export function tunableProblem(key: Tunable, value: unknown): string | undefined {
  const { min, max } = LIMITS[key];
  const unit = key === 'maxretry' ? 'a whole number' : 'whole seconds';
  if (key === 'bantime' && value === -1) return PERMANENT_BAN;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    return `must be ${unit} from ${min} to ${max}`;
  return undefined;
}

function tunable(key: Tunable, description: string) {
  const { min, max } = LIMITS[key];
  return z
    .int({ error: (issue) => tunableProblem(key, issue.input) })
    .min(min, { error: (issue) => tunableProblem(key, issue.input) })
    .max(max, { error: (issue) => tunableProblem(key, issue.input) })
    .meta({ description });
}

/** Why enabling is refused on an appliance whose users share one NAT (the guide's "Users behind NATs"). */
export const NAT_REFUSAL =
  'refused to enable fail2ban on an appliance flagged usersBehindNat: users behind one NAT share one source address and can ban themselves out without ever entering a wrong PIN (Pexip guide, "Users behind NATs"); set force: true (or pass --force) to enable it anyway';

export const fail2banSection = z
  .strictObject({
    enabled: z.boolean().optional().meta({
      description:
        'run fail2ban and start it at boot (update-rc.d fail2ban enable, /etc/init.d/fail2ban restart), or stop and disable it',
    }),
    bantime: tunable(
      'bantime',
      'seconds an address stays banned ([DEFAULT] bantime; -1 is refused)',
    ).optional(),
    findtime: tunable(
      'findtime',
      'seconds of log in which maxretry failures ban an address ([DEFAULT] findtime)',
    ).optional(),
    maxretry: tunable(
      'maxretry',
      'failed-PIN log lines within findtime that ban an address ([pexiprp] maxretry)',
    ).optional(),
    usersBehindNat: z.boolean().optional().meta({
      description: 'many users reach this appliance from one NAT address: enabling is refused unless force',
    }),
    force: z.boolean().optional().meta({ description: 'enable fail2ban even though usersBehindNat is true' }),
  })
  .superRefine((section, ctx) => {
    if (Object.keys(section).length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'an empty fail2ban section manages nothing: set enabled, bantime, findtime or maxretry, or remove it',
      });
    }
    if (section.enabled === true && section.usersBehindNat === true && section.force !== true) {
      ctx.addIssue({ code: 'custom', path: ['enabled'], message: NAT_REFUSAL });
    }
  })
  .meta({
    description: 'fail2ban against PIN brute force: on/off and thresholds (keys left out are not managed)',
  });

export type Fail2banSection = z.infer<typeof fail2banSection>;

export const fail2banInventorySection = defineSection({
  key: 'fail2ban',
  description: 'fail2ban against PIN brute force: on or off, bantime, findtime, maxretry',
  schema: fail2banSection,
});
