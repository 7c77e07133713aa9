/**
 * The files of a lab appliance, shaped like the real Pexip RP/TURN appliance
 * (docs/appliance.md; the layout of Pexip's public rp-turn build). Pure functions of the
 * appliance's spec, so tests can compute the exact bytes a fresh appliance starts with.
 */
import { serviceAddress, wizardGateway } from './network-addresses.js';

export type Generation = 'v4' | 'v7';
export type ApplianceState = 'installed' | 'fresh';

export interface ApplianceSpec {
  name: string;
  /** 1-based position in the lab; the address is PREFIX.index */
  index: number;
  address: string;
  generation: Generation;
  state: ApplianceState;
  hostname: string;
  domain: string;
  /** conferencing nodes in `upstream pexip` (loopback addresses: nothing is ever proxied off-box) */
  nodes: string[];
  turnUser: string;
  /**
   * In a network namespace of its own with real NICs (network.ts): services listen on the internal
   * NIC and SSH reaches it through a relay at `address`
   */
  networked?: boolean;
}

export const fqdn = (spec: ApplianceSpec): string => `${spec.hostname}.${spec.domain}`;

/** TURN service name per generation: v4 shipped rfc5766-turn-server, v7 ships coturn. */
export const turnService = (generation: Generation): string =>
  generation === 'v4' ? 'rfc5766-turn-server' : 'coturn';

/** A networked appliance listens on every address, as the real one does (its NICs may change). */
const listenOn = (spec: ApplianceSpec, port: number): string =>
  spec.networked ? String(port) : `${spec.address}:${port}`;

export function pexapp(spec: ApplianceSpec): string {
  const servers = spec.nodes.map((node) => `    server ${node}:443 weight=1 max_fails=0;\n`).join('');
  const location = (path: string, log: string, connectTimeout: string) => `    location ${path} {
        proxy_pass https://pexip;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_redirect off;
        proxy_connect_timeout ${connectTimeout};
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_next_upstream http_500 http_502 http_503 http_504 error timeout non_idempotent;
        access_log /var/log/nginx/${log}.access.log pexapplog;
        error_log /var/log/nginx/${log}.error.log;

        # One error page per location, so the log line lands in the right file.
        error_page 404 ${path}/404.html;
        error_page 500 502 503 504 ${path}/50x.html;
        location ${path}/404.html {
            internal;
            alias /var/www/404.html;
        }
        location ${path}/50x.html {
            internal;
            alias /var/www/50x.html;
        }
    }
`;
  return `# Upstream servers
upstream pexip {
    ip_hash;
${servers}    keepalive 1024;
}

# Redirect HTTP to HTTPS
server {
    listen ${listenOn(spec, 80)};
    server_name ${fqdn(spec)};
    return 301 https://$host$request_uri;
}

server {
    listen ${listenOn(spec, 443)} ssl;
    server_name ${fqdn(spec)};

    include /etc/nginx/includes/pex-rewrites.conf;

    ssl_certificate ssl/pexip.pem;
    ssl_certificate_key ssl/pexip.pem;
    ssl_session_timeout 5m;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers !eNULL:!EXP:!DES:!3DES:!RC4:!RC2:!IDEA:!CAMELLIA:!SEED:!MD5:!aNULL:!ADH:!SRP:!PSK:EECDH+AESGCM:EDH+AESGCM;
    ssl_ecdh_curve secp384r1;
    ssl_prefer_server_ciphers on;
    ssl_dhparam /etc/ssl/certs/dhparam.pem;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets off;

    error_page 404 /404.html;
    error_page 500 502 503 504 /50x.html;

    # The web root goes to the web app
    location / {
        return 301 /webapp$is_args$args;
    }

    proxy_ssl_server_name on;

${location('/api', 'api', '20s')}
${location('/webapp', 'webapp', '3s')}
${location('/static', 'static', '3s')}
    location /stats {
        root /var/www;
        allow 127.0.0.0/8;
        deny all;
        access_log /var/log/nginx/stats.access.log pexapplog;
        error_log /var/log/nginx/stats.error.log;
    }

    location /404.html {
        root /var/www;
    }
    location /50x.html {
        root /var/www;
    }
}

# Content-Security-Policy for answers from conferencing nodes that do not set one
map $upstream_http_content_security_policy $csp {
    '' "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; script-src 'self' 'unsafe-inline' 'unsafe-eval'; media-src 'self' blob:; connect-src 'self';";
}
add_header Content-Security-Policy $csp;
`;
}

export const nginxConf = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
worker_rlimit_nofile 60000;

events {
        worker_connections 8192;
}

