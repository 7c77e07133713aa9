/**
 * Where a connection goes and how it authenticates, after merging, per setting:
 * the SshTarget's settings > ~/.ssh/config > ssh(1)'s defaults.
 *
 *   const plan = planConnection(target, environment());
 *   plan.target   // { host: '10.40.0.11', port: 22, user: 'admin', identityFiles: [...], ... }
 *   plan.jump     // the bastion, when the target or ~/.ssh/config names one
 */
import { homedir, userInfo } from 'node:os';
import {
  expandTokens,
  type JumpSpec,
  parseProxyJump,
  readSshConfig,
  SshConfigError,
  type SshConfigValues,
} from './ssh-config.js';
import type { JumpTarget, SecretValue, SshTarget } from './target.js';

/** ssh(1)'s defaults (the user, as there, is the local one unless the target says otherwise). */
export const DEFAULTS = {
  port: 22,
  knownHostsFile: '~/.ssh/known_hosts',
  connectTimeoutSeconds: 10,
  keepaliveSeconds: 15,
  /** tried when neither the target nor ~/.ssh/config names a key, as ssh(1) does */
  identityFiles: ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'],
} as const;

export interface IdentityFile {
  path: string;
  /** named by the target: a key that cannot be read fails the host instead of being skipped */
  required: boolean;
}

/** One SSH server to connect to (an appliance or its jump host), every setting decided. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  identityFiles: IdentityFile[];
  passphrase?: SecretValue;
  /** login password: password and keyboard-interactive authentication */
  password?: SecretValue;
  /** ssh-agent socket */
  agent?: string;
  knownHostsFiles: string[];
  /** record new host keys hashed (HashKnownHosts) */
  hashKnownHosts: boolean;
  connectTimeoutMs: number;
  /** 0 disables keepalives */
  keepaliveIntervalMs: number;
}

export interface ConnectionPlan {
  target: Endpoint;
  jump?: Endpoint;
  /** what ~/.ssh/config had that rpctl skipped, for --verbose */
  notes: string[];
}

export interface Environment {
  home: string;
  localUser: string;
  /** $SSH_AUTH_SOCK */
  sshAuthSock?: string;
  /** default ~/.ssh/config */
  sshConfigPath?: string;
}

export function environment(overrides: Partial<Environment> = {}): Environment {
  const env: Environment = {
    home: overrides.home ?? homedir(),
    localUser: overrides.localUser ?? userInfo().username,
  };
  const sock = 'sshAuthSock' in overrides ? overrides.sshAuthSock : process.env.SSH_AUTH_SOCK;
  if (sock) env.sshAuthSock = sock;
  if (overrides.sshConfigPath !== undefined) env.sshConfigPath = overrides.sshConfigPath;
  return env;
}

function agentSocket(agent: boolean | string | undefined, env: Environment): string | undefined {
  if (agent === undefined || agent === false) return undefined;
  if (typeof agent === 'string') return agent;
  if (!env.sshAuthSock) throw new SshConfigError('ssh.agent is true but SSH_AUTH_SOCK is not set');
  return env.sshAuthSock;
}

interface Explicit {
  alias: string;
  port?: number;
  user?: string;
  /** when neither the target nor ~/.ssh/config names a user */
  defaultUser: string;
  identityFile?: string;
  passphrase?: SecretValue;
  knownHosts?: string[];
  connectTimeout?: number;
  keepaliveInterval?: number;
}

