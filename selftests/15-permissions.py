#!/usr/bin/env python3
# timeout: 120
"""Who may write: root-owned files, not writable by others; an unprivileged
user gets EACCES (from the VFS), root without CAP_NET_ADMIN gets EPERM
(from the module), on attribute writes, mkdir and the sysfs switches; and
nothing changes. Reading stays open to everyone.

Privileges are dropped in forked children: setuid(nobody), or
prctl(PR_CAPBSET_DROP) + capset() clearing CAP_NET_ADMIN while staying
uid 0 (lib/privs.py); the setpriv(1) variant runs too when installed.
"""
import errno
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule, errname, write_raw            # noqa: E402
import privs                                          # noqa: E402

PLAN = 17


def try_mkdir(path):
    try:
        os.mkdir(path)
        return 0
    except OSError as e:
        return e.errno


def try_rmdir(path):
    try:
        os.rmdir(path)
        return 0
    except OSError as e:
        return e.errno


def main(t):
    ttmod.load()
    r = Rule("perm", keepidle=33)
    attr = r.path("keepidle")
    sys_enabled = os.path.join(ttmod.SYSFS, "enabled")
    sys_aks = os.path.join(ttmod.SYSFS, "allow_kernel_sockets")

    bad = []
    files = [os.path.join(r.dir, f) for f in os.listdir(r.dir)]
    for d, _, fs in os.walk(ttmod.SYSFS):
        files += [os.path.join(d, f) for f in fs]
    for f in files + [r.dir, ttmod.RULES]:
        st = os.stat(f)
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            bad.append(f"{f} uid {st.st_uid} mode {oct(st.st_mode)}")
    t.ok(not bad, f"{len(files)} files and the rule directories: root-owned, "
         "not writable by group or others", diag="\n".join(bad))

    # unprivileged user
    res = privs.as_nobody(lambda: {
        "write": write_raw(attr, "5\n"),
        "enabled": write_raw(r.path("enabled"), "0\n"),
        "mkdir": try_mkdir(os.path.join(ttmod.RULES, "by-nobody")),
        "rmdir": try_rmdir(r.dir),
        "sysfs": write_raw(sys_enabled, "0\n"),
        "read": open(attr).read().strip(),
        "read_sysfs": open(os.path.join(ttmod.SYSFS, "stats/stamped_out")).read().strip(),
    })
    t.eq(errname(res["write"]), "EACCES", "nobody: write keepidle -> EACCES")
    t.eq(errname(res["enabled"]), "EACCES", "nobody: write enabled -> EACCES")
    t.eq(errname(res["mkdir"]), "EACCES", "nobody: mkdir a rule -> EACCES")
    t.eq(errname(res["rmdir"]), "EACCES", "nobody: rmdir a rule -> EACCES")
    t.eq(errname(res["sysfs"]), "EACCES", "nobody: write sysfs enabled -> EACCES")
    t.ok(res["read"] == "33" and res["read_sysfs"].isdigit(),
         "nobody can read attributes and stats", diag=f"{res}")

    # root without CAP_NET_ADMIN
    res = privs.without_cap(privs.CAP_NET_ADMIN, lambda: {
        "uid": os.getuid(),
        "capeff": privs.cap_effective(),
        "write": write_raw(attr, "5\n"),
        "enabled": write_raw(r.path("enabled"), "0\n"),
        "mkdir": try_mkdir(os.path.join(ttmod.RULES, "no-cap")),
        "sysfs": write_raw(sys_enabled, "0\n"),
        "sysfs_aks": write_raw(sys_aks, "1\n"),
    })
    t.ok(res["uid"] == 0 and not res["capeff"] & (1 << privs.CAP_NET_ADMIN)
         and res["capeff"] & (1 << 1),   # still has CAP_DAC_OVERRIDE
         "child is uid 0 with every capability but CAP_NET_ADMIN",
         diag=f"uid {res['uid']} CapEff {res['capeff']:#x}")
    t.eq(errname(res["write"]), "EPERM", "no CAP_NET_ADMIN: write keepidle -> EPERM")
    t.eq(errname(res["enabled"]), "EPERM", "no CAP_NET_ADMIN: write enabled -> EPERM")
    t.eq(errname(res["mkdir"]), "EPERM", "no CAP_NET_ADMIN: mkdir a rule -> EPERM")
    t.eq(errname(res["sysfs"]), "EPERM", "no CAP_NET_ADMIN: sysfs enabled -> EPERM")
    t.eq(errname(res["sysfs_aks"]), "EPERM",
         "no CAP_NET_ADMIN: sysfs allow_kernel_sockets -> EPERM")

    state = (r.get("keepidle"), r.get("enabled"), ttmod.rule_names(),
             ttmod.sysfs_get("enabled"), ttmod.sysfs_get("allow_kernel_sockets"))
    t.eq(state, ("33", "1", ["perm"], "1", "0"),
         "nothing changed (keepidle, enabled, rule list, switches)")

    if shutil.which("setpriv"):
        code = ("import errno, os, sys\n"
                "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
                "try:\n    os.write(fd, b'5\\n'); print('success')\n"
                "except OSError as e:\n    print(errno.errorcode[e.errno])\n")
        p = subprocess.run(["setpriv", "--inh-caps=-net_admin",
                            "--bounding-set=-net_admin", sys.executable, "-c",
                            code, attr], capture_output=True, text=True)
        t.ok(p.stdout.strip() == "EPERM" and r.get("keepidle") == "33",
             "setpriv --bounding-set=-net_admin: a process exec'd without "
             "CAP_NET_ADMIN gets EPERM",
             diag=f"rc {p.returncode}: {p.stdout} {p.stderr}")
    else:
        t.skip("setpriv variant", "setpriv not installed")

    t.eq(write_raw(attr, "5\n"), 0, "control: root with CAP_NET_ADMIN can write")
    t.eq(r.get("keepidle"), "5", "control: and the value changed")
    r.remove()


Tap.run(main, PLAN)
