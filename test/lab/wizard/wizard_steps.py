"""The steps of the lab install wizard, in the order and with the questions of Pexip's v7.1 wizard
(docs/appliance.md; question texts as in Pexip's public rp-turn project). Each step reads its
defaults from the saved answers of an earlier run and stores its answers in `config`, the shape
saved to ~/.reverseproxy-config.json. The TURN password and shared secret go to `secrets`, never
to `config`.
"""

from wizard_ui import (
    Invalid,
    ask,
    ask_list,
    ask_yes_no,
    cidr_interface,
    display,
    domain,
    host,
    hostname,
    interface,
    ip_address,
    limited,
    network,
    turn_text,
)

DEFAULT_NTP = ["0.pexip.pool.ntp.org", "1.pexip.pool.ntp.org", "2.pexip.pool.ntp.org"]
ROLE_SUFFIX = {"single": "", "internal": " for internal interface", "external": " for external interface"}


def address_or_cidr(answer):
    """An address, or address/prefix which also answers the netmask question that follows."""
    return cidr_interface(answer) if "/" in answer else (ip_address(answer), None)


def valid_list(values, check):
    """Saved values are offered again only if every one of them is still valid."""
    try:
        return [check(str(v)) for v in values] if isinstance(values, list) and values else []
    except Invalid:
        return []


