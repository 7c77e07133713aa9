"""rpctl lab: the install wizard of a v4 Pexip RP/TURN appliance, as the 002 guide describes it
("Running the installation wizard"). installwizard.py runs it on a v4 appliance; pexip's ~/.profile
shows the Pexip banner and starts it under sudo (so the new password is asked again) while
/etc/nginx/sites-available/pexapp does not exist: every v4 install writes pexapp, even a TURN-only
one, whose single conferencing node is the unused 169.254.0.1.

Ten prompts, each ending in ": ", some taking several values on one line:

    IP address: 198.51.100.130
    Subnet mask: 255.255.255.0
    Default Gateway: 198.51.100.129
    Network address and subnet mask of network/host allowed to access this host over SSH: 10.0.50.0 255.255.255.0
    Hostname: proxy
    Domain suffix: example.com
    DNS server(s), space separated: 8.8.8.8 8.8.4.4
    NTP server(s), space separated: 0.no.pool.ntp.org 1.no.pool.ntp.org
    Enter IP of next conference node or press [ENTER] if finished: 10.40.0.10   (until an empty line)
    TURN server username and password, or 'disable': pexip admin123

A refused answer prints "<reason>. Please try again." and the same prompt again (e.g. a gateway
outside the address's network: unreachable). Nothing is written before the last answer; Ctrl-C or
the end of input leaves the appliance as it was. Then it writes what a v4 appliance has
(/etc/network/interfaces, hostname and hosts, NTP, pexapp, the SSH allow rules, a new certificate
and SSH host keys, turnserver.conf and the TURN user in /etc/turnuserdb.conf, or TURN disabled)
and reboots. The v4 wizard has no defaults, no second NIC, no SNMP, no Content-Security-Policy.
"""

import datetime
import os
import signal
import sys

import wizard_apply
import wizard_templates as templates
from wizard_ui import EndOfInput, Invalid, domain, host, hostname, interface, ip_address, network, turn_text

NIC = "eth0"
TURN_ONLY_NODE = "169.254.0.1"


def ask(prompt, validate):
    """The prompt on its own line ending in ": "; asked again until `validate` accepts the answer."""
    while True:
        print(f"{prompt}: ", end="", flush=True)
        line = sys.stdin.readline()
        if line == "":
            raise EndOfInput()
        try:
            return validate(line.rstrip("\n"))
        except Invalid as refused:
            print(f"{str(refused).rstrip('.')}. Please try again.", flush=True)


def values(check, at_least=1):
    """Space-separated values on one line, each checked."""

    def parse(text):
        words = text.split()
        if len(words) < at_least:
            raise Invalid("Enter at least one value, separated by spaces")
        return [check(word) for word in words]

    return parse


def management_network(text):
    words = text.split()
    if len(words) != 2:
        raise Invalid("Enter a network address and its subnet mask, separated by a space")
    found = network(ip_address(words[0]), words[1])
    if str(found.network_address) != words[0]:
        raise Invalid(f"{words[0]} is not the network address of {found}")
    return found


def turn_credentials(text):
    """'disable', or username and password separated by one space."""
    if text.strip() == "disable":
        return None
    words = text.split(" ")
    if len(words) != 2 or "" in words:
        raise Invalid("Enter a username and a password separated by one space, or 'disable'")
    return turn_text("username")(words[0]), turn_text("password")(words[1])


