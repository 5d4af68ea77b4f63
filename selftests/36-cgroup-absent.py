#!/usr/bin/env python3
# timeout: 180
"""A rule may name a cgroup that does not exist yet.

On a real node a rules file is applied before the units and pods whose
cgroups it names exist (tcptimeo.service runs early; pod cgroups come and
go all day). Refusing such a file would leave the node with no policy.
This VM is such a fresh node: none of the shipped files' cgroups exist.

1. Every rules file the project ships (docs/examples/rules.conf,
   deploy/systemd/rules.conf, the ConfigMap's rules.conf): `tcptimeoctl
   apply` exits 0, notes each absent cgroup on stderr, and every rule of
   the file is live; `list -j` gives cgroup_state "absent" for the rules
   with a cgroup, `list` says "cgroup absent"; `check` notes it and
   exits 0.
2. configfs: writing an absent path to `cgroup` is accepted and the rule
   enables; `cgroup_state` reads "absent" (live and disabled rules), "any"
   without a cgroup; a path naming a file is refused (ENOTDIR) and the old
   value kept.
3. The path is created: `cgroup_state` turns "present" (the time it took
   is shown) and a process moved into the cgroup connects and is stamped
   with the rule's keepidle, matched +1; a process in the root cgroup is
   not. Removed and created again: the same, as for any rule.

Traffic: two namespaces on a veth (netns.Pair), a Python agent on each.
"""
import errno
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll                             # noqa: E402
import cgroup as cg                                   # noqa: E402
from ctl import ctl, ctl_json, show, SRC              # noqa: E402

LATER = "/tt-later"
PORT = 7761
IDLE = 37


def rules_of(text):
    """(name, cgroup or None) of each rule line of a rules file."""
    out = []
    for line in text.splitlines():
        w = line.split("#", 1)[0].split()
        if not w:
            continue
        out.append((w[0], w[w.index("cgroup", 1) + 1] if "cgroup" in w[1:-1] else None))
    return out


def shipped():
    import yaml
    files = {}
    for rel in ("docs/examples/rules.conf", "deploy/systemd/rules.conf"):
        with open(os.path.join(SRC, rel)) as f:
            files[rel] = f.read()
    with open(os.path.join(SRC, "deploy/kubernetes/configmap.yaml")) as f:
        files["deploy/kubernetes/configmap.yaml rules.conf"] = \
            yaml.safe_load(f)["data"]["rules.conf"]
    return files


def main(t):
    ttmod.load()
    cg.ensure_mounted()
    files = shipped()

    # 1. the shipped files on a node without their cgroups
    for name, text in files.items():
        ttmod.remove_all_rules()
        want = rules_of(text)
        gone = [c for _, c in want if c and os.path.exists(cg.fs(c))]
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(text)
        p = ctl("apply", f.name)
        live = {r["name"]: r for r in ctl_json("list", "-j")}
        absent = sorted(n for n, c in want if c)
        t.ok(p.returncode == 0 and not gone and
             sorted(live) == sorted(n for n, _ in want) and
             all(live[n]["enabled"] for n in live),
             f"{name}: apply exits 0 and all {len(want)} rules are live, "
             f"none of its cgroups existing", diag=f"present already: {gone}; "
             f"live {sorted(live)}; {show(p)}")
        t.ok(all(live.get(n, {}).get("cgroup_state") == "absent" for n in absent) and
             all(p.stderr.count(f"rule {n}: cgroup") == 1 for n in absent) and
             all(r["cgroup_state"] == "any" for n, r in live.items() if n not in absent),
             f"{name}: cgroup_state absent for {absent or 'no rule'}, any for the "
             "others; apply notes each absent cgroup", diag=f"{live}; {show(p)}")
        lst = ctl("list").stdout
        marked = sorted(ln.split()[0] for ln in lst.splitlines()
                        if "cgroup absent" in ln)
        t.eq(marked, absent, f"{name}: list says 'cgroup absent' on exactly "
             f"those rules", diag=lst)
        chk = ctl("check", f.name)
        flagged = sorted(n for n, _ in want if f"{n}: note: cgroup {dict(want)[n]} "
                         "is not present on this node" in chk.stdout)
        t.ok(flagged == absent and chk.returncode == 0,
             f"{name}: check notes each absent cgroup and exits 0 (the file "
             "is right on a node where they exist)",
             diag=f"noted {flagged}; {show(chk)}")
        os.unlink(f.name)
    ttmod.remove_all_rules()

    # 2. configfs: absent accepted, a file refused
    cg.remove(LATER)
    r = Rule("later", direction="out", remote_ports=PORT, keepalive=1,
             keepidle=IDLE, cgroup=LATER)
    t.eq((r.get("cgroup"), r.get("enabled"), r.get("cgroup_state")),
         (LATER, "1", "absent"), "configfs: an absent cgroup is accepted, the "
         "rule is live, cgroup_state absent")
    r.disable()
    t.eq(r.get("cgroup_state"), "absent", "configfs: a disabled rule reads "
         "absent too")
    r.enable()
    err = r.try_set("cgroup", "/cgroup.procs")
    t.ok(err == errno.ENOTDIR and r.get("cgroup") == LATER,
         "configfs: a path naming a file -> ENOTDIR, the old path kept",
         diag=f"{ttmod.errname(err)}, cgroup {r.get('cgroup')!r}")
    other = Rule("other", direction="out", remote_ports=PORT + 1, keepalive=1)
    t.eq(other.get("cgroup_state"), "any", "configfs: no cgroup -> any")
    other.remove()

    # 3. the cgroup appears
    pair = Pair()
    srv = Agent(pair.srv)
    ls = srv.listen(4, "0.0.0.0", PORT)
    root = Agent(pair.cli)
    for cycle in ("created", "created again"):
        m0 = r.matched
        t0 = time.monotonic()
        cg.create(LATER)
        st = poll(lambda: r.get("cgroup_state") == "present", 10)
        took = time.monotonic() - t0
        t.ok(st, f"{cycle}: cgroup_state turns present ({took * 1000:.0f} ms "
             "after mkdir)")
        inside = Agent(pair.cli, cgroup=LATER)
        c = inside.connect(4, pair.addr("srv", 4), PORT)
        srv.accept(ls)
        got = inside.getopts(c["id"])
        c2 = root.connect(4, pair.addr("srv", 4), PORT)
        srv.accept(ls)
        got2 = root.getopts(c2["id"])
        t.ok(got["keepidle"] == IDLE and got["keepalive"] == 1 and
             r.matched == m0 + 1,
             f"{cycle}: a process in {LATER} is stamped (keepidle {IDLE}), "
             "matched +1", diag=f"{got}, matched {m0} -> {r.matched}")
        t.ok(got2["keepidle"] != IDLE,
             f"{cycle}: a process in the root cgroup is not", diag=f"{got2}")
        inside.close_agent()
        cg.remove(LATER)
        st = poll(lambda: r.get("cgroup_state") == "absent", 10)
        t.ok(st, f"{cycle}: removed, cgroup_state reads absent again")
    root.close_agent()
    srv.close_agent()
    pair.delete()
    r.remove()
    ttmod.unload_point(t)


PLAN = 3 * 4 + 4 + 2 * 4 + 1
Tap.run(main, PLAN)