class Steps:
    def __init__(self, saved, lab):
        self.saved = saved or {}
        self.first_run = saved is None
        self.lab = lab
        self.config = {"networks": {}}
        self.secrets = {}

    def saved_value(self, *path, fallback=None):
        value = self.saved
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return fallback if value is None else value

    # -- NICs -------------------------------------------------------------------------------

    def dual_nic(self):
        """Returns the network steps to run next."""
        nics = self.lab.nics
        display("More than one network interface has been detected:" + "".join(f"\n  - {n} ({m})" for n, m in nics))
        internal, external = self.saved_value("internal"), self.saved_value("external")
        dual = ask_yes_no("Do you want to configure Dual NIC?", bool(internal and external and internal != external))
        names = [n for n, _ in nics]
        left = list(names)

        def choose(question, default):
            if len(left) == 1:
                display(f"{question}?\n> {left[0]}")
                return left.pop()

            def check(answer):
                answer = answer.strip()
                if answer not in names:
                    raise Invalid("Not a valid network interface")
                if answer not in left:
                    raise Invalid("Cannot select this network interface")
                return answer

            chosen = ask(f"{question}? ({'/'.join(left)})", default if default in left else None, check)
            left.remove(chosen)
            return chosen

        mac = dict(nics)
        if not dual:
            nic = choose("Which network interface should be used", internal)
            self.config["internal"] = self.config["external"] = nic
            return [self.network_step(nic, mac[nic], "single")]
        self.config["internal"] = choose("Which is the internal-facing network interface", internal)
        self.config["external"] = choose("Which is the external-facing network interface", external)
        return [
            self.network_step(self.config["internal"], mac[self.config["internal"]], "internal"),
            self.network_step(self.config["external"], mac[self.config["external"]], "external"),
        ]

    def network_step(self, nic, mac, role):
        def run():
            saved = self.saved_value("networks", nic, fallback={})
            dhcp = self.lab.dhcp(nic)
            suffix = ROLE_SUFFIX[role]
            net = {"ipaddress": None, "netmask": None, "gateway": None, "routes": []}

            net["ipaddress"], net["netmask"] = ask(
                f"IP Address{suffix}?", saved.get("ipaddress") or dhcp.get("ipaddress"), address_or_cidr
            )
            if net["netmask"] is None:
                net["netmask"] = ask(
                    f"Subnet mask{suffix}?",
                    saved.get("netmask") or dhcp.get("netmask"),
                    lambda a: str(interface(net["ipaddress"], a).netmask),
                )
            if role != "internal":
                net["gateway"] = ask(f"Default gateway{suffix}?", saved.get("gateway"), ip_address)
            if role == "internal":
                net["routes"] = self.routes(nic, mac, net, saved.get("routes") or [])
            self.config["networks"][nic] = net

        return (f"Configuring {nic} ({mac})", run)

    def routes(self, nic, mac, net, saved_routes):
        display(
            "Custom routes can be configured on the internal-facing interface as an alternative to the "
            "default gateway. You will be asked for a subnet and then a via address."
        )
        own = interface(net["ipaddress"], net["netmask"]).network
        reachable = [r for r in saved_routes if isinstance(r, dict) and own.overlaps(network(r.get("via"), 32))]
        plural = f"Custom Routes for {nic} ({mac})"
        if reachable and ask_yes_no(
            f"Default {plural} found:" + "".join(f"\n  - {r['to']} via {r['via']}" for r in reachable)
            + f"\nUse these default {plural}?",
            True,
        ):
            return reachable
        routes = []
        while ask_yes_no(f"Add {'another' if routes else 'a'} custom network route for {nic}?"):
            to, mask = ask("Network IP Address?", None, address_or_cidr)
            if mask is None:
                target = ask("Network Netmask?", None, lambda a: network(to, a))
            else:
                target = network(to, mask)

            def via(answer):
                gateway = ip_address(answer)
                if not own.overlaps(network(gateway, 32)):
                    raise Invalid(f"{gateway} is not reachable from {nic} ({net['ipaddress']}/{own.prefixlen})")
                return gateway

            routes.append({"to": str(target), "via": ask("Via IP Address?", None, via)})
        return routes

    # -- The mandatory steps ------------------------------------------------------------------

    def dns(self):
        saved = valid_list(self.saved_value("dns"), ip_address)
        self.config["dns"] = ask_list("DNS Servers", saved or self.lab.detected_dns(), ip_address)

    def hostname_and_domain(self):
        self.config["hostname"] = ask("Hostname?", self.saved_value("hostname"), hostname)
        self.config["domain"] = ask("Domain?", self.saved_value("domain") or self.lab.detected_domain(), domain)

    def ntp(self):
        self.config["ntp"] = ask_list("NTP Servers", valid_list(self.saved_value("ntp"), host) or DEFAULT_NTP, host)

    def extra(self):
        """A question this lab adds on request, standing in for a newer wizard's unknown question."""
        self.config["lab-extra"] = ask_yes_no(self.lab.extra_question, False)

    def web_reverse_proxy(self):
        enabled = ask_yes_no("Enable web reverse proxy?", self.saved_value("enablewebloadbalance", fallback=True))
        self.config["enablewebloadbalance"] = enabled
        self.config["conferencenodes"] = []
        if not enabled:
            return
        saved = valid_list(self.saved_value("conferencenodes"), ip_address)
        self.config["conferencenodes"] = ask_list("IP Address of Signaling Conferencing Nodes", saved, ip_address)
        self.config["enablecsp"] = ask_yes_no(
            "Content-Security-Policy provides enhanced security if you are NOT using optional features such as"
            " plug-ins\nfor Infinity Connect, externally-hosted branding, or externally-hosted pexrtc.js in your"
            " Pexip deployment.\n\nDo NOT enable if you want compatibility with these optional features\n"
            "Otherwise we recommend that you enable this option.\n\nEnable Content-Security-Policy?",
            self.saved_value("enablecsp", fallback=True),
        )

    def turn_server(self):
        web = self.config["enablewebloadbalance"]
        saved = self.saved_value("turnserver", fallback={})
        turn = {"enabled": True, "clientturn": False, "port443": False}
        self.config["turnserver"] = turn
        self.config["medianodes"] = []
        display(
            "The TURN server can be used to relay media to a Conferencing Node or, when using direct media, another"
            " participant.\nThe TURN server can either be configured using a restricted configuration mode or a"
            " permissive mode\n(required for direct-media)."
        )
        if web:
            turn["enabled"] = ask_yes_no("Enable TURN server?", saved.get("enabled", True))
        if not turn["enabled"]:
            return
        restricted = ask_yes_no(
            "Do you want to configure TURN using the restricted configuration mode?", not saved.get("clientturn", False)
        )
        port_443 = "Do you want the TURN server to listen on port 443 instead of port 3478?"
        port_intro = "The TURN server can be configured to relay media received on port 443.\n\nThe TURN server listens on port 3478 by default"
        if not restricted:
            turn["clientturn"] = True
            display("Setup a permissive TURN Server: any IP address will be allowed to connect.")
            display(port_intro)
            turn["port443"] = ask_yes_no(port_443, saved.get("port443", False))
            secret = ask("TURN secret key: If left blank a key will be generated (will be displayed onscreen)?", None)
            if secret == "":
                secret = self.lab.generated_secret()
                display("Generating a secure key...")
                display(secret)
            self.secrets["sharedsecret"] = turn_text("shared secret")(secret)
            return
        if not web:
            display(port_intro)
            turn["port443"] = ask_yes_no(port_443, saved.get("port443", False))
        turn["username"] = ask("TURN username?", saved.get("username"), turn_text("username"))
        self.secrets["password"] = ask("TURN password (will be displayed onscreen)?", None, turn_text("password"))
        media = valid_list(self.saved_value("medianodes"), ip_address) or self.config["conferencenodes"]
        self.config["medianodes"] = ask_list("IP Address of Media Conferencing Nodes", media, ip_address)

    def management_networks(self):
        display("This step allows configuring which networks can access this machine via SSH.\nMultiple networks can be chosen.\n")

        def cidr(text):
            return str(network(*text.split("/")))

        plural = "IPTables rules for SSH access"
        saved = valid_list(self.saved_value("managementnetworks"), cidr)
        if saved and ask_yes_no(f"Default {plural} found:" + "".join(f"\n  - {n}" for n in saved) + f"\nUse these default {plural}?", True):
            self.config["managementnetworks"] = saved
            return
        networks = []
        while ask_yes_no(f"Add {'another' if networks else 'a'} management network?"):
            number = len(networks) + 1
            address, netmask = ask(f"IP Address for management network {number}?", None, address_or_cidr)
            if netmask is None:
                netmask = ask(f"Subnet mask for management network {number}?", None, lambda a: str(interface(address, a).netmask))
            found = network(address, netmask)
            if str(found.network_address) != address:
                display(f"Warning: network was translated to {found.network_address}/{found.netmask}")
            display(f"This management network allows ssh access to {found.num_addresses} ip addresses")
            networks.append(str(found))
        if not networks:
            display("No management networks were setup, ssh access will be disabled!")
        self.config["managementnetworks"] = networks

    def fail2ban(self):
        self.config["enablefail2ban"] = ask_yes_no(
            "Fail2ban bans IP addresses that show signs of malicious behavior.\n\nEnable Fail2ban?",
            self.saved_value("enablefail2ban", fallback=False),
        )

    def snmp(self):
        saved = self.saved_value("snmp", fallback={})
        snmp = {"enabled": ask_yes_no("Enable SNMPv2c read only?", saved.get("enabled", False))}
        self.config["snmp"] = snmp
        if not snmp["enabled"]:
            return
        snmp["community"] = ask("SNMP community?", saved.get("community") or "public", limited("SNMP community", 16))
        for key, what in (("location", "location"), ("contact", "contact"), ("name", "name"), ("description", "description")):
            snmp[key] = ask(f"SNMP system {what}?", saved.get(key), limited(f"SNMP {what}", 70))

    def certificates(self):
        self.config["generate-certs"] = {
            "ssl": ask_yes_no("An existing SSL certificate exists.\nDo you want to regenerate a new SSL certificate?", True),
            "ssh": ask_yes_no("An existing SSH certificate exists.\nDo you want to regenerate a new SSH certificate?", True),
        }
