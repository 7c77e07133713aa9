/**
 * Every path on the appliance that rpctl reads or manages, defined once. docs/appliance.md says
 * what each file is and which generation has it.
 */

/** What tells the appliance's identity and generation apart; read whole on every run. */
export const APPLIANCE_FILES = {
  hostname: '/etc/hostname',
  hosts: '/etc/hosts',
  interfaces: '/etc/network/interfaces',
  netplan: '/etc/netplan/01-netcfg.yaml',
  coturnInit: '/etc/init.d/coturn',
  rfc5766Init: '/etc/init.d/rfc5766-turn-server',
  turnserverConf: '/etc/turnserver.conf',
} as const;

/** The nginx site whose `upstream pexip` block lists the conferencing nodes. */
export const PEXAPP = '/etc/nginx/sites-available/pexapp';
/** The certificate, private key and chain nginx serves (secret: never read back whole). */
export const PEXIP_PEM = '/etc/nginx/ssl/pexip.pem';
/** The guide's name for the previous certificate file, next to it. */
export const PEXIP_PEM_BACKUP_NAME = 'pexip.pem.backup';
export const PEXIP_PEM_BACKUP = `/etc/nginx/ssl/${PEXIP_PEM_BACKUP_NAME}`;
/** Where `rpctl cert rollback` stages the backup before renaming it into place. */
export const PEXIP_PEM_STAGING = '/etc/nginx/ssl/.pexip.pem.rpctl-rollback';
export const TURNSERVER_CONF = APPLIANCE_FILES.turnserverConf;
/** The TURN server's long-term users (turnadmin's database). */
export const TURN_USERDB = '/etc/turnuserdb.conf';
/** The fail2ban settings the guide tunes. */
export const JAIL_LOCAL = '/etc/fail2ban/jail.local';

/** The files rpctl manages, as `rpctl facts` lists them (hashes, owner, mode; never their content). */
export const MANAGED_FILES = {
  pexapp: PEXAPP,
  certificate: PEXIP_PEM,
  turnserver: TURNSERVER_CONF,
  jail: JAIL_LOCAL,
  interfaces: APPLIANCE_FILES.interfaces,
  netplan: APPLIANCE_FILES.netplan,
} as const;
