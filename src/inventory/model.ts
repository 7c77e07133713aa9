/**
 * The inventory after loading: what the rest of rpctl consumes. Produced by `loadInventory`
 * (src/inventory/load.ts) from YAML; see inventories/example.yaml for the file format.
 *
 * Settings merge appliance > groups (in the order the appliance lists them, later wins) >
 * defaults, objects deeply, arrays replaced.
 */

/**
 * A reference to a secret, never the secret itself (values live in the Secrets registry,
 * src/inventory/secrets.ts). `origin` is the inventory path where the reference is written
 * (`defaults.sudo.password`): appliances sharing one `prompt` are asked once.
 */
export type SecretRef =
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string } // absolute, resolved against the inventory's directory
  | { kind: 'prompt'; origin?: string }
  | { kind: 'inline'; origin?: string } // only with `allowInlineSecrets: true`; the value is registered at load time
  /** a command run without a shell (`exec:pass show pexip/sudo`); its standard output is the secret */
  | { kind: 'exec'; argv: string[]; timeoutSeconds: number; origin?: string; at?: string };

/** Where a value came from, for error messages: file:line:column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface JumpHost {
  host: string;
  port?: number;
  user?: string;
}

/** Connection settings of one appliance after merging (undefined = not set; ~/.ssh/config and built-in defaults apply). */
export interface SshSettings {
  /** address or ~/.ssh/config alias; defaults to the appliance's name */
  host: string;
  port?: number;
  user?: string;
  /** absolute path of a private key */
  identityFile?: string;
  passphrase?: SecretRef;
  /** login password (password and keyboard-interactive auth) */
  password?: SecretRef;
  /** use ssh-agent: true for $SSH_AUTH_SOCK, or a socket path */
  agent?: boolean | string;
  /** absolute paths of known_hosts files; default ~/.ssh/known_hosts */
  knownHosts?: string[];
  jump?: JumpHost;
  /** seconds */
  connectTimeout?: number;
  /** seconds between keepalives */
  keepaliveInterval?: number;
}

export interface SudoSettings {
  /** pexip's password, which sudo asks for; goes over stdin, never a command line */
  password?: SecretRef;
}

/** `N` hosts or `N%` of the selected hosts at a time. */
export type Serial = { count: number } | { percent: number };

export interface ApplianceConfig {
  name: string;
  groups: string[];
  ssh: SshSettings;
  sudo: SudoSettings;
  /** the appliance's hostname and domain (its FQDN is hostname.domain) */
  hostname?: string;
  domain?: string;
  /**
   * Desired state per inventory section (`upstreams`, `certificate`, `turn`, `fail2ban`,
   * `network`, `install`), merged and validated by the section schemas recipes register.
   */
  sections: Record<string, unknown>;
  /** where the appliance is defined, for messages */
  source: SourceLocation;
}

export interface GroupConfig {
  name: string;
  description?: string;
  /** at most this many of the group's appliances are changed at once (e.g. the proxies behind one SRV record) */
  serial?: Serial;
  source: SourceLocation;
}

export interface Inventory {
  /** absolute path of the inventory file */
  file: string;
  /** the fleet's identity: its `fleet:` name, else the file's absolute path (keys the drift history) */
  fleet: string;
  /** how long drift history is kept (`history.keep`), in milliseconds */
  historyKeepMs: number;
  appliances: ApplianceConfig[];
  groups: Map<string, GroupConfig>;
  allowInlineSecrets: boolean;
}
