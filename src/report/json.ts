/**
 * The JSON report of plan, apply and drift (docs/architecture.md, "The run"), for machines:
 *
 *   { "mode": "drift", "runId": "...", "hosts": [ { "name", "status", "changes": [ { "recipe",
 *     "summary", "disruptive", "deferred", "diff" } ], "error"?, ... } ], "summary": { ... } }
 */
import type { FleetResult, HostOutcome, HostStatus } from '../engine/run.js';
import type { ChangeKind } from './history.js';

export interface JsonReport {
  mode: FleetResult['mode'];
  runId: string;
  startedAt: string;
  durationMs: number;
  hosts: JsonHost[];
  summary: Record<HostStatus, number> & { hosts: number; changes: number; pending: number };
}

export interface JsonHost {
  name: string;
  status: HostStatus;
  changes: {
    recipe: string;
    summary: string;
    disruptive: boolean;
    deferred: boolean;
    kind?: ChangeKind;
    diff?: string;
  }[];
  warnings: string[];
  error?: { reason: string; message: string };
  verification?: { ok: boolean; message: string }[];
  rolledBack?: boolean;
  notes?: string[];
  /** the services the host's recipes keep running (drift: a stopped one is also a change) */
  services?: { service: string; running: boolean }[];
  interrupted?: string;
  stats?: { connections: number; execs: number; sftpSessions: number; handshakeMs: number };
  durationMs: number;
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
    ...(host.verification.length ? { verification: host.verification } : {}),
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
  options: { diffs: boolean; kinds?: ReadonlyMap<string, ReadonlyMap<string, ChangeKind>> },
): JsonReport {
  const hosts = result.hosts.map((h) => jsonHost(h, options.diffs, options.kinds?.get(h.name)));
  const count = (status: HostStatus) => hosts.filter((h) => h.status === status).length;
  return {
    mode: result.mode,
    runId: result.runId,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    hosts,
    summary: {
      hosts: hosts.length,
      'in-sync': count('in-sync'),
      drift: count('drift'),
      changed: count('changed'),
      failed: count('failed'),
      unreachable: count('unreachable'),
      changes: result.hosts.reduce((n, h) => n + h.changes.length, 0),
      pending: result.hosts.reduce((n, h) => n + h.pending.length, 0),
    },
  };
}
