#!/usr/bin/env python3
# timeout: 180
"""Bad input is refused with the right errno and changes nothing.

For every rule attribute (`line` too; and the writable sysfs switches,
`hold`, `commit`): first a valid,
non-default value is written; then at least 8 malformed writes (empty,
spaces, negative, 99999999999, trailing junk, out of range, a 4 KiB
string, a wrong keyword, ...) must each fail in write(2) with EINVAL, or
ERANGE for a well-formed number out of range, and the file must still
read back the old value. Also: fresh rules read back the ABI defaults,
valid values read back canonical, rule names outside 1-32 of
[A-Za-z0-9_.-] fail mkdir with EINVAL, a cgroup path that names a file
is ENOTDIR (one that does not exist yet is accepted: 36-cgroup-absent),
and the kernel log gets rate-limited lines naming rule and field.
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule, errname                       # noqa: E402
import cgroup as cg                                   # noqa: E402

EINVAL, ERANGE = errno.EINVAL, errno.ERANGE
BIG_JUNK = "A" * 4096
BIG_DIGITS = "1" * 4096
CGP = "/tt-bad"
MY_NETNS = os.stat("/proc/self/ns/net").st_ino


def numeric(maxv, keyword="on"):
    """Malformed writes for a decimal attribute 0..maxv."""
    return [("\n", EINVAL), (" \n", EINVAL), (" 5\n", EINVAL), ("5 \n", EINVAL),
            ("\t1\n", EINVAL), ("-1\n", EINVAL), ("+1\n", EINVAL),
            ("99999999999\n", ERANGE), ("1x\n", EINVAL), ("0x1\n", EINVAL),
            ("1.0\n", EINVAL), ("1\n\n", EINVAL), ("1\0", EINVAL),
            (f"{maxv + 1}\n", ERANGE), (BIG_JUNK, EINVAL), (BIG_DIGITS, ERANGE),
            (f"{keyword}\n", EINVAL)]


PORTS_BAD = [(" \n", EINVAL), ("80, 443\n", EINVAL), ("-1\n", EINVAL),
             ("99999999999\n", ERANGE), ("80x\n", EINVAL), ("0\n", ERANGE),
             ("65536\n", ERANGE), ("90-80\n", EINVAL), ("80,\n", EINVAL),
             (",80\n", EINVAL), ("80,,81\n", EINVAL), ("80-\n", EINVAL),
             ("1-2-3\n", EINVAL),
             (",".join(str(p) for p in range(1, 35, 2)) + "\n", EINVAL),  # 17
             (BIG_JUNK, EINVAL), ("any\n", EINVAL)]

ADDRS_BAD = [(" \n", EINVAL), ("10.0.0.0/8, fd00::/8\n", EINVAL),
             ("-1\n", EINVAL), ("99999999999\n", EINVAL), ("10.0.0.0/8x\n", EINVAL),
             ("10.0.0.0/33\n", ERANGE), ("fd00::/129\n", ERANGE),
             ("10.0.0.1/8\n", EINVAL), ("256.0.0.0/8\n", EINVAL),
             ("10.0.0.0/08\n", EINVAL), ("1.2.3\n", EINVAL), ("fd00:::1\n", EINVAL),
             ("10.0.0.0/8,\n", EINVAL),
             (",".join(f"10.0.{i}.0/24" for i in range(17)) + "\n", EINVAL),
             (BIG_JUNK, EINVAL), ("any\n", EINVAL)]

CGROUP_BAD = [(" \n", EINVAL), (CGP[1:] + "\n", EINVAL), ("/tt bad\n", EINVAL),
              (CGP + " \n", EINVAL), ("/" + "a" * 600 + "\n", EINVAL),
              (CGP + "\n\n", EINVAL), ("-1\n", EINVAL), ("99999999999\n", EINVAL),
              (BIG_JUNK, EINVAL), ("any\n", EINVAL), ("/cgroup.procs\n", errno.ENOTDIR)]


def keywords(words_bad):
    return [(w + "\n", EINVAL) for w in words_bad] + \
        [("\n", EINVAL), ("-1\n", EINVAL), ("99999999999\n", EINVAL),
         (BIG_JUNK, EINVAL)]


# attribute: (old value written first, what it reads back, bad writes)
CASES = {
    "priority": ("77", "77", numeric(65535)),
    "direction": ("in", "in", keywords([" in", "in ", "IN", "both", "inn",
                                        "in,out", "0"])),
    "local_ports": ("443,80", "80,443", PORTS_BAD),
    "remote_ports": ("8000-8099", "8000-8099", PORTS_BAD),
    "remote_addrs": ("fd00::/8,10.96.0.0/12", None, ADDRS_BAD),
    "cgroup": (CGP, CGP, CGROUP_BAD),
    # a number no live namespace has: ENOENT (docs/ABI.md, netns)
    "netns": (str(MY_NETNS), str(MY_NETNS), numeric(4294967295)
              + [("12345\n", errno.ENOENT)]),
    "keepalive": ("1", "1", numeric(1)),
    "keepidle": ("33", "33", numeric(32767)),
    "keepintvl": ("44", "44", numeric(32767)),
    "keepcnt": ("55", "55", numeric(127)),
    "user_timeout": ("7777", "7777", numeric(2147483647, "AUTO")
                     + [("auto \n", EINVAL), ("auto1\n", EINVAL)]),
    "syn_retries": ("66", "66", numeric(127)),
    # TCP_RTO_MAX_MS (6.15+): 1000..120000 ms where the kernel has it,
    # else only 0 and a non-zero value is EOPNOTSUPP
    "rto_max": ("1500", "1500", numeric(120000) + [("999\n", ERANGE), ("1\n", ERANGE)])
    if ttmod.has_rto_max() else
    ("0", "0", [("1500\n", errno.EOPNOTSUPP), ("120000\n", errno.EOPNOTSUPP),
                ("999\n", ERANGE), ("120001\n", ERANGE), ("on\n", EINVAL)]),
    "mode": ("force", "force", keywords([" fill", "fill ", "FILL", "overwrite",
                                         "fill,force", "1"])),
    "enabled": ("0", "0", numeric(1)),
    # the whole rule in one write (last: it resets every other field)
    "line": ("dir in local-port 443,80 idle 2m",
             "priority 1000 dir in local-port 80,443 idle 120s",
             [("bogus\n", EINVAL), ("idle\n", EINVAL), ("idle 7 idle 8\n", EINVAL),
              ("force clamp\n", EINVAL), ("idle 40000\n", ERANGE),
              ("priority 65536\n", ERANGE), ("user-timeout 2147483648\n", ERANGE),
              ("disabled\n", EINVAL), ("no-keepalive\n", EINVAL),
              ("dir sideways\n", EINVAL), ("dir in\n\n", EINVAL),
              ("local-port 0\n", ERANGE), ("remote-addr 10.1.1.1/8\n", EINVAL),
              ("cgroup tt-bad\n", EINVAL), ("cgroup /cgroup.procs\n", errno.ENOTDIR),
              ("netns 12345\n", errno.ENOENT), ("netns /proc/1/ns/net\n", EINVAL),
              ("keepalive 1\n", EINVAL), ("idle 7\0", EINVAL), ("dir in # c\n", EINVAL),
              ("rto-max 999ms\n", ERANGE), ("rto-max 121s\n", ERANGE),
              ("rto-max 2x\n", EINVAL)]
             + ([] if ttmod.has_rto_max() else [("rto-max 2s\n", errno.EOPNOTSUPP)]) + [
              (BIG_JUNK, EINVAL)]),
}
SYSFS_CASES = {"enabled": numeric(1), "allow_kernel_sockets": numeric(1),
               "hold": numeric(300) + [("0\n", ERANGE)]}
COMMIT_BAD = [("0\n", EINVAL), ("2\n", EINVAL), ("\n", EINVAL), ("1 \n", EINVAL),
              (" 1\n", EINVAL), ("11\n", EINVAL), ("1\n\n", EINVAL), (BIG_JUNK, EINVAL)]

CANON = [("local_ports", "8000-8099,443,80,81,82", "80-82,443,8000-8099"),
         ("local_ports", "10-20,15-25,26", "10-26"),
         ("remote_ports", "65535,1", "1,65535"),
         ("remote_addrs", "10.0.0.1", "10.0.0.1/32"),
         ("remote_addrs", "fd00:0:0:0:0:0:0:1/128,FD00::/8", "fd00::1/128,fd00::/8"),
         ("remote_addrs", "::ffff:10.1.2.0/120", "::ffff:10.1.2.0/120"),
         ("user_timeout", "auto", "auto"),
         ("local_ports", "", "")]

BAD_NAMES = ["a" * 33, "a:b", "a b", "caf\u00e9", "a*b", "a\tb", "rule!", "a,b"]

PLAN = (len(ttmod.DEFAULTS) + 1 + len(CANON) + 1
        + sum(len(c[2]) + 1 for c in CASES.values())
        + sum(len(v) for v in SYSFS_CASES.values())
        + 1 + len(BAD_NAMES) + 1 + 3 + 2
        + len(COMMIT_BAD) + 1 + 1)


def show(v):
    return repr(v if len(v) < 40 else v[:12] + f"...({len(v)} bytes)")


def main(t):
    ttmod.load()
    cg.ensure_mounted()
    cg.create(CGP)
    log = ttmod.KernelLog()

    r = Rule("bad", enable=False)
    for attr, want in ttmod.DEFAULTS.items():
        got = r.get(attr)
        ok = got == want or (attr == "user_timeout" and got == "auto")
        t.ok(ok, f"fresh rule: {attr} reads back {want!r}", diag=f"got {got!r}")
    t.ok(ttmod.live_rule_names() == [], "a fresh rule is not live",
         diag=f"{ttmod.live_rules()}")

    for attr, value, want in CANON:
        r.set(attr, value)
        t.eq(r.get(attr), want, f"{attr} {value!r} reads back canonical")
    t.eq(r.try_set("keepidle", "9"), 0, "a value without the trailing newline "
         "is accepted too")

    nbad = 0
    first = True
    for attr, (old, readback, bad) in CASES.items():
        r.set(attr, old)
        want_back = readback if readback is not None else r.get(attr)
        t.eq(r.get(attr), want_back, f"{attr}: valid {old!r} reads back {want_back!r}")
        for value, want_err in bad:
            err = r.try_set(attr, value)
            nbad += 1
            back = r.get(attr)
            t.ok(err == want_err and back == want_back,
                 f"{attr}: {show(value)} -> {errname(want_err)}, still {want_back!r}",
                 diag=f"write: {errname(err)}; reads back {back!r}")
            if first:
                first = False
                ours = log.ours()
                t.ok(any("bad" in line and attr in line for line in ours),
                     "the kernel log names the rule and the field",
                     diag=f"log: {ours}")

    for knob, bad in SYSFS_CASES.items():
        path = os.path.join(ttmod.SYSFS, knob)
        old = ttmod.read(path)
        for value, want_err in bad:
            err = ttmod.write_raw(path, value)
            nbad += 1
            back = ttmod.read(path)
            t.ok(err == want_err and back == old,
                 f"sysfs {knob}: {show(value)} -> {errname(want_err)}, still {old!r}",
                 diag=f"write: {errname(err)}; reads back {back!r}")
    commit = os.path.join(ttmod.SYSFS, "commit")
    for value, want_err in COMMIT_BAD:
        err = ttmod.write_raw(commit, value)
        nbad += 1
        t.ok(err == want_err and ttmod.sysfs_get("hold") == "0",
             f"sysfs commit: {show(value)} -> {errname(want_err)}, no hold",
             diag=f"write: {errname(err)}")
    err = ttmod.write_raw(commit, "1\n")
    t.ok(err == errno.ENOENT and ttmod.sysfs_get("hold") == "0",
         "sysfs commit: 1 without a hold -> ENOENT", diag=f"write: {errname(err)}")
    lines = log.ours()
    t.ok(0 < len(lines) < nbad / 2,
         f"kernel log lines are rate-limited ({len(lines)} for {nbad} bad writes)",
         diag="\n".join(lines[:5]))

    # a cgroup path that names a file can never be a cgroup
    r2 = Rule("cg-live", cgroup=CGP)
    err = r2.try_set("cgroup", "/cgroup.procs\n")
    t.ok(err == errno.ENOTDIR and r2.get("cgroup") == CGP and r2.get("enabled") == "1",
         "live rule: cgroup /cgroup.procs -> ENOTDIR, old path kept, still live",
         diag=f"write: {errname(err)}; cgroup {r2.get('cgroup')!r}, "
              f"enabled {r2.get('enabled')}")
    r2.remove()
    r3 = Rule("cg-dead", enable=False)
    e1 = r3.try_set("cgroup", "/cgroup.procs\n")
    t.ok(e1 == errno.ENOTDIR and r3.get("cgroup") == "" and r3.get("enabled") == "0"
         and "cg-dead" not in ttmod.live_rule_names(),
         "disabled rule: cgroup /cgroup.procs -> ENOTDIR, nothing changed",
         diag=f"write {errname(e1)}, cgroup {r3.get('cgroup')!r}, enabled {r3.get('enabled')}")
    r3.remove()
    # a live rule refuses bad writes and stays live with its old value
    r4 = Rule("live", keepidle=33)
    err = r4.try_set("keepidle", "32768\n")
    t.ok(err == ERANGE and r4.get("keepidle") == "33" and r4.get("enabled") == "1"
         and ttmod.live_rule_names() == ["live"],
         "live rule: keepidle 32768 -> ERANGE, still live with 33",
         diag=f"{errname(err)} {r4.get('keepidle')} {ttmod.live_rules()}")
    # a live rule refuses a bad line whole: no field of it changes
    err = r4.try_set("line", "priority 5 dir in keepalive idle 32768\n")
    t.ok(err == ERANGE and r4.get("line") == "priority 1000 dir any idle 33s"
         and ttmod.live_rules() == ["live priority 1000 dir any idle 33s"],
         "live rule: line with idle 32768 -> ERANGE, nothing of it applied",
         diag=f"{errname(err)} {r4.get('line')} {ttmod.live_rules()}")
    r4.remove()

    # rule names
    t.eq(ttmod.mkdir_rule("A" * 32), 0, "a 32-character name is accepted")
    ttmod.rmdir_rule("A" * 32)
    for name in BAD_NAMES:
        err = ttmod.mkdir_rule(name)
        t.ok(err == EINVAL and name not in ttmod.rule_names(),
             f"rule name {name!r} -> EINVAL", diag=f"mkdir: {errname(err)}")
            # (33 characters, ':', space, non-ASCII, '*', tab, '!', ',')
    t.eq(ttmod.mkdir_rule("ok_Name.1-2"), 0, "name with _ . - and digits is accepted")
    ttmod.rmdir_rule("ok_Name.1-2")
    r.remove()
    cg.remove(CGP)


Tap.run(main, PLAN)
