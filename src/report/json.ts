/**
 * The JSON report of plan, apply and drift, for machines. One zod definition is both the type the
 * report is built as, the check the tests run on real output, and the published JSON Schema
 * (`rpctl schema report`, schemas/report.schema.json):
 *
 *   { "schemaVersion": 1, "mode": "drift", "runId": "...", "hosts": [ { "name", "status",
 *     "changes": [ { "recipe", "summary", "disruptive", "deferred", "diff" } ], "error"?, ... } ],
 *     "summary": { "hosts", "inSync", "drift", ... } }
 *
 * Keys are camelCase; values such as the status "in-sync" stay as they are. A change that breaks a
 * reader of the report (a key renamed or removed, a meaning changed) raises SCHEMA_VERSION; added
 * optional keys do not.
 */
import { z } from 'zod';
import type { FleetResult, HostOutcome, HostStatus } from '../engine/run.js';
import type { ChangeKind } from './history.js';

/** The version of every JSON report rpctl prints (also the one-offs' and facts'). */
export const SCHEMA_VERSION = 1;

const described = <T extends z.ZodType>(type: T, description: string) => type.meta({ description });

const hostStatus = described(
  z.enum(['in-sync', 'drift', 'changed', 'failed', 'unreachable', 'unknown']),
  'unknown (apply): the connection dropped during the apply and its outcome could not be read back',
);

const change = z.strictObject({
  recipe: z.string(),
  summary: z.string(),
  disruptive: z.boolean(),
  deferred: described(z.boolean(), 'not made: disruptive without --allow-disruptive, or not reached'),
  kind: described(
    z.enum(['corrective', 'intentional']).optional(),
    'apply: corrective (the appliance had drifted) or intentional (the inventory changed)',
  ),
  diff: described(z.string().optional(), 'unified diff (plan and drift; secrets never shown)'),
});

const expiry = z.strictObject({
  notAfter: z.string(),
  daysLeft: z.number(),
  secondsLeft: z.number(),
  warn: described(z.boolean(), 'within --warn-expiry-days'),
});

const host = z.strictObject({
  name: z.string(),
  status: hostStatus,
  changes: z.array(change),
  warnings: z.array(z.string()),
  error: z.strictObject({ reason: z.string(), message: z.string() }).optional(),
  verification: z.array(z.strictObject({ ok: z.boolean(), message: z.string() })).optional(),
  rolledBack: z.boolean().optional(),
  notes: z.array(z.string()).optional(),
  services: described(
    z.array(z.strictObject({ service: z.string(), running: z.boolean() })).optional(),
    'the services the managed recipes need (nginx, the TURN server, fail2ban); drift: a stopped one is also drift',
  ),
  interrupted: described(
    z.string().optional(),
    'plan/drift: an apply cut short left its journal on the appliance (interrupted apply RUN at TIME (files ...))',
  ),
  stats: z
    .strictObject({
      connections: z.number(),
      execs: z.number(),
      sftpSessions: z.number(),
      handshakeMs: z.number(),
    })
    .optional(),
  certificate: described(expiry.optional(), 'drift: the certificate the appliance serves'),
  durationMs: z.number(),
});

export const reportSchema = described(
  z.strictObject({
    schemaVersion: z.literal(SCHEMA_VERSION),
    mode: z.enum(['plan', 'apply', 'drift']),
    runId: z.string(),
    startedAt: described(z.iso.datetime(), 'ISO 8601, UTC'),
    durationMs: z.number(),
    hosts: z.array(host),
    summary: z.strictObject({
      hosts: z.number(),
      inSync: z.number(),
      drift: z.number(),
      changed: z.number(),
      failed: z.number(),
      unreachable: z.number(),
      unknown: described(z.number().optional(), 'apply: hosts whose outcome is unknown (always present)'),
      changes: z.number(),
      pending: z.number(),
    }),
  }),
  'The JSON report of rpctl plan, apply and drift (--format json)',
);

export type JsonReport = z.infer<typeof reportSchema>;
export type JsonHost = z.infer<typeof host>;

/** The JSON Schema of the report, as published in schemas/report.schema.json. */
export function reportJsonSchema(): unknown {
  return z.toJSONSchema(reportSchema, { target: 'draft-2020-12' });
}

function jsonHost(host: HostOutcome, withDiffs: boolean, kinds?: ReadonlyMap<string, ChangeKind>): JsonHost {
  const changes = [...host.changes, ...host.pending].map((c) => ({
    recipe: c.recipe,
    summary: c.summary,
    disruptive: c.disruptive,
    deferred: c.deferred || host.pending.includes(c),
    ...(kinds?.get(c.recipe) && !host.pending.includes(c) ? { kind: kinds.get(c.recipe) } : {}),
    ...(withDiffs && c.diff ? { diff: c.diff } : {}),
  }));
  return {
    name: host.name,
    status: host.status,
    changes,
    warnings: host.warnings,
    ...(host.error ? { error: { reason: host.error.reason, message: host.error.message } } : {}),
    ...(host.verification.length
      ? { verification: host.verification.map((v) => ({ ok: v.ok, message: v.message })) }
      : {}),
    ...(host.rolledBack ? { rolledBack: true } : {}),
    ...(host.notes?.length ? { notes: host.notes } : {}),
    ...(host.services?.length ? { services: host.services } : {}),
    ...(host.interrupted ? { interrupted: host.interrupted } : {}),
    ...(host.stats
      ? {
          stats: {
            connections: host.stats.connections,
            execs: host.stats.execs,
            sftpSessions: host.stats.sftpSessions,
            handshakeMs: host.stats.handshakeMs,
          },
        }
      : {}),
    durationMs: host.durationMs,
  };
}

export function jsonReport(
  result: FleetResult,
  options: {
    diffs: boolean;
    kinds?: ReadonlyMap<string, ReadonlyMap<string, ChangeKind>>;
    certificates?: ReadonlyMap<string, JsonHost['certificate']>;
  },
): JsonReport {
  const hosts = result.hosts.map((h) => {
    const certificate = options.certificates?.get(h.name);
    const json = jsonHost(h, options.diffs, options.kinds?.get(h.name));
    return certificate ? { ...json, certificate, durationMs: json.durationMs } : json;
  });
  const count = (status: HostStatus) => hosts.filter((h) => h.status === status).length;
  if (result.mode === 'facts') throw new Error('jsonReport: facts have their own report');
  return {
    schemaVersion: SCHEMA_VERSION,
    mode: result.mode,
    runId: result.runId,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    hosts,
    summary: {
      hosts: hosts.length,
      inSync: count('in-sync'),
      drift: count('drift'),
      changed: count('changed'),
      failed: count('failed'),
      unreachable: count('unreachable'),
      unknown: count('unknown'),
      changes: result.hosts.reduce((n, h) => n + h.changes.length, 0),
      pending: result.hosts.reduce((n, h) => n + h.pending.length, 0),
    },
  };
}

/**
 * Any JSON report rpctl prints (one-offs' and facts' too) with `schemaVersion` first; a report that
 * has it already is left as it is.
 */
export function withSchemaVersion(json: string): string {
  const parsed = JSON.parse(json) as Record<string, unknown>;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || 'schemaVersion' in parsed)
    return json;
  return `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...parsed }, null, 2)}\n`;
}
