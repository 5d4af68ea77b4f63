#!/usr/bin/env python3
# timeout: 240
"""tcptimeoctl against the real module: every command, exit codes 0/1/2/3,
JSON through json.loads, and what each command leaves in configfs/sysfs.

- exit 2 (message says modprobe tcptimeo) before the module is loaded and
  after it is unloaded
- add writes every attribute as given (units converted), enabled last;
  the module's sysfs `rules` line is the line `save` prints
- add failing in the kernel (a cgroup path naming a file) removes the
  half-made rule and names the field; client-side bad values never reach
  the kernel; a cgroup that does not exist yet is accepted (absent)
- set writes only the given attributes, keeps the rule live and its
  `matched` counter; a connection shows the new value
- enable/disable/del, stats -j with per-rule matched, show -j, list -j
- exit 3: unprivileged (EACCES) and root without CAP_NET_ADMIN (EPERM)
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
import privs                                          # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent                                # noqa: E402
from ctl import CTL, ctl, ctl_json, rule_attrs, show, sysfs_rules, saved_lines  # noqa: E402

PLAN = 43
CG = "/tt-cli30"


def run_ctl_as(dropper, *args):
    """tcptimeoctl in a child with fewer privileges; (rc, stderr)."""
    def fn():
        try:
            p = subprocess.run([CTL, *args], capture_output=True, text=True)
        except OSError as e:
            return [-1, str(e)]
        return [p.returncode, p.stderr]
    return dropper(fn)


def main(t):
    ttmod.remove_all_rules()
    if ttmod.loaded():
        ttmod.unload()
    ttmod.ensure_configfs()
    for args in (["list"], ["add", "x", "--idle", "7"], ["apply", "-"]):
        p = ctl(*args, stdin="")
        t.ok(p.returncode == 2 and "modprobe tcptimeo" in p.stderr,
             f"module not loaded: {' '.join(args)} exits 2 and says modprobe tcptimeo",
             diag=show(p))
    ttmod.load()
    cg.ensure_mounted()
    cg.remove(CG)
    cg.create(CG + "/a")
    pair = Pair()
    srv = Agent(pair.srv, cgroup=CG + "/a")
    cli = Agent(pair.cli)
    ls = srv.listen(4, "0.0.0.0", 8080)
    ls6 = srv.listen(6, "::", 8443, v6only=True)

    # ---- add ----
    p = ctl("add", "gw", "--priority", "100", "--dir", "in",
            "--local-port", "8443,8080", "--remote-addr", "10.77.0.0/24,FD77::/64",
            "--cgroup", CG, "--netns", f"/run/netns/{pair.srv.name}",
            "--keepalive", "--idle", "7s", "--intvl", "5", "--cnt", "2",
            "--user-timeout", "auto", "--syn-retries", "4")
    want = {"enabled": "1", "priority": "100", "direction": "in",
            "local_ports": "8080,8443", "remote_ports": "",
            "remote_addrs": "10.77.0.0/24,fd77::/64", "cgroup": CG,
            "netns": str(pair.srv.inode), "keepalive": "1", "keepidle": "7",
            "keepintvl": "5", "keepcnt": "2", "user_timeout": "auto",
            "syn_retries": "4", "mode": "fill", "audit": "0"}
    got = rule_attrs("gw") if p.returncode == 0 else {}
    t.ok(p.returncode == 0 and got == want,
         "add: every attribute in configfs as given (7s -> 7, netns path -> inode), enabled",
         diag=f"{show(p)}\n{got}")
    live = sysfs_rules()
    save = saved_lines(ctl("save").stdout)
    t.ok(live == save == [f"gw priority 100 dir in local-port 8080,8443 remote-addr "
                          f"10.77.0.0/24,fd77::/64 cgroup {CG} netns {pair.srv.inode} "
                          "keepalive idle 7s intvl 5s cnt 2 user-timeout auto syn-retries 4"],
         "the module's sysfs rules line and `save` print the same line",
         diag=f"sysfs {live}\nsave  {save}")
    j = ctl_json("show", "gw", "-j")
    t.ok(j["local_ports"] == "8080,8443" and j["keepidle"] == 7 and
         j["user_timeout"] == 0 and j["user_timeout_auto"] is True and
         j["netns"] == pair.srv.inode and
         j["enabled"] is True and j["matched"] == 0, "show -j: JSON of the live rule",
         diag=j)
    p = ctl("add", "gw", "--idle", "3")
    t.ok(p.returncode == 1 and "already exists" in p.stderr, "add of an existing name: exit 1",
         diag=show(p))
    before = ttmod.rule_names()
    p = ctl("add", "nocg", "--cgroup", "/cgroup.procs", "--idle", "3")
    t.ok(p.returncode == 1 and "cgroup '/cgroup.procs': not a cgroup directory" in p.stderr and
         ttmod.rule_names() == before,
         "add with a cgroup path naming a file: exit 1, names the field, half-made rule removed",
         diag=f"{show(p)}\nrules {ttmod.rule_names()}")
    p = ctl("add", "later", "--cgroup", "/tt-cli30-missing", "--idle", "3")
    j = ctl_json("show", "later", "-j") if p.returncode == 0 else {}
    t.ok(p.returncode == 0 and j.get("enabled") is True and
         j.get("cgroup_state") == "absent",
         "add with a cgroup that does not exist yet: exit 0, live, cgroup_state absent",
         diag=f"{show(p)}\n{j}")
    ctl("del", "later")
    for args, msg in ((["--idle", "99999"], "--idle '99999': out of range; valid: 0 (unset) or 1..32767 seconds"),
                      (["--remote-addr", "10.0.0.1/8"], "--remote-addr '10.0.0.1/8': invalid"),
                      (["--local-port", "0"], "--local-port '0': out of range"),
                      (["--user-timeout", "2147483648"], "--user-timeout '2147483648': out of range")):
        p = ctl("add", "bad", *args)
        t.ok(p.returncode == 1 and msg in p.stderr and ttmod.rule_names() == before,
             f"add {' '.join(args)}: exit 1 ({msg[:40]}...), nothing created", diag=show(p))
    p = ctl("add", "bare", "--dir", "out")
    t.ok(p.returncode == 1 and "rule 'bare' sets no option" in p.stderr and
         ttmod.rule_names() == before,
         "add with no option (it would claim connections and stamp nothing): exit 1, "
         "nothing created", diag=show(p))
    p = ctl("add", "x" * 33)
    t.ok(p.returncode == 1 and "invalid; valid: 1-32 characters" in p.stderr,
         "add with a 33-character name: exit 1", diag=show(p))

    # ---- a real connection, then set ----
    c = cli.connect(4, pair.addr("srv", 4), 8080)
    a = srv.accept(ls)
    t.eq({k: a["opts"][k] for k in ("keepalive", "keepidle", "keepintvl", "keepcnt",
                                    "user_timeout", "syn_retries")},
         {"keepalive": 1, "keepidle": 7, "keepintvl": 5, "keepcnt": 2,
          "user_timeout": 17000, "syn_retries": 4},
         "a connection accepted on 8080 gets the rule's values (getsockopt)")
    ex = ctl_json("explain", "--dir", "in", "--remote", f"{c['local'][0]}:{c['local'][1]}",
                  "--local-port", "8080", "--pid", str(srv.pid), "-j")
    # rto_max (TCP_RTO_MAX_MS, 6.15+) is not among getopts(): read on its own
    a_rto = srv.getopt(a["id"], "rto_max") if ttmod.has_rto_max() else None
    t.ok(ex["rule"] == "gw" and
         ex["values"] == dict({k: a["opts"][k] for k in ex["values"] if k != "rto_max"},
                              rto_max=a_rto),
         "explain --pid names gw and the values getsockopt shows (rto_max: "
         + ("TCP_RTO_MAX_MS)" if a_rto else "null, this kernel has none)"),
         diag=f"{ex}\n{a['opts']} rto_max {a_rto}")
    before = rule_attrs("gw")
    p = ctl("set", "gw", "--idle", "2m", "--cnt", "3")
    after = rule_attrs("gw")
    changed = sorted(k for k in after if after[k] != before[k])
    t.ok(p.returncode == 0 and changed == ["keepcnt", "keepidle"] and
         after["keepidle"] == "120" and after["keepcnt"] == "3" and after["enabled"] == "1",
         "set changes only the given attributes (2m -> 120) and the rule stays live",
         diag=f"{show(p)}\nchanged {changed}")
    t.eq(int(ttmod.read(os.path.join(ttmod.RULES, "gw/matched"))), 1,
         "set keeps the rule's matched counter")
    c = cli.connect(6, pair.addr("srv", 6), 8443)
    a = srv.accept(ls6)
    t.ok(a["opts"]["keepidle"] == 120 and a["opts"]["keepcnt"] == 3 and
         a["opts"]["user_timeout"] == (120 + 5 * 3) * 1000,
         "the next connection (IPv6, 8443) gets the new values, auto recomputed",
         diag=a["opts"])
    p = ctl("set", "gw", "--remote-addr", "any", "--cgroup", "any", "--netns", "any")
    after = rule_attrs("gw")
    t.ok(p.returncode == 0 and after["remote_addrs"] == "" and after["cgroup"] == "" and
         after["netns"] == "0", "set --remote-addr/--cgroup/--netns any clears the selectors",
         diag=f"{show(p)}\n{after}")
    p = ctl("set", "gw", "--cgroup", "/cgroup.procs")
    t.ok(p.returncode == 1 and "not a cgroup directory" in p.stderr and
         rule_attrs("gw")["cgroup"] == "",
         "set --cgroup to a file: exit 1, the rule is unchanged", diag=show(p))
    p = ctl("set", "nosuch", "--idle", "3")
    t.ok(p.returncode == 1 and "no rule named 'nosuch'" in p.stderr, "set of a missing rule: exit 1",
         diag=show(p))

    # ---- enable / disable / list / stats ----
    p = ctl("add", "out1", "--dir", "out", "--remote-port", "9000-9100", "--user-timeout", "10s",
            "--disabled")
    t.ok(p.returncode == 0 and rule_attrs("out1")["enabled"] == "0" and
         [l.split()[0] for l in sysfs_rules()] == ["gw"],
         "add --disabled: created, not live", diag=show(p))
    p = ctl("enable", "out1")
    t.ok(p.returncode == 0 and [l.split()[0] for l in sysfs_rules()] == ["gw", "out1"],
         "enable: the rule is live (sysfs rules)", diag=f"{show(p)}\n{sysfs_rules()}")
    p = ctl("disable", "gw")
    t.ok(p.returncode == 0 and [l.split()[0] for l in sysfs_rules()] == ["out1"] and
         rule_attrs("gw")["enabled"] == "0", "disable: out of the live table, settings kept",
         diag=f"{show(p)}\n{sysfs_rules()}")
    p = ctl("enable", "gw", "nosuch")
    t.ok(p.returncode == 1 and rule_attrs("gw")["enabled"] == "1", "enable gw nosuch: gw enabled, exit 1",
         diag=show(p))
    lst = ctl_json("list", "-j")
    t.ok([r["name"] for r in lst] == ["gw", "out1"] and lst[0]["matched"] == 2,
         "list -j: rules in evaluation order with matched", diag=lst)
    p = ctl("list")
    t.ok(p.returncode == 0 and p.stdout.split()[:3] == ["NAME", "PRIO", "STATE"] and "gw" in p.stdout,
         "list: a table", diag=show(p))
    st = ctl_json("stats", "-j")
    t.ok(st["enabled"] is True and st["stats"]["stamped_in"] >= 2 and
         {r["name"]: r["matched"] for r in st["rules"]} == {"gw": 2, "out1": 0},
         "stats -j: switches, counters, per-rule matched", diag=st)
    p = ctl("stats")
    t.ok(p.returncode == 0 and "stamped_in" in p.stdout and "MATCHED" in p.stdout,
         "stats: text", diag=show(p))
    # explain follows the global switch
    ttmod.sysfs_set("enabled", 0)
    ex = ctl_json("explain", "--dir", "in", "--remote", "10.77.0.1:5000", "--local-port", "8080", "-j")
    ttmod.sysfs_set("enabled", 1)
    t.ok(ex["module_enabled"] is False and ex["stamped"] is False and ex["values"]["keepalive"] == 0,
         "explain with the global switch off: nothing stamped", diag=ex)

    # ---- permissions: exit 3 and nothing changes ----
    before = {n: rule_attrs(n) for n in ttmod.rule_names()}
    nobody_can_run = run_ctl_as(privs.as_nobody, "--version")[0] == 0
    if not nobody_can_run:
        t.diag(f"nobody cannot run {CTL}: unprivileged points are skipped")
    if nobody_can_run:
        rc, err = run_ctl_as(privs.as_nobody, "add", "np", "--idle", "7")
        t.ok(rc == 3 and "needs root" in err and "np" not in ttmod.rule_names(),
             "unprivileged add: exit 3 (EACCES), nothing created", diag=f"rc {rc}: {err}")
        rc, err = run_ctl_as(privs.as_nobody, "set", "gw", "--idle", "9")
        t.ok(rc == 3, "unprivileged set: exit 3", diag=f"rc {rc}: {err}")
        rc, err = run_ctl_as(lambda fn: privs.without_cap(privs.CAP_NET_ADMIN, fn),
                             "add", "np", "--idle", "7")
        t.ok(rc == 3 and "np" not in ttmod.rule_names(),
             "root without CAP_NET_ADMIN, add: exit 3 (EPERM), nothing created",
             diag=f"rc {rc}: {err}")
        rc, err = run_ctl_as(lambda fn: privs.without_cap(privs.CAP_NET_ADMIN, fn),
                             "set", "gw", "--idle", "9")
        t.ok(rc == 3 and "Operation not permitted" in err,
             "root without CAP_NET_ADMIN, set: exit 3 (EPERM)", diag=f"rc {rc}: {err}")
        rc, err = run_ctl_as(privs.as_nobody, "del", "gw")
        t.ok(rc == 3 and "gw" in ttmod.rule_names(), "unprivileged del: exit 3, rule kept",
             diag=f"rc {rc}: {err}")
        rc, err = run_ctl_as(privs.as_nobody, "list", "-j")
        t.ok(rc == 0, "unprivileged list works (reading is open)", diag=f"rc {rc}: {err}")
    else:
        for what in ("unprivileged add", "unprivileged set", "no CAP_NET_ADMIN add",
                     "no CAP_NET_ADMIN set", "unprivileged del", "unprivileged list"):
            t.skip(what, f"{CTL} not executable by nobody")
    t.eq({n: rule_attrs(n) for n in ttmod.rule_names()}, before,
         "after the refused commands every rule is unchanged")

    # ---- del ----
    p = ctl("del", "gw", "out1")
    t.ok(p.returncode == 0 and ttmod.rule_names() == [] and sysfs_rules() == [],
         "del removes the rules from configfs and the live table", diag=show(p))
    p = ctl("del", "gw")
    t.ok(p.returncode == 1 and "no rule named 'gw'" in p.stderr, "del of a missing rule: exit 1",
         diag=show(p))
    p = ctl("show", "gw")
    t.ok(p.returncode == 1, "show of a missing rule: exit 1", diag=show(p))

    cli.close_agent()
    srv.close_agent()
    pair.delete()
    cg.remove(CG)
    ttmod.unload()
    p = ctl("list")
    t.ok(p.returncode == 2 and "modprobe tcptimeo" in p.stderr,
         "after rmmod: exit 2 and says modprobe tcptimeo", diag=show(p))


Tap.run(main, PLAN)
