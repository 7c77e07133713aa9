"""rpctl lab: the install wizard of a v7 Pexip RP/TURN appliance (docs/appliance.md, "The install wizard"), run as
root by /usr/local/bin/installwizard, which pexip's ~/.profile starts while
~/.reverseproxy-config.json does not exist. It asks its questions, saves the answers (never the
TURN password or shared secret), applies them, and reboots the appliance. Ctrl-C or the end of
input before the last answer leaves everything as it was: nothing is saved or applied. On a v4
appliance the v4 wizard runs instead (installwizard_v4.py), with the same lab settings.

Lab settings, /etc/rpctl-lab/wizard.json (written by the lab tests, all optional):
  nics                 [[name, mac], ...]: the appliance's NICs (default: nic0 alone; an appliance
                       that shares the host's network has no NICs of its own to list)
  dhcp                 {nic: {ipaddress, netmask}}: what DHCP would suggest (default: nic0 at the
                       appliance's lab address, /24)
  dns                  DNS servers found in resolv.conf (default: none, so the wizard offers 8.8.8.8, 8.8.4.4)
  extraQuestion        a yes/no question asked in a step of its own after NTP (a newer wizard's question)
  rebootDelaySeconds   pause between "Rebooting." and the reboot (default 5, as the real wizard)
  rebootLagSeconds     the reboot command returns at once and the appliance goes down this much later
                       (as systemd's does), so the wizard's session may end before the reboot
  hostKeysAtBoot       true: the wizard removes the SSH host keys and the appliance makes new ones
                       as it boots, so they cannot be read before the reboot
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wizard_apply import ApplyError, apply  # noqa: E402
from wizard_steps import Steps  # noqa: E402
from wizard_ui import EndOfInput, header  # noqa: E402

SETTINGS = "/etc/rpctl-lab/wizard.json"
APPLIANCE_ENV = "/run/rpctl-lab/appliance.env"


class Lab:
    """What the wizard would find out from the machine, as the lab decides it."""

    def __init__(self):
        self.env = read_env(APPLIANCE_ENV)
        try:
            with open(SETTINGS) as f:
                self.settings = json.load(f)
        except FileNotFoundError:
            self.settings = {}
        self.generation = self.env.get("GENERATION", "v7")
        self.turn_service = "coturn" if self.generation == "v7" else "rfc5766-turn-server"
        self.nics = [tuple(n) for n in self.settings.get("nics") or self.default_nics()]
        self.extra_question = self.settings.get("extraQuestion")
        self.reboot_delay = float(self.settings.get("rebootDelaySeconds", 5))
        self.reboot_lag = float(self.settings.get("rebootLagSeconds", 0))
        self.host_keys_at_boot = bool(self.settings.get("hostKeysAtBoot", False))

    def default_nics(self):
        if self.env.get("NETWORKED") == "yes":
            names = sorted(n for n in os.listdir("/sys/class/net") if n != "lo")
            return [(n, open(f"/sys/class/net/{n}/address").read().strip()) for n in names]
        octets = self.env.get("ADDRESS", "127.0.0.1").split(".")
        return [("nic0", "02:00:" + ":".join(f"{int(o):02x}" for o in octets))]

    def dhcp(self, nic):
        suggested = self.settings.get("dhcp", {})
        if nic in suggested:
            return suggested[nic]
        if nic == self.nics[0][0] and "ADDRESS" in self.env:
            return {"ipaddress": self.env["ADDRESS"], "netmask": "255.255.255.0"}
        return {}

    def detected_dns(self):
        return self.settings.get("dns") or ["8.8.8.8", "8.8.4.4"]

    def detected_domain(self):
        return self.settings.get("domain")

    @staticmethod
    def generated_secret():
        return base64.b64encode(os.urandom(32)).strip(b"=").decode("ascii")


def read_env(path):
    try:
        with open(path) as f:
            return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except FileNotFoundError:
        return {}


def config_path():
    return os.path.join(os.environ.get("HOME", "/home/pexip"), ".reverseproxy-config.json")


def load_saved():
    try:
        with open(config_path()) as f:
            saved = json.load(f)
        return saved if isinstance(saved, dict) else None
    except (OSError, ValueError):
        return None


def steps_of(wizard, lab):
    """(title, run) pairs; a run may return steps to insert after its own (the dual NIC branch)."""
    steps = []
    if len(lab.nics) == 1:
        nic, mac = lab.nics[0]
        wizard.config["internal"] = wizard.config["external"] = nic
        steps.append(wizard.network_step(nic, mac, "single"))
    else:
        steps.append(("NIC Configuration", wizard.dual_nic))
    steps += [("DNS Servers", wizard.dns), ("Hostname and Domain", wizard.hostname_and_domain), ("NTP Servers", wizard.ntp)]
    if lab.extra_question:
        steps.append(("Additional Settings", wizard.extra))
    steps += [
        ("Web Reverse Proxy", wizard.web_reverse_proxy),
        ("TURN Server", wizard.turn_server),
        ("IPTables rules for SSH access", wizard.management_networks),
        ("Fail2ban", wizard.fail2ban),
        ("SNMPv2c read only", wizard.snmp),
    ]
    if not wizard.first_run:
        steps.append(("Certificates", wizard.certificates))
    else:
        # The first run always regenerates them: every appliance of one image starts with the same.
        wizard.config["generate-certs"] = {"ssl": True, "ssh": True}
    return steps


def interrupted(_signum, _frame):
    print("\nAborted: nothing was saved or applied.", flush=True)
    sys.exit(130)


def main():
    if os.geteuid() != 0:
        print("installwizard: must run as root (it is started with sudo)", file=sys.stderr)
        return 1
    lab = Lab()
    signal.signal(signal.SIGINT, interrupted)
    if lab.generation == "v4":
        import installwizard_v4

        return installwizard_v4.main(lab, reboot)
    wizard = Steps(load_saved(), lab)
    os.system("clear 2>/dev/null")
    print("==========================================================")
    print("|   Pexip Reverse Proxy and TURN Server Install Wizard   |")
    steps = steps_of(wizard, lab)
    try:
        index = 0
        while index < len(steps):
            if index > 0:
                print("\n")
            title, run = steps[index]
            print(header(index + 1, len(steps), title), flush=True)
            steps[index + 1 : index + 1] = run() or []
            index += 1
    except EndOfInput:
        print("\nAborted: nothing was saved or applied.", flush=True)
        return 1

    saved = {k: v for k, v in wizard.config.items() if k != "lab-extra"}
    with open(config_path(), "w") as f:
        json.dump(saved, f, indent=4, sort_keys=True)
        f.write("\n")
    print("\nApplying configuration...", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # half-applied is worse than slow
    try:
        apply(wizard.config, wizard.secrets, lab)
    except ApplyError as failed:
        print(f"\nApplying the configuration failed: {failed}", flush=True)
        return 1
    print("\nRebooting.\n", flush=True)
    return reboot(lab)


def reboot(lab):
    """After the wizard's last words: wait the wizard's pause, then the lab appliance's own reboot
    (test/lab/bin/lab-reboot), never the host's /sbin/reboot."""
    time.sleep(lab.reboot_delay)
    if lab.reboot_lag > 0:
        # As `systemctl reboot` does: the command returns (and the wizard's session may end) while
        # the system is still up; it goes down a moment later.
        subprocess.Popen(
            ["sh", "-c", f"sleep {lab.reboot_lag}; exec /usr/local/sbin/reboot"],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return 0
    os.execv("/usr/local/sbin/reboot", ["reboot"])


if __name__ == "__main__":
    sys.exit(main())
