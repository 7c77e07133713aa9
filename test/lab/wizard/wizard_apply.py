"""Applying the answers of the lab install wizard, as Pexip's ConfigApplicator does on a v7
appliance: network (netplan), hostname and /etc/hosts, NTP, nginx, the iptables rules file,
certificates (SSL; SSH host keys), TURN (turnserver.conf and the TURN user via turnadmin),
fail2ban, SNMP. Services are enabled or disabled with update-rc.d (sysvinit, as in the lab).

Lab differences, said where they happen: the firewall rules are written, not applied (the
appliance shares the host's network namespace); snmpd is configured but not installed in the lab.
"""

import os
import shutil
import subprocess
import tempfile

import wizard_templates as templates

TURNUSERDB = "/etc/turnuserdb.conf"
PEXIP_PEM = "/etc/nginx/ssl/pexip.pem"
IPTABLES_RULES = "/home/pexip/iptables.rules"
SERVICES = "/etc/rpctl-lab/services"


class ApplyError(Exception):
    pass


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def run(*argv):
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        # never the arguments: turnadmin's carry the TURN password
        raise ApplyError(f"{argv[0]} {argv[1]} failed: {result.stderr.strip()[:200]}")


def service(name, enabled):
    if os.path.exists(f"/etc/init.d/{name}"):
        run("update-rc.d", name, "enable" if enabled else "disable")


def apply(config, secrets, lab):
    networks = config["networks"]
    internal, external = networks[config["internal"]], networks[config["external"]]
    fqdn = f"{config['hostname']}.{config['domain']}"
    nics = sorted({config["internal"], config["external"]})

    write("/etc/netplan/01-netcfg.yaml", templates.netplan(networks, nics, config["dns"]), 0o600)
    write("/etc/hostname", config["hostname"] + "\n")
    write("/etc/hosts", templates.etc_hosts(internal["ipaddress"], config["hostname"], config["domain"]))
    write("/etc/ntp.conf", templates.ntp_conf(config["ntp"]))

    web = config["enablewebloadbalance"]
    if web:
        addresses = [networks[nic]["ipaddress"] for nic in nics]
        pexapp = templates.pexapp(addresses, fqdn, config["conferencenodes"], config.get("enablecsp", True))
        write("/etc/nginx/sites-available/pexapp", pexapp)
        if not os.path.lexists("/etc/nginx/sites-enabled/pexapp"):
            os.symlink("../sites-available/pexapp", "/etc/nginx/sites-enabled/pexapp")
    service("nginx", web)

    write(IPTABLES_RULES, templates.iptables_rules(config, internal["ipaddress"], external["ipaddress"]), 0o600)
    print(f"lab: firewall rules written to {IPTABLES_RULES}, not applied (the appliance shares the host's network)")
    service("ssh", bool(config["managementnetworks"]))

    certs = config["generate-certs"]
    if certs["ssl"]:
        regenerate_ssl(fqdn)
    if certs["ssh"]:
        regenerate_ssh_host_keys(config["hostname"], lab.host_keys_at_boot)

    apply_turn(config, secrets, internal["ipaddress"], external["ipaddress"], lab)
    service("fail2ban", config["enablefail2ban"])

    snmp = config["snmp"]
    if snmp["enabled"]:
        write("/etc/snmp/snmpd.conf", templates.snmpd_conf(internal["ipaddress"], snmp), 0o600)
        if not os.path.exists("/etc/init.d/snmpd"):
            print("lab: snmpd is not installed in the lab; /etc/snmp/snmpd.conf is written only")
    service("snmpd", snmp["enabled"])

    # The lab starts an appliance's own services at boot (boot-hook.sh); rc2.d says which are enabled.
    write(SERVICES, f"ssh nginx {lab.turn_service} fail2ban snmpd\n")


def regenerate_ssl(fqdn):
    """A new self-signed certificate, then its key, in one file as the guide orders pexip.pem."""
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1095", "-subj", f"/CN={fqdn}",
            "-addext", f"subjectAltName=DNS:{fqdn}", "-keyout", key, "-out", cert)
        os.makedirs(os.path.dirname(PEXIP_PEM), exist_ok=True)
        with open(cert) as c, open(key) as k:
            pem = c.read() + k.read()
    if os.path.exists(PEXIP_PEM):
        os.chmod(PEXIP_PEM, 0o600)
    write(PEXIP_PEM, pem, 0o400)
    os.chown(PEXIP_PEM, 0, 0)
    os.chmod(os.path.dirname(PEXIP_PEM), 0o400)


def regenerate_ssh_host_keys(hostname, at_boot=False):
    """As dpkg-reconfigure openssh-server does, for the key types the lab's sshd serves. `at_boot`
    (a lab setting): only remove them; the appliance makes new ones as it boots (boot-hook.sh), as
    images with a first-boot key service do, so nobody can read them before the reboot."""
    for name in os.listdir("/etc/ssh"):
        if name.startswith("ssh_host_"):
            os.remove(os.path.join("/etc/ssh", name))
    for kind in ("ed25519", "ecdsa"):
        if not at_boot:
            run("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{hostname}", "-f", f"/etc/ssh/ssh_host_{kind}_key")


def apply_turn(config, secrets, internal_ip, external_ip, lab):
    turn = config["turnserver"]
    default_file = f"/etc/default/{lab.turn_service}"
    if not turn["enabled"]:
        write(default_file, "TURNSERVER_ENABLED=0\n")
        service(lab.turn_service, False)
        return
    conf = templates.turnserver_conf(
        internal_ip, external_ip, config["domain"], turn["port443"], turn["clientturn"], config["medianodes"]
    )
    write("/etc/turnserver.conf", conf)
    write(default_file, "TURNSERVER_ENABLED=1\n")
    if os.path.exists(TURNUSERDB):
        os.remove(TURNUSERDB)  # the previous TURN users go, as on the appliance
    realm = config["domain"]
    if turn["clientturn"]:
        run("turnadmin", "-b", TURNUSERDB, "-r", realm, "-s", secrets["sharedsecret"])
    else:
        run("turnadmin", "-k", "-a", "-b", TURNUSERDB, "-u", turn["username"], "-r", realm, "-p", secrets["password"])
    shutil.chown(TURNUSERDB, "root", "turnserver")
    os.chmod(TURNUSERDB, 0o660)
    service(lab.turn_service, True)