/** Merge one server's settings: `explicit` (the target) over `config` (~/.ssh/config) over defaults. */
function endpoint(
  explicit: Explicit,
  config: SshConfigValues,
  env: Environment,
): Omit<Endpoint, 'password' | 'agent'> {
  const host = config.hostName
    ? expandTokens(config.hostName, { ...tokenBase(explicit, env), host: explicit.alias }, 'HostName')
    : explicit.alias;
  const port = explicit.port ?? config.port ?? DEFAULTS.port;
  const user = explicit.user ?? config.user ?? explicit.defaultUser;
  const tokens = { ...tokenBase(explicit, env), host, port, remoteUser: user };
  const expand = (path: string, what: string) => expandTokens(path, tokens, what);

  let identityFiles: IdentityFile[];
  if (explicit.identityFile) identityFiles = [{ path: explicit.identityFile, required: true }];
  else if (config.identityFiles.length > 0)
    identityFiles = config.identityFiles.map((p) => ({ path: expand(p, 'IdentityFile'), required: false }));
  else
    identityFiles = DEFAULTS.identityFiles.map((p) => ({ path: expand(p, 'IdentityFile'), required: false }));

  const knownHostsFiles =
    explicit.knownHosts && explicit.knownHosts.length > 0
      ? explicit.knownHosts
      : (config.userKnownHostsFiles ?? [DEFAULTS.knownHostsFile])
          .filter((p) => p.toLowerCase() !== 'none')
          .map((p) => expand(p, 'UserKnownHostsFile'));

  const result: Omit<Endpoint, 'password' | 'agent'> = {
    host,
    port,
    user,
    identityFiles,
    knownHostsFiles,
    hashKnownHosts: config.hashKnownHosts ?? false,
    connectTimeoutMs:
      1000 * (explicit.connectTimeout ?? config.connectTimeout ?? DEFAULTS.connectTimeoutSeconds),
    keepaliveIntervalMs:
      1000 * (explicit.keepaliveInterval ?? config.serverAliveInterval ?? DEFAULTS.keepaliveSeconds),
  };
  if (explicit.passphrase) result.passphrase = explicit.passphrase;
  return result;
}

function tokenBase({ alias, defaultUser }: Explicit, env: Environment) {
  return {
    alias,
    host: alias,
    port: DEFAULTS.port,
    remoteUser: defaultUser,
    localUser: env.localUser,
    home: env.home,
  };
}

function jumpFromConfig(config: SshConfigValues): JumpSpec | undefined {
  if (config.proxyCommand !== undefined) {
    throw new SshConfigError(
      `${config.origin.proxy}: ProxyCommand is not supported by rpctl; use ProxyJump or the inventory's ssh.jump`,
    );
  }
  return config.proxyJump === undefined
    ? undefined
    : parseProxyJump(config.proxyJump, config.origin.proxy ?? 'ProxyJump');
}

/** Decide every connection setting of a target (and of its jump host, if any). */
export function planConnection(ssh: SshTarget, env: Environment): ConnectionPlan {
  const defaultUser = ssh.defaultUser ?? env.localUser;
  const readOptions = { home: env.home, ...(env.sshConfigPath ? { path: env.sshConfigPath } : {}) };
  const config = readSshConfig(ssh.host, readOptions);
  const agent = agentSocket(ssh.agent, env);

  const target: Endpoint = endpoint(
    {
      alias: ssh.host,
      defaultUser,
      ...pick(ssh, [
        'port',
        'user',
        'identityFile',
        'passphrase',
        'knownHosts',
        'connectTimeout',
        'keepaliveInterval',
      ]),
    },
    config,
    env,
  );
  if (ssh.password) target.password = ssh.password;
  if (agent) target.agent = agent;
  const plan: ConnectionPlan = { target, notes: [...config.notes] };

  const jump: JumpTarget | JumpSpec | undefined = ssh.jump ?? jumpFromConfig(config);
  if (jump) {
    const jumpConfig = readSshConfig(jump.host, readOptions);
    if (jumpConfig.proxyJump !== undefined && jumpConfig.proxyJump.toLowerCase() !== 'none') {
      throw new SshConfigError(
        `${jumpConfig.origin.proxy}: the jump host ${jump.host} has a ProxyJump of its own; rpctl supports a single jump host`,
      );
    }
    // The bastion authenticates with its own ~/.ssh/config keys, else the appliance's key or agent;
    // never with the appliance's password, which is no business of another machine.
    const bastion: Endpoint = endpoint(
      {
        alias: jump.host,
        defaultUser,
        ...pick(jump, ['port', 'user']),
        ...(jumpConfig.identityFiles.length === 0 ? pick(ssh, ['identityFile', 'passphrase']) : {}),
        ...pick(ssh, ['knownHosts', 'connectTimeout', 'keepaliveInterval']),
      },
      jumpConfig,
      env,
    );
    if (agent) bastion.agent = agent;
    plan.jump = bastion;
    plan.notes.push(...jumpConfig.notes);
  }
  return plan;
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
