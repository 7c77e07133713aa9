/**
 * Where a connection goes and how it authenticates, after merging, per setting:
 * the SshTarget's settings > ~/.ssh/config > ssh(1)'s defaults.
 *
 *   const plan = planConnection(target, environment());
 *   plan.target   // { host: '10.40.0.11', port: 22, user: 'admin', identityFiles: [...], ... }
 *   plan.jump     // the bastion, when the target or ~/.ssh/config names one
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { prefetchSshConfig, type ResolvedConfig, type ResolveOptions, resolveSshConfig } from './openssh.js';
import {
  expandTokens,
  type JumpSpec,
  parseProxyJump,
  SshConfigError,
  type SshConfigValues,
} from './ssh-config.js';
import type { JumpTarget, SecretValue, SshTarget } from './target.js';

/** ssh(1)'s defaults (the user, as there, is the local one unless the target says otherwise). */
export const DEFAULTS = {
  port: 22,
  knownHostsFile: '~/.ssh/known_hosts',
  globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
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
  /** IdentitiesOnly: the agent may only offer the keys of identityFiles */
  identitiesOnly: boolean;
  /** the user's known_hosts files; new keys are recorded in the first */
  knownHostsFiles: string[];
  /** GlobalKnownHostsFile: read, never written (they belong to the administrator) */
  globalKnownHostsFiles: string[];
  /** HostKeyAlias: the name host keys are looked up and recorded under (without the port, as ssh) */
  hostKeyAlias?: string;
  /** record new host keys hashed (HashKnownHosts) */
  hashKnownHosts: boolean;
  connectTimeoutMs: number;
  /** 0 disables keepalives */
  keepaliveIntervalMs: number;
}

/** The name and port an endpoint's host keys are filed under in known_hosts: HostKeyAlias (no port) as ssh, else its own. */
export function hostKeyName(endpoint: Pick<Endpoint, 'host' | 'port' | 'hostKeyAlias'>): {
  host: string;
  port: number;
} {
  return endpoint.hostKeyAlias
    ? { host: endpoint.hostKeyAlias, port: 22 }
    : { host: endpoint.host, port: endpoint.port };
}

export interface ConnectionPlan {
  target: Endpoint;
  jump?: Endpoint;
  /** what ~/.ssh/config had that rpctl skipped, for --verbose */
  notes: string[];
  /** who resolved ssh_config: `ssh -G` or the built-in parser */
  resolvedBy: ResolvedConfig['resolvedBy'];
}

export interface Environment {
  home: string;
  localUser: string;
  /** $SSH_AUTH_SOCK */
  sshAuthSock?: string;
  /** default ~/.ssh/config (and /etc/ssh/ssh_config, through ssh -G) */
  sshConfigPath?: string;
  /** OpenSSH's client, asked `ssh -G HOST`; undefined: the built-in parser reads ~/.ssh/config */
  sshBinary?: string;
}

export function environment(overrides: Partial<Environment> = {}): Environment {
  const env: Environment = {
    home: overrides.home ?? homedir(),
    localUser: overrides.localUser ?? userInfo().username,
  };
  const sock = 'sshAuthSock' in overrides ? overrides.sshAuthSock : process.env.SSH_AUTH_SOCK;
  if (sock) env.sshAuthSock = sock;
  // RPCTL_SSH_CONFIG: one ssh_config file instead of ~/.ssh/config and /etc/ssh/ssh_config (ssh -F)
  // (for this process's own home: a caller that names another home reads that home's ~/.ssh/config)
  const configPath =
    overrides.sshConfigPath ?? (overrides.home === undefined ? process.env.RPCTL_SSH_CONFIG : undefined);
  if (configPath) env.sshConfigPath = configPath;
  const binary = 'sshBinary' in overrides ? overrides.sshBinary : 'ssh';
  if (binary) env.sshBinary = binary;
  return env;
}

/**
 * The agent socket, as ssh picks it: the target's setting (false: never; a path), else
 * IdentityAgent (`none`, `SSH_AUTH_SOCK`, `$VAR`, a path), else $SSH_AUTH_SOCK when it is set.
 */
