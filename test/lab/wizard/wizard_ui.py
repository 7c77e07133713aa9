"""Conversation primitives of the lab install wizard, printed the way Pexip's v7.1 wizard prints
them (docs/appliance.md, "The install wizard"):

    ==========================================================
    |                      Step 3 of 9                       |
    |                  Hostname and Domain                   |
    ==========================================================

    Hostname?
    Press [ENTER] to use the default value: proxy
    > _

Yes/no questions end in " (Yes/No)"; a refused answer prints "Invalid: <reason>" and the same
question again; lists are asked one numbered item at a time and end with an empty line.
"""

import ipaddress
import re
import sys

PROMPT = "> "
WIDTH = 56


class Invalid(Exception):
    """An answer the wizard refuses; the message follows "Invalid: "."""


class EndOfInput(Exception):
    """Standard input closed before the wizard had its answers."""


def header(step, total, title):
    line = "=" * (WIDTH + 2)
    return "\n".join([line, "|" + f"Step {step} of {total}".center(WIDTH) + "|", "|" + title.center(WIDTH) + "|", line])


def display(message):
    print("\n" + message, flush=True)


def ask(message, default=None, validate=lambda answer: answer):
    """Ask until `validate` returns a value (it raises Invalid to refuse the answer)."""
    while True:
        print("\n" + message)
        if default not in (None, ""):
            print(f"Press [ENTER] to use the default value: {default}")
        print(PROMPT, end="", flush=True)
        line = sys.stdin.readline()
        if line == "":
            raise EndOfInput()
        answer = line[:-1] if line.endswith("\n") else line
        if answer == "" and default not in (None, ""):
            answer = default
        try:
            return validate(answer)
        except Invalid as refused:
            print(f"Invalid: {refused}", flush=True)


def ask_yes_no(message, default=None):
    shown = None if default is None else ("Yes" if default else "No")

    def yes_no(answer):
        word = answer.strip().lower()
        if word in ("y", "yes", "true"):
            return True
        if word in ("n", "no", "false"):
            return False
        raise Invalid("Please enter Yes or No")

    return ask(message + " (Yes/No)", shown, yes_no)


def ask_list(plural, defaults, validate, show=str, end_on_enter=True):
    """A list asked one numbered item at a time ("DNS Server 1?"), ended by an empty line. With
    saved or detected values, "Use these default ...?" comes first."""
    if defaults:
        shown = "".join(f"\n  - {show(value)}" for value in defaults)
        if ask_yes_no(f"Default {plural} found:{shown}\nUse these default {plural}?", True):
            return list(defaults)
    if end_on_enter:
        display("This step allows multiple entries. Press [ENTER] when finished")
    singular = plural[:-1]
    answers = []
    while True:

        def item(answer):
            if answer == "":
                if not answers:
                    raise Invalid(f"Must enter at least one {singular}")
                return None
            return validate(answer)

        value = ask(f"{singular} {len(answers) + 1}?", None, item)
        if value is None:
            return answers
        answers.append(value)


# ---------------------------------------------------------------------------------------------
# Validation, as the wizard's utils do it


def ip_address(text):
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise Invalid(f"{text} is not a valid IPv4 address") from None


def interface(address, netmask):
    try:
        return ipaddress.IPv4Interface(f"{address}/{netmask}")
    except ValueError:
        raise Invalid(f"{netmask} is not a valid netmask for {address}") from None


def cidr_interface(text):
    """`address/prefix` (or address/netmask): the address and its netmask."""
    address, _, mask = text.strip().partition("/")
    found = interface(ip_address(address), mask)
    return str(found.ip), str(found.netmask)


def network(address, netmask):
    try:
        return ipaddress.IPv4Network(f"{address}/{netmask}", strict=False)
    except ValueError:
        raise Invalid(f"{address}/{netmask} is not a valid network") from None


LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def hostname(text):
    text = text.strip()
    if not LABEL.match(text):
        raise Invalid(f"{text} is not a valid hostname")
    return text


def domain(text):
    text = text.strip().rstrip(".")
    if len(text) > 253 or not text or not all(LABEL.match(label) for label in text.split(".")):
        raise Invalid(f"{text} is not a valid domain")
    return text


def host(text):
    text = text.strip()
    try:
        return ip_address(text)
    except Invalid:
        pass
    try:
        return domain(text)
    except Invalid:
        raise Invalid("Was not an ip address or domain name") from None


def limited(what, longest):
    def check(text):
        text = text.strip()
        if len(text) > longest:
            raise Invalid(f"{what} is too long")
        return text

    return check


# SASLprep would refuse these in a TURN username, password or secret.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def turn_text(what):
    def check(text):
        if text == "":
            raise Invalid(f"Cannot have an empty {what}")
        if CONTROL.search(text):
            raise Invalid(f"{what.capitalize()} contains an invalid character")
        return text

    return check