http {
        root /usr/share/nginx/html;
        server_tokens off;
        sendfile on;
        tcp_nopush on;
        tcp_nodelay on;
        keepalive_timeout 65;
        types_hash_max_size 2048;
        server_names_hash_bucket_size 64;
        include /etc/nginx/mime.types;
        default_type application/octet-stream;
        client_max_body_size 15M;
        charset UTF-8;

        gzip on;

        log_format pexapplog '$remote_addr - $remote_user [$time_local]  '
                             '"$request_filtered" $status $body_bytes_sent '
                             '"$http_referer_filtered" "$http_user_agent" '
                             '"$upstream_addr" "$upstream_status" "$upstream_response_time"';

        access_log /var/log/nginx/access.log pexapplog;
        error_log /var/log/nginx/error.log;

        include /etc/nginx/conf.d/*.conf;
        include /etc/nginx/sites-enabled/*;
}
`;

/** Strips PINs and tokens from logged requests (the appliance logs through these maps). */
export const nginxLoggingConf = ['request', 'http_referer']
  .map((variable) => {
    const keys = ['code', 'state', 'token', 'pin', 'data'];
    return keys
      .map((key, i) => {
        const from = i === 0 ? `$${variable}` : `$${variable}_${i - 1}`;
        const to = i === keys.length - 1 ? `$${variable}_filtered` : `$${variable}_${i}`;
        return `map ${from} ${to} {\n    ~(.*)${key}=[^&\\ \\t\\n]*(.*) $1${key}=[FILTERED]$2;\n    default ${from};\n}\n`;
      })
      .join('');
  })
  .join('\n');

export const pexRewrites = `# Old client paths kept working after the web app moved
rewrite ^/webapp2/(.*)$ /webapp/$1 permanent;
`;

export function turnserverConf(spec: ApplianceSpec): string {
  return `# Config generated by Pexip RP
listening-ip=${serviceAddress(spec)}
relay-ip=${serviceAddress(spec)}
realm=${spec.domain}
listening-port=3478
lt-cred-mech
no-tcp-relay
no-tls
no-dtls
no-multicast-peers
stale-nonce
#proc-user=turnserver
#proc-group=turnserver
#no-cli
no-stdout-log
syslog
min-port=49152
max-port=65535
userdb=/etc/turnuserdb.conf
`;
}

export const jailLocal = `# fail2ban configuration of the Pexip Reverse Proxy.
# Changes here need: sudo /etc/init.d/fail2ban restart

[DEFAULT]
# Seconds an address stays banned
bantime = 300
# An address is banned after maxretry failures within findtime seconds
findtime = 300

[sshd]
enabled = true
port = ssh
logpath = %(sshd_log)s
backend = %(sshd_backend)s

[pexiprp]
# Failed PIN entries on PIN-protected conferences (see filter.d/pexiprp.conf)
enabled = true
port = http,https
filter = pexiprp
logpath = /var/log/nginx/api.access.log
maxretry = 10
`;

export const pexiprpFilter = `# Block PIN brute forcing attempts
#
[INCLUDES]
before = common.conf

[Definition]
# Test with:
#   fail2ban-regex /var/log/nginx/api.access.log /etc/fail2ban/filter.d/pexiprp.conf
# Banned addresses:
#   sudo fail2ban-client status pexiprp
#
# A matching line:
# 192.0.2.10 - - [18/Aug/2016:14:25:18 +0000]  "POST /api/client/v2/conferences/meet.alice/request_token HTTP/1.1" 403 56 "https://proxy.example.com/webapp/" "Mozilla/5.0" "10.40.0.10:443" "403" "2.006"
failregex = ^<HOST> - - .*  "POST /api/client/v2/conferences/.*/request_token HTTP/.*" 403 .* ".*" ".*" ".*" "403" ".*"$
ignoreregex =
datepattern = %%d(?P<_sep>[-/])%%b(?P=_sep)%%ExY[ :]?%%H:%%M:%%S(?:\\.%%f)?(?: %%z)?
`;

/**
 * Lab only: bans are recorded in a file, never in a firewall (appliances share the host's network
 * namespace). Loaded after jail.local from jail.d/, so jail.local stays exactly as on an appliance.
 */
export const labBanAction = `# rpctl lab: record bans instead of touching any firewall
[Definition]
actionstart =
actionstop =
actioncheck =
allowipv6 = auto
actionban = echo "$(date +%%s) ban <ip> <name>" >> /var/log/fail2ban-lab-bans.log
actionunban = echo "$(date +%%s) unban <ip> <name>" >> /var/log/fail2ban-lab-bans.log
`;

export const labBanOverride = `# rpctl lab: never touch a firewall from a lab appliance
[DEFAULT]
banaction = rpctl-lab-record
banaction_allports = rpctl-lab-record
`;

/** v4 (ifupdown), as the guide shows it before a second NIC is added. */
export function networkInterfaces(spec: ApplianceSpec): string {
  return `# >/etc/network/interfaces
# Written at 2016-11-14 10:30:34 UTC by InterfacesFileWriter
auto lo eth0
iface lo inet loopback

iface eth0 inet static
  address ${serviceAddress(spec)}
  netmask 255.255.255.0
  gateway ${wizardGateway(spec)}
  dns-nameservers 127.0.0.53
`;
}

/** v7 (netplan), as the install wizard writes it. */
export function netplan(spec: ApplianceSpec): string {
  return `# This file was written by the Pexip RP/TURN install wizard
network:
  version: 2
  renderer: networkd
  ethernets:
    nic0:
      dhcp4: false
      dhcp6: false
      addresses:
      - ${serviceAddress(spec)}/24
      nameservers:
        addresses:
        - 127.0.0.53
      routes:
      - to: default
        via: ${wizardGateway(spec)}
`;
}

export function etcHosts(spec: ApplianceSpec): string {
  return `127.0.0.1\tlocalhost
${serviceAddress(spec)}\t${fqdn(spec)} ${spec.hostname}

::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;
}

/** Debian's sshd_config with the appliance's restrictions. */
export function sshdConfig(spec: ApplianceSpec): string {
  return `# Pexip RP/TURN appliance
Port 22
${spec.networked ? '' : `ListenAddress ${spec.address}\n`}HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key

SyslogFacility AUTH
LogLevel INFO

LoginGraceTime 120
PermitRootLogin no
StrictModes yes
AllowUsers pexip

PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
IgnoreRhosts yes
HostbasedAuthentication no
PermitEmptyPasswords no

X11Forwarding no
PrintMotd no
PrintLastLog yes
TCPKeepAlive yes
AllowTcpForwarding yes
GatewayPorts no
PermitUserEnvironment no
PermitTunnel no
MaxSessions 10
ClientAliveInterval 180

AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
UsePAM yes
`;
}

/** What the v7 wizard saves (never the TURN password or secret). */
export function reverseProxyConfigJson(spec: ApplianceSpec): string {
  const config = {
    networks: {
      nic0: {
        ipaddress: serviceAddress(spec),
        netmask: '255.255.255.0',
        gateway: wizardGateway(spec),
        routes: [],
      },
    },
    internal: 'nic0',
    external: 'nic0',
    dns: ['127.0.0.53'],
    hostname: spec.hostname,
    domain: spec.domain,
    ntp: ['0.pexip.pool.ntp.org', '1.pexip.pool.ntp.org', '2.pexip.pool.ntp.org'],
    enablewebloadbalance: true,
    conferencenodes: spec.nodes,
    enablecsp: true,
    turnserver: { enabled: true, port443: false, clientturn: false, username: spec.turnUser },
    medianodes: spec.nodes,
    managementnetworks: ['127.0.0.0/8'],
    enablefail2ban: false,
    snmp: { enabled: false },
  };
  return `${JSON.stringify(config, null, 4)}\n`;
}

// pexip's ~/.profile as Debian ships it, before the appliance's own lines.
const profileHead = `# ~/.profile: executed by the command interpreter for login shells.

# if running bash
if [ -n "$BASH_VERSION" ]; then
    # include .bashrc if it exists
    if [ -f "$HOME/.bashrc" ]; then
\t. "$HOME/.bashrc"
    fi
fi

# set PATH so it includes user's private bin if it exists
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi

`;

/** pexip's ~/.profile: the wizard starts on login until its answers are saved. */
export const pexipProfile = `${profileHead}# Run installwizard if necessary
if [ ! -e "\${HOME}/.reverseproxy-config.json" ]; then
    installwizard
fi
`;

/**
 * v4: the Pexip banner, then the wizard under sudo (which asks for the new password again), on every
 * login until the wizard has written pexapp (every v4 install does, even a TURN-only one).
 */
export const pexipProfileV4 = `${profileHead}# Run installwizard if necessary
if [ ! -e /etc/nginx/sites-available/pexapp ]; then
    echo "+------------------------------------------------------------+"
    echo "|              Pexip Reverse Proxy/TURN Server               |"
    echo "|  Enter your password again to start the install wizard     |"
    echo "+------------------------------------------------------------+"
    installwizard
fi
`;

export const profileOf = (generation: Generation): string =>
  generation === 'v4' ? pexipProfileV4 : pexipProfile;

export const errorPage = (title: string) =>
  `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>\n`;
