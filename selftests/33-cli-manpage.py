#!/usr/bin/env python3
# timeout: 180
"""The EXAMPLES of tcptimeoctl(8) are true: every command in the man
page's EXAMPLES section (.EX/.EE blocks) runs, in order, against the real
module with exit 0, and leaves what the page says it does.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
from ctl import CTL, MANPAGE, ctl_json, rule_attrs    # noqa: E402


def examples(path):
    """Commands of the EXAMPLES section, groff escapes undone, continued
    lines joined."""
    with open(path) as f:
        text = f.read()
    sect = text.split("\n.SH EXAMPLES\n", 1)[1].split("\n.SH ", 1)[0]
    cmds = []
    for block in re.findall(r"^\.EX\n(.*?)^\.EE$", sect, re.S | re.M):
        block = block.replace("\\-", "-").replace("\\e", "\\")
        block = re.sub(r"\\\n\s*", " ", block)
        cmds += [line.strip() for line in block.splitlines() if line.strip()]
    return cmds


CMDS = examples(MANPAGE)


def check_output(cmd, out):
    """Extra expectations for some commands; '' if fine."""
    if cmd.startswith("tcptimeoctl show redis -j"):
        j = json.loads(out)
        return "" if j["keepidle"] == 120 else f"keepidle {j['keepidle']}"
    if cmd.startswith("tcptimeoctl explain"):
        return "" if "rule: redis (priority 1000)" in out else "redis does not win"
    if "apply --dry-run" in cmd or "| tcptimeoctl apply -" in cmd:
        return "" if "0 to create, 0 to update, 0 to delete" in out else "not a no-op"
    if cmd.startswith("tcptimeoctl stats -j"):
        json.loads(out)
    if cmd == "tcptimeoctl list":
        return "" if "loadtest-vip" in out else "loadtest-vip missing"
    return ""


def main(t):
    t.diag(f"{len(CMDS)} commands in the EXAMPLES of {MANPAGE}")
    ttmod.load()
    ttmod.remove_all_rules()
    cg.ensure_mounted()
    cg.create("/loadtest/worker")
    env = dict(os.environ, PATH=os.path.dirname(CTL) + ":" + os.environ.get("PATH", ""))
    cwd = tempfile.mkdtemp()
    for cmd in CMDS:
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env,
                           cwd=cwd, timeout=60)
        why = ""
        if p.returncode == 0:
            try:
                why = check_output(cmd, p.stdout)
            except (ValueError, KeyError) as e:
                why = f"{type(e).__name__}: {e}"
        t.ok(p.returncode == 0 and not why, f"man page example: {cmd}",
             diag=f"exit {p.returncode} {why}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    names = ttmod.rule_names()
    t.eq(names, ["ceiling", "istio-gateway", "loadtest-vip", "redis"],
         "after the examples: upstream deleted, the other four remain")
    t.ok(rule_attrs("redis")["keepidle"] == "120" and
         [r["name"] for r in ctl_json("list", "-j") if r["enabled"]] ==
         ["istio-gateway", "redis", "loadtest-vip", "ceiling"],
         "redis has idle 120 (set --idle 2m) and the live order is by priority then name")
    ttmod.remove_all_rules()
    cg.remove("/loadtest")


Tap.run(main, len(CMDS) + 2)