function agentSocket(
  agent: boolean | string | undefined,
  identityAgent: string | undefined,
  env: Environment,
): string | undefined {
  if (agent === false) return undefined;
  if (typeof agent === 'string') return agent;
  let socket = env.sshAuthSock;
  if (identityAgent !== undefined && identityAgent !== 'SSH_AUTH_SOCK') {
    if (identityAgent.toLowerCase() === 'none') socket = undefined;
    else if (identityAgent.startsWith('$')) socket = process.env[identityAgent.slice(1)];
    else socket = expandHomeOf(identityAgent, env);
  }
  if (agent === true && !socket)
    throw new SshConfigError(
      'ssh.agent is true but SSH_AUTH_SOCK is not set (and no IdentityAgent names an agent)',
    );
  return socket;
}

const expandHomeOf = (path: string, env: Environment) =>
  path.startsWith('~/') ? join(env.home, path.slice(2)) : path;

/**
 * ssh -G reads the caller's config file (-F), else ssh's own (~/.ssh/config, /etc/ssh/ssh_config).
 * With a home other than this process's (tests, a service account's files) ssh would still expand
 * `~` to the real one, so the built-in parser reads that home's ~/.ssh/config instead.
 */
function resolveOptions(env: Environment, explicit: { user?: string; port?: number }): ResolveOptions {
  const useSsh = env.sshBinary && (env.sshConfigPath || env.home === homedir());
  return {
    home: env.home,
    localUser: env.localUser,
    ...(env.sshConfigPath ? { configPath: env.sshConfigPath } : {}),
    ...(useSsh && env.sshBinary ? { sshBinary: env.sshBinary } : {}),
    ...explicit,
  };
}

function resolve(
  alias: string,
  env: Environment,
  explicit: { user?: string; port?: number },
): ResolvedConfig {
  return resolveSshConfig(alias, resolveOptions(env, explicit));
}

/** Run ssh -G for a target and its inventory jump host in the background, before planConnection needs it. */
export async function prefetchConnection(ssh: SshTarget, env: Environment): Promise<void> {
  const hosts = [{ host: ssh.host, ...pick(ssh, ['user', 'port']) }, ...(ssh.jump ? [ssh.jump] : [])];
  await Promise.all(
    hosts.map(({ host, ...explicit }) =>
      prefetchSshConfig(host, resolveOptions(env, pick(explicit, ['user', 'port']))),
    ),
  );
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

  const files = (paths: readonly string[], what: string) =>
    paths.filter((p) => p.toLowerCase() !== 'none').map((p) => expand(p, what));
  const userFiles =
    explicit.knownHosts && explicit.knownHosts.length > 0
      ? explicit.knownHosts
      : files(config.userKnownHostsFiles ?? [DEFAULTS.knownHostsFile], 'UserKnownHostsFile');
  const globalFiles = files(
    config.globalKnownHostsFiles ?? DEFAULTS.globalKnownHostsFiles,
    'GlobalKnownHostsFile',
  );

  const result: Omit<Endpoint, 'password' | 'agent'> = {
    host,
    port,
    user,
    identityFiles,
    identitiesOnly: config.identitiesOnly ?? false,
    knownHostsFiles: userFiles,
    globalKnownHostsFiles: globalFiles.filter((f) => !userFiles.includes(f)),
    hashKnownHosts: config.hashKnownHosts ?? false,
    connectTimeoutMs:
      1000 * (explicit.connectTimeout ?? config.connectTimeout ?? DEFAULTS.connectTimeoutSeconds),
    keepaliveIntervalMs:
      1000 * (explicit.keepaliveInterval ?? config.serverAliveInterval ?? DEFAULTS.keepaliveSeconds),
  };
  if (explicit.passphrase) result.passphrase = explicit.passphrase;
  if (config.hostKeyAlias) result.hostKeyAlias = config.hostKeyAlias;
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
  const config = resolve(ssh.host, env, pick(ssh, ['user', 'port']));
  const agent = agentSocket(ssh.agent, config.identityAgent, env);

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
  const plan: ConnectionPlan = { target, notes: [...config.notes], resolvedBy: config.resolvedBy };

  const jump: JumpTarget | JumpSpec | undefined = ssh.jump ?? jumpFromConfig(config);
  if (jump) {
    const jumpConfig = resolve(jump.host, env, pick(jump, ['user', 'port']));
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
