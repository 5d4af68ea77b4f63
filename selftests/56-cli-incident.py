#!/usr/bin/env python3
# timeout: 180
"""tcptimeoctl's incident commands against the real module: exit codes.

- module not loaded: sockets, abort-peer, apply --existing exit 2 and say
  modprobe tcptimeo; stats --prometheus prints tcptimeo_up 0 (exit 0)
- loaded, no rules: stats --prometheus is valid exposition format with
  every counter of stats/ (value equal to the sysfs file) and each switch;
  sockets -j is a JSON list; apply --existing of an empty file stamps 0
- as nobody: abort-peer and apply --existing exit 3 (needs root with
  CAP_NET_ADMIN) and change nothing; without CAP_NET_ADMIN as root, too
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import privs                                          # noqa: E402
import incident as inc                                # noqa: E402

PLAN = 9
EMPTY = os.path.abspath("empty.conf")


def as_(dropper, *args):
    def fn():
        p = subprocess.run([ttmod.CTL, *args], capture_output=True, text=True)
        return [p.returncode, p.stderr]
    return dropper(fn)


def main(t):
    ttmod.require_ctl()
    with open(EMPTY, "w") as f:
        f.write("# nothing\n")
    if ttmod.loaded():
        ttmod.unload()
    ttmod.ensure_configfs()
    cmds = (["sockets"], ["abort-peer", "10.0.0.1"], ["apply", EMPTY, "--existing"])
    ps = [inc.ctl(*c) for c in cmds]
    t.ok(all(p.returncode == 2 and "modprobe tcptimeo" in p.stderr for p in ps),
         "module not loaded: sockets, abort-peer, apply --existing exit 2 naming "
         "modprobe", diag="\n".join(inc.show(p) for p in ps))
    # issue 15.3: a textfile collector must read "down", not stale numbers
    p = inc.ctl("stats", "--prometheus")
    m, err = inc.prometheus_or_error(p.stdout)
    t.ok(p.returncode == 0 and err is None and m == {("tcptimeo_up", ()): 0.0},
         "module not loaded: stats --prometheus prints tcptimeo_up 0 alone, exit 0",
         diag=f"{err}\n{inc.show(p)}")
    ttmod.load()
    p = inc.ctl("stats", "--prometheus")
    m, err = inc.prometheus_or_error(p.stdout)
    t.ok(p.returncode == 0 and err is None and m.get(("tcptimeo_up", ())) == 1.0,
         "stats --prometheus: valid exposition format, tcptimeo_up 1",
         diag=f"{err}\n{p.stdout}")
    files = sorted(os.listdir(ttmod.SYSFS + "/stats"))
    want = {(f"tcptimeo_{f}_total", ()): float(inc.stat(f)) for f in files}
    got = {k: m.get(k) for k in want}
    t.ok(want and got == want and m.get(("tcptimeo_enabled", ())) == 1.0 and
         m.get(("tcptimeo_audit", ())) == 0.0,
         f"stats --prometheus: all {len(files)} counters of stats/ with their "
         "values, and the switches", diag=f"got {got}, want {want}")
    p = inc.ctl("sockets", "-j")
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = None
    t.ok(p.returncode == 0 and isinstance(j, list), "sockets -j: a JSON list",
         diag=inc.show(p))
    p = inc.ctl("apply", EMPTY, "--existing")
    t.ok(p.returncode == 0 and "existing connections: 0 stamped" in p.stdout,
         "apply --existing with no rules: stamps nothing and says so", diag=inc.show(p))
    a0 = inc.stat("peers_aborted")
    rc, err = as_(privs.as_nobody, "abort-peer", "10.0.0.1")
    t.ok(rc == 3 and "root" in err and inc.stat("peers_aborted") == a0,
         "abort-peer as nobody: exit 3, needs root", diag=f"rc {rc}: {err}")
    rc, err = as_(privs.as_nobody, "apply", EMPTY, "--existing")
    t.ok(rc == 3 and "root" in err,
         "apply --existing as nobody: exit 3", diag=f"rc {rc}: {err}")
    rc, err = as_(lambda fn: privs.without_cap(privs.CAP_NET_ADMIN, fn), "abort-peer",
                  "10.0.0.1")
    t.ok(rc == 3 and "CAP_NET_ADMIN" in err, "abort-peer as root without "
         "CAP_NET_ADMIN: exit 3 (EPERM)", diag=f"rc {rc}: {err}")


Tap.run(main, PLAN)