def ask_all():
    """The ten steps in the guide's order; returns the answers and the TURN password apart."""
    a = {"address": ask("IP address", ip_address)}
    a["netmask"] = ask("Subnet mask", lambda t: str(interface(a["address"], t.strip()).netmask))
    own = interface(a["address"], a["netmask"])

    def gateway(text):
        found = ip_address(text)
        if found == a["address"] or not own.network.overlaps(network(found, 32)):
            raise Invalid(f"Gateway {found} is not reachable from {own.with_prefixlen}")
        return found

    a["gateway"] = ask("Default Gateway", gateway)
    a["management"] = ask(
        "Network address and subnet mask of network/host allowed to access this host over SSH", management_network
    )
    a["hostname"] = ask("Hostname", hostname)
    a["domain"] = ask("Domain suffix", domain)
    a["dns"] = ask("DNS server(s), space separated", values(ip_address))
    a["ntp"] = ask("NTP server(s), space separated", values(host))
    print("Enter the IP address of each conference node separately, followed by [ENTER].")
    print("Press [ENTER] on an empty line to finish entering conference nodes.", flush=True)
    a["nodes"] = []

    def node(text):
        if text.strip() == "":
            if not a["nodes"]:
                raise Invalid(f"Enter at least one conference node ({TURN_ONLY_NODE} for a TURN server only)")
            return None
        return ip_address(text)

    while (found := ask("Enter IP of next conference node or press [ENTER] if finished", node)) is not None:
        a["nodes"].append(found)
    print("Choose a space-separated username and password to enable the built in TURN server")
    print("Enter 'disable' to disable the built in TURN Server")
    print("Example: someusername somepassword", flush=True)
    turn = ask("TURN server username and password, or 'disable'", turn_credentials)
    a["turn"] = turn[0] if turn else None
    return a, (turn[1] if turn else None)


def interfaces_file(a):
    """As the 002 guide shows the file the wizard wrote (InterfacesFileWriter)."""
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"""# >/etc/network/interfaces
# Written at {written} UTC by InterfacesFileWriter
auto lo {NIC}
iface lo inet loopback

iface {NIC} inet static
  address {a['address']}
  netmask {a['netmask']}
  gateway {a['gateway']}
  dns-nameservers {' '.join(a['dns'])}
"""


def apply(a, password, lab):
    write, service = wizard_apply.write, wizard_apply.service
    fqdn = f"{a['hostname']}.{a['domain']}"
    write("/etc/network/interfaces", interfaces_file(a))
    write("/etc/hostname", a["hostname"] + "\n")
    write("/etc/hosts", templates.etc_hosts(a["address"], a["hostname"], a["domain"]))
    write("/etc/ntp.conf", templates.ntp_conf(a["ntp"]))
    write("/etc/nginx/sites-available/pexapp", templates.pexapp([a["address"]], fqdn, a["nodes"], csp=False))
    if not os.path.lexists("/etc/nginx/sites-enabled/pexapp"):
        os.symlink("../sites-available/pexapp", "/etc/nginx/sites-enabled/pexapp")
    service("nginx", True)
    # The v7 rules file shape: TURN open to any client (v4 has no restricted mode), SSH from the one
    # management network. Written, not applied, as for v7.
    turn = {"enabled": a["turn"] is not None, "port443": False, "clientturn": True}
    rules = {"enablewebloadbalance": True, "conferencenodes": a["nodes"], "turnserver": turn,
             "managementnetworks": [str(a["management"])], "snmp": {"enabled": False}}
    write(wizard_apply.IPTABLES_RULES, templates.iptables_rules(rules, a["address"], a["address"]), 0o600)
    service("ssh", True)
    wizard_apply.regenerate_ssl(fqdn)
    wizard_apply.regenerate_ssh_host_keys(a["hostname"], lab.host_keys_at_boot)
    config = {"domain": a["domain"], "medianodes": [],
              "turnserver": {"enabled": a["turn"] is not None, "port443": False, "clientturn": False, "username": a["turn"]}}
    wizard_apply.apply_turn(config, {"password": password}, a["address"], a["address"], lab)
    write(wizard_apply.SERVICES, f"ssh nginx {lab.turn_service} fail2ban\n")


def main(lab, reboot):
    print("Pexip Reverse Proxy and TURN Server installation wizard")
    print("Press Ctrl-C to abort: nothing is written before the last step is answered.\n", flush=True)
    try:
        answers, password = ask_all()
    except EndOfInput:
        print("\nAborted: nothing was saved or applied.", flush=True)
        return 1
    print("\nWriting configuration...", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # half-applied is worse than slow
    try:
        apply(answers, password, lab)
    except wizard_apply.ApplyError as failed:
        print(f"\nConfiguration failed: {failed}", flush=True)
        return 1
    print("Configuration complete. The appliance will now reboot.\n", flush=True)
    return reboot(lab)
