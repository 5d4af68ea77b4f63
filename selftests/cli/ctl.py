"""Helpers for the tcptimeoctl VM tests (selftests/3x-cli-*.py).

    from ctl import ctl, ctl_json, rule_attrs, all_rules
    p = ctl("add", "r", "--idle", "7")       # CompletedProcess, text
    j = ctl_json("list", "-j")              # json.loads of stdout, or raise
    snap = all_rules()                      # {name: {attr: value}} from configfs

The CLI is $TCPTIMEO_CTL (the runner's build/tools/tcptimeoctl).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import ttmod  # noqa: E402

CTL = ttmod.CTL
SRC = ttmod.SRC
EXAMPLE = os.path.join(SRC, "docs/examples/rules.conf")
MANPAGE = os.path.join(SRC, "tools/tcptimeoctl/tcptimeoctl.8")

# every configfs attribute that is configuration (not a counter)
CONFIG_ATTRS = ("enabled", "priority", "direction", "local_ports",
                "remote_ports", "remote_addrs", "cgroup", "netns",
                "keepalive", "keepidle", "keepintvl", "keepcnt",
                "user_timeout", "syn_retries", "mode", "audit")


def ctl(*args, stdin=None, timeout=120, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([ttmod.require_ctl(), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=e, errors="replace")


def ctl_json(*args):
    p = ctl(*args)
    if p.returncode != 0:
        raise RuntimeError(f"tcptimeoctl {' '.join(args)}: exit "
                           f"{p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def rule_attrs(name, counters=False):
    d = os.path.join(ttmod.RULES, name)
    attrs = CONFIG_ATTRS + (("matched",) if counters else ())
    return {a: ttmod.read(os.path.join(d, a)) for a in attrs}


def all_rules(counters=False):
    """{name: {attr: value}} read straight from configfs."""
    return {n: rule_attrs(n, counters) for n in ttmod.rule_names()}


def show(p):
    """A CompletedProcess for a diagnostic."""
    return f"exit {p.returncode}\nstdout: {p.stdout.strip()}\nstderr: {p.stderr.strip()}"


def sysfs_rules():
    return ttmod.live_rules()


def saved_lines(text):
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith("#")]
