#!/usr/bin/env python3
# timeout: 300
"""tcptimeoctl apply/save against the real module.

- the example rules file applied: live rules equal the file; the module's
  sysfs `rules` text and `save` print the same lines
- save | apply - is a no-op: no write at all (every attribute and every
  `matched` counter unchanged)
- atomicity: a file with one bad line (or a cgroup path naming a file) is refused as
  a whole with FILE:LINE messages and the live rules stay untouched
- a refusal by the module half-way (found only by the kernel) is undone:
  the previous rules are restored
- create / update / delete so that live rules equal the file; --dry-run
  exits 5 while changes are pending (0 in sync, see 'save | apply -');
  changes nothing; disabled rules survive save | apply -
- 500 rules: apply, save | apply -, apply of an empty file, timed
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent                                # noqa: E402
from ctl import CTL, EXAMPLE, ctl, ctl_json, all_rules, show, sysfs_rules, saved_lines  # noqa: E402

PLAN = 23

EXAMPLE_LINES = [
    "istio-gateway priority 1000 dir in local-port 8080 keepalive idle 7s intvl 5s cnt 2 user-timeout auto",
    "redis priority 1000 dir out remote-port 6379 keepalive idle 60s intvl 20s cnt 4",
    "upstream-12345 priority 1000 dir out remote-port 12345 user-timeout 10s",
    "loadtest-vip priority 2000 dir out remote-addr 10.96.0.10/32 cgroup /loadtest keepalive "
    "idle 30s intvl 10s cnt 3 user-timeout auto syn-retries 3",
]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def main(t):
    ttmod.load()
    ttmod.remove_all_rules()
    cg.ensure_mounted()
    cg.create("/loadtest")

    p = ctl("apply", EXAMPLE)
    t.ok(p.returncode == 0 and "4 to create, 0 to update, 0 to delete, 0 unchanged" in p.stdout,
         "apply docs/examples/rules.conf", diag=show(p))
    save = saved_lines(ctl("save").stdout)
    t.eq(save, EXAMPLE_LINES, "save prints the four mission rules, canonical")
    t.eq(sysfs_rules(), EXAMPLE_LINES, "the module's sysfs rules text is the same lines")

    # a connection so that a counter is non-zero
    pair = Pair()
    srv, cli = Agent(pair.srv), Agent(pair.cli)
    ls = srv.listen(4, "0.0.0.0", 6379)
    cli.connect(4, pair.addr("srv", 4), 6379)
    srv.accept(ls)
    snap = all_rules(counters=True)
    t.eq(snap["redis"]["matched"], "1", "a connection to 6379 matched redis")

    p = subprocess.run(f"{CTL} save | {CTL} apply -", shell=True, capture_output=True, text=True)
    t.ok(p.returncode == 0 and "0 to create, 0 to update, 0 to delete, 4 unchanged" in p.stdout
         and all_rules(counters=True) == snap,
         "save | apply - is a no-op (attributes and matched counters unchanged)", diag=show(p))
    p = ctl("apply", EXAMPLE)
    t.ok(p.returncode == 0 and "4 unchanged" in p.stdout and all_rules(counters=True) == snap,
         "applying the same file again changes nothing", diag=show(p))
    p = ctl("apply", "--dry-run", EXAMPLE)
    t.ok(p.returncode == 0 and "4 unchanged" in p.stdout,
         "apply --dry-run of the file the live rules equal: exit 0 (in sync)", diag=show(p))

    # ---- atomicity: refused as a whole ----
    with open(EXAMPLE) as f:
        example = f.read()
    changed = example.replace("idle 60 intvl 20 cnt 4", "idle 90 intvl 20 cnt 4")
    bad = changed + "new-rule dir out remote-port 7000\nbroken dir out idle 99999 cnt 300\n"
    path = write("bad.conf", bad)
    n = len(bad.splitlines())
    p = ctl("apply", path)
    t.ok(p.returncode == 1 and
         f"{path}:{n}: idle '99999': out of range; valid: 0 (unset) or 1..32767 seconds" in p.stderr and
         f"{path}:{n}: cnt '300': out of range; valid: 0 (unset) or 1..127" in p.stderr and
         "nothing changed" in p.stderr,
         "a file with one bad line: exit 1, every error as file:line with the valid range",
         diag=show(p))
    t.ok(all_rules(counters=True) == snap and ttmod.live_rules() == EXAMPLE_LINES,
         "... and the live rules are untouched (no update, no create)")
    path = write("cg.conf", changed + "lt2 dir out cgroup /cgroup.procs idle 5\n")
    p = ctl("apply", path)
    t.ok(p.returncode == 1 and "cgroup '/cgroup.procs': not a cgroup directory" in p.stderr and
         all_rules(counters=True) == snap,
         "a cgroup path naming a file is found before anything changes", diag=show(p))
    p = ctl("apply", "-", stdin="a dir in\0\nb dir out\n")
    t.ok(p.returncode == 1 and "<stdin>:1: line contains a NUL byte" in p.stderr and
         all_rules(counters=True) == snap, "a NUL byte: refused, nothing changed", diag=show(p))

    # ---- refused by the module half-way: undone ----
    # Without the cgroup2 mount in its mount namespace, the CLI cannot check
    # cgroups first; the module refuses the third action (a cgroup path
    # naming a file) and apply undoes the first two.
    path = write("late.conf", changed + "aaa-new dir out remote-port 7001 idle 5\n"
                 "zzz-late dir out cgroup /cgroup.procs idle 5\n")
    p = subprocess.run(["unshare", "-m", "sh", "-c",
                        f"umount -l /sys/fs/cgroup; exec {CTL} apply {path}"],
                       capture_output=True, text=True)
    t.ok(p.returncode == 1 and "not a cgroup directory" in p.stderr and
         "the previous rules were restored" in p.stderr,
         "the module refuses a cgroup half-way: exit 1, says the rules were restored", diag=show(p))
    after = all_rules(counters=True)
    t.ok({n: {k: v for k, v in r.items() if k != "matched"} for n, r in after.items()} ==
         {n: {k: v for k, v in r.items() if k != "matched"} for n, r in snap.items()} and
         ttmod.live_rules() == EXAMPLE_LINES,
         "... redis back to idle 60, aaa-new and zzz-late gone",
         diag=f"{sorted(after)}\n{ttmod.live_rules()}")

    # ---- plan and changes ----
    new = ("istio-gateway dir in local-port 8080 keepalive idle 9 intvl 5 cnt 2 user-timeout auto\n"
           "redis dir out remote-port 6379 keepalive idle 60 intvl 20 cnt 4\n"
           "# a rule kept but out of service\n"
           "spare priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled\n")
    path = write("new.conf", new)
    p = ctl("apply", "--dry-run", path)
    t.ok(p.returncode == 5 and all_rules(counters=True) == snap and
         "update istio-gateway: idle 7 -> 9" in p.stdout and
         "create spare: spare priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled" in p.stdout and
         "delete upstream-12345:" in p.stdout and "delete loadtest-vip:" in p.stdout and
         "dry run, nothing changed: 1 to create, 1 to update, 2 to delete, 1 unchanged" in p.stdout,
         "apply --dry-run prints the plan, changes nothing, exits 5 (changes pending)",
         diag=show(p))
    p = ctl("apply", path)
    r = all_rules(counters=True)
    t.ok(p.returncode == 0 and sorted(r) == ["istio-gateway", "redis", "spare"] and
         r["istio-gateway"]["keepidle"] == "9" and r["spare"]["enabled"] == "0" and
         r["redis"]["matched"] == "1",
         "apply updates, creates (disabled) and deletes; redis untouched keeps its counter",
         diag=f"{show(p)}\n{r}")
    t.eq(sysfs_rules(), [
        "istio-gateway priority 1000 dir in local-port 8080 keepalive idle 9s intvl 5s cnt 2 user-timeout auto",
        "redis priority 1000 dir out remote-port 6379 keepalive idle 60s intvl 20s cnt 4"],
        "the live table holds the enabled rules of the file")
    save = ctl("save").stdout
    t.ok("spare priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled" in save,
         "save prints the disabled rule with 'disabled'", diag=save)
    snap2 = all_rules(counters=True)
    p = ctl("apply", "-", stdin=save)
    t.ok(p.returncode == 0 and "0 to create, 0 to update, 0 to delete, 3 unchanged" in p.stdout and
         all_rules(counters=True) == snap2, "save | apply - with a disabled rule is a no-op",
         diag=show(p))
    p = ctl("apply", "-q", EXAMPLE)
    t.ok(p.returncode == 0 and p.stdout == "" and sysfs_rules() == EXAMPLE_LINES,
         "apply -q: back to the example rules, silently", diag=show(p))

    cli.close_agent()
    srv.close_agent()
    pair.delete()

    # ---- scale ----
    lines = [f"r{i:04d} priority {i % 50} dir {('in', 'out', 'any')[i % 3]} "
             f"remote-port {1000 + i} remote-addr 10.{i // 250}.{i % 250}.0/24 "
             f"keepalive idle {1 + i % 100} cnt {1 + i % 9}" for i in range(500)]
    path = write("big.conf", "\n".join(lines) + "\n")
    t0 = time.monotonic()
    p = ctl("apply", "-q", path, timeout=600)
    dt = time.monotonic() - t0
    t.ok(p.returncode == 0 and len(ttmod.rule_names()) == 500 and len(sysfs_rules()) == 500,
         f"apply of 500 rules ({dt:.1f} s)", diag=show(p))
    snap3 = all_rules(counters=True)
    t0 = time.monotonic()
    p = subprocess.run(f"{CTL} save | {CTL} apply -", shell=True, capture_output=True, text=True,
                       timeout=600)
    dt = time.monotonic() - t0
    t.ok(p.returncode == 0 and "500 unchanged" in p.stdout and all_rules(counters=True) == snap3,
         f"save | apply - of 500 rules is a no-op ({dt:.1f} s)", diag=show(p))
    lst = ctl_json("list", "-j")
    order = [(x["priority"], x["name"]) for x in lst]
    t.ok(order == sorted(order) and [x["line"] for x in lst if x["enabled"]] == sysfs_rules(),
         "list -j: 500 rules in the module's evaluation order")
    t0 = time.monotonic()
    p = ctl("apply", "-q", "-", stdin="", timeout=600)
    dt = time.monotonic() - t0
    t.ok(p.returncode == 0 and ttmod.rule_names() == [] and sysfs_rules() == [],
         f"apply of an empty file deletes all 500 ({dt:.1f} s)", diag=show(p))
    cg.remove("/loadtest")


Tap.run(main, PLAN)
