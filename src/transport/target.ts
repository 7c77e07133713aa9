/**
 * What the caller says about one SSH server to reach: an appliance, described by the inventory and
 * turned into an SshTarget by the engine (src/engine/ssh-target.ts). Anything left unset comes from
 * ~/.ssh/config, then from ssh(1)'s own defaults (settings.ts). Transport knows nothing else about
 * the machines it connects to.
 *
 *   openSession({ name: 'rp1', host: '10.40.0.11', defaultUser: 'admin', password: () => pw }, options)
 */

/** A secret, read only when the connection needs it; its value is never logged or kept in messages. */
export type SecretValue = () => string;

export interface JumpTarget {
  host: string;
  port?: number;
  user?: string;
}

export interface SshTarget {
  /** the name messages and log lines start with (an appliance's inventory name) */
  name: string;
  /** address or ~/.ssh/config alias */
  host: string;
  port?: number;
  user?: string;
  /** the user when neither the target nor ~/.ssh/config names one (default: the local user, as ssh(1)) */
  defaultUser?: string;
  /** a private key the target requires: one that cannot be read fails the connection */
  identityFile?: string;
  passphrase?: SecretValue;
  /** login password: password and keyboard-interactive authentication */
  password?: SecretValue;
  /** use ssh-agent: true for $SSH_AUTH_SOCK, or a socket path */
  agent?: boolean | string;
  /** known_hosts files (default ~/.ssh/known_hosts, or ~/.ssh/config's UserKnownHostsFile) */
  knownHosts?: string[];
  /** one bastion to go through */
  jump?: JumpTarget;
  /** seconds */
  connectTimeout?: number;
  /** seconds between keepalives; 0 disables them */
  keepaliveInterval?: number;
  /**
   * The password sudo asks `user` for (sent on stdin, never a command line). It may throw a
   * HostError saying why there is none; without it, a sudo exec that needs a password fails.
   */
  sudoPassword?(user: string): string;
}
