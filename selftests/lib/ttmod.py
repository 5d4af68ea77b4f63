"""The module under test: load/unload, rules in configfs, sysfs, kernel log.

Paths and semantics follow docs/ABI.md. The environment comes from the VM
runner (selftests/README.md): TCPTIMEO_KO, TCPTIMEO_SRC, TCPTIMEO_CTL, KVER.

    load()
    with Rule("web", direction="in", local_ports="80,443", keepalive=1,
              keepidle=7) as r:
        ...  r.matched ...
    unload()
"""
import errno
import os
import re
import shutil
import socket
import subprocess

import undo
from tap import Skip

# ip, tc, ss, modprobe, insmod live in sbin: make sure we find them.
for _d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
    if _d not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = os.environ.get("PATH", "") + ":" + _d

KO = os.environ.get("TCPTIMEO_KO", "")


def _source_tree():
    """What the tests read of the rest of the tree (docs, man pages, the
    uapi header, deploy/): $TCPTIMEO_SRC; in an installed copy (make -C
    selftests install) the files it installed as tcptimeo/src/; else the
    tree this file is in."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.environ.get("TCPTIMEO_SRC"):
        return os.environ["TCPTIMEO_SRC"]
    if os.path.isdir(os.path.join(top, "src")):
        return os.path.join(top, "src")
    return os.path.dirname(top)


SRC = _source_tree()
# The CLI under test; on a host where tcptimeo is installed (kselftest's
# runner sets nothing), the installed one.
CTL = os.environ.get("TCPTIMEO_CTL") or shutil.which("tcptimeoctl") or ""
KVER = os.environ.get("KVER", os.uname().release)

CONFIGFS = "/sys/kernel/config"
ROOT = CONFIGFS + "/tcptimeo"
RULES = ROOT + "/rules"
SYSFS = "/sys/kernel/tcptimeo"
STATS = ("stamped_in", "stamped_out", "skipped_app_set", "skipped_kernel",
         "restamped")

# Every rule attribute with its default as read back (docs/ABI.md), in
# the order a rule is best written: selectors and options, `enabled` last.
DEFAULTS = {
    "priority": "1000",
    "direction": "any",
    "local_ports": "",
    "remote_ports": "",
    "remote_addrs": "",
    "cgroup": "",
    "netns": "0",
    "keepalive": "0",
    "keepidle": "0",
    "keepintvl": "0",
    "keepcnt": "0",
    "user_timeout": "0",
    "syn_retries": "0",
    "rto_max": "0",
    "mode": "fill",
    "enabled": "0",
    "line": "priority 1000 dir any",
    "matched": "0",
    "netns_state": "any",
    "cgroup_state": "any",
}
READ_ONLY = ("matched", "netns_state", "cgroup_state")
WRITABLE = [a for a in DEFAULTS if a not in READ_ONLY]


def sh(cmd, check=True, timeout=60, **kw):
    """Run a command (list), capture text output; raise on failure if check."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: "
                           f"{p.stderr.strip() or p.stdout.strip()}")
    return p


def modprobe(*mods):
    """Load kernel modules the tests need (veth, sch_netem, ...); one this
    kernel does not have (not built in, not built) is a missing
    prerequisite: Skip (selftests/config lists them)."""
    for m in mods:
        p = sh(["modprobe", m], check=False)
        if p.returncode == 0:
            continue
        if "not found" in p.stderr:
            raise Skip(f"this kernel has no {m} (selftests/config): "
                       f"{p.stderr.strip()}")
        raise RuntimeError(f"modprobe {m}: exit {p.returncode}: {p.stderr.strip()}")


def require_module():
    """A module to test: $TCPTIMEO_KO, or one installed; else Skip."""
    if KO:
        return
    p = sh(["modinfo", "-F", "filename", "tcptimeo"], check=False)
    if p.returncode != 0:
        raise Skip("no tcptimeo module: not installed (modinfo: "
                   f"{p.stderr.strip() or p.returncode}), no TCPTIMEO_KO")


def require_ctl():
    """The CLI under test (CTL), or Skip."""
    if not CTL:
        raise Skip("no tcptimeoctl: not installed, no TCPTIMEO_CTL")
    return CTL


def ensure_configfs():
    """configfs mounted on /sys/kernel/config, or Skip: a kernel without
    it cannot run the module."""
    sh(["modprobe", "configfs"], check=False)   # may be built in
    with open("/proc/self/mounts") as f:
        if any(line.split()[1] == CONFIGFS for line in f):
            return
    p = sh(["mount", "-t", "configfs", "none", CONFIGFS], check=False)
    if p.returncode != 0:
        raise Skip(f"cannot mount configfs on {CONFIGFS}: "
                   f"{p.stderr.strip() or p.returncode}")


def loaded():
    return os.path.isdir("/sys/module/tcptimeo")


def load():
    """insmod $TCPTIMEO_KO (after configfs), or without it `modprobe
    tcptimeo` (an installed module: DKMS or .deb); no-op if loaded."""
    if loaded():
        return
    # None to test is a skip; one that fails to load is a failure.
    require_module()
    ensure_configfs()
    if not KO:
        sh(["modprobe", "tcptimeo"])
    elif not os.path.exists(KO):
        raise RuntimeError(f"TCPTIMEO_KO={KO!r} does not exist")
    else:
        sh(["insmod", KO])
    undo.add("module", _unload_at_exit)


def _unload_at_exit():
    """The test loaded the module: unload it, once its rules are gone."""
    if loaded() and not (os.path.isdir(RULES) and os.listdir(RULES)):
        sh(["rmmod", "tcptimeo"], check=False)


def unload(check=True):
    """rmmod tcptimeo; returns the CompletedProcess (check=False to inspect)."""
    return sh(["rmmod", "tcptimeo"], check=check)


def unload_point(t):
    """A test's last point: rmmod succeeds (nothing holds the module)."""
    p = unload(check=False)
    t.ok(p.returncode == 0, "rmmod", diag=p.stderr)


def refcnt():
    with open("/sys/module/tcptimeo/refcnt") as f:
        return int(f.read())


# ---- raw file access: errno matters, so no buffered text I/O ----

def has_rto_max():
    """Does this kernel's TCP take TCP_RTO_MAX_MS (6.15+)? Asked of a
    plain socket, as the module's features file should say."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_TCP, 44, 5000)
        return s.getsockopt(socket.IPPROTO_TCP, 44) == 5000
    except OSError:
        return False
    finally:
        s.close()


def write_raw(path, data):
    """One write(2) of `data` (bytes or str) on a fresh fd.

    Returns 0 on success or the errno of open() or write().
    """
    if isinstance(data, str):
        data = data.encode()
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def write(path, value):
    """Write `value` + newline; raise OSError on failure."""
    err = write_raw(path, f"{value}\n")
    if err:
        raise OSError(err, f"write {value!r} to {path}: {os.strerror(err)}")


def read(path):
    """The file's content without the one trailing newline."""
    with open(path, "rb") as f:
        data = f.read().decode(errors="replace")
    return data[:-1] if data.endswith("\n") else data


def errname(err):
    return errno.errorcode.get(err, str(err)) if err else "success"


# ---- rules ----

def mkdir_rule(name):
    """mkdir the rule directory; returns 0 or the errno."""
    try:
        os.mkdir(os.path.join(RULES, name))
        return 0
    except OSError as e:
        return e.errno


def rmdir_rule(name):
    try:
        os.rmdir(os.path.join(RULES, name))
        return 0
    except OSError as e:
        return e.errno


def rule_names():
    try:
        return sorted(os.listdir(RULES))
    except FileNotFoundError:
        return []


def remove_all_rules():
    for n in rule_names():
        rmdir_rule(n)


def _fmt(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


class Rule:
    """A rule directory; a context manager that removes it on exit.

    Rule(name, enable=True, **attrs): mkdir, write attrs (dict order),
    then enabled=1 last unless enable=False.
    """

    def __init__(self, name, enable=True, **attrs):
        self.name = name
        self.dir = os.path.join(RULES, name)
        os.mkdir(self.dir)
        undo.add(("rule", self.dir), self.remove)
        try:
            for k, v in attrs.items():
                self.set(k, v)
            if enable:
                self.set("enabled", 1)
        except BaseException:
            self.remove()
            raise

    def path(self, attr):
        return os.path.join(self.dir, attr)

    def set(self, attr, value):
        write(self.path(attr), _fmt(value))
        return self

    def try_set(self, attr, value):
        """Returns 0 or errno; `value` is written as-is (bytes or str)."""
        return write_raw(self.path(attr), value)

    def get(self, attr):
        return read(self.path(attr))

    def enable(self):
        return self.set("enabled", 1)

    def disable(self):
        return self.set("enabled", 0)

    @property
    def matched(self):
        return int(self.get("matched"))

    def remove(self):
        try:
            os.rmdir(self.dir)
        except FileNotFoundError:
            pass
        undo.drop(("rule", self.dir))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# ---- sysfs ----

def sysfs_get(name):
    return read(os.path.join(SYSFS, name))


def sysfs_set(name, value):
    write(os.path.join(SYSFS, name), _fmt(value))


def stats():
    return {s: int(sysfs_get("stats/" + s)) for s in STATS}


def live_rules():
    """The sysfs `rules` file: one line per live rule, evaluation order."""
    return [line for line in sysfs_get("rules").splitlines() if line.strip()]


def live_rule_names():
    return [line.split()[0] for line in live_rules()]


INDEX = "/sys/kernel/debug/tcptimeo/index"


def index_info():
    """debugfs tcptimeo/index (not ABI): {"current": 1, "rules": 3,
    "buckets": 256, "bytes": 4200, "in": {"slots": .., "wildcards": ..,
    "shapes": ..}, "out": {..}, "in-shapes": ["local-port/0", ..], ..}."""
    info = {}
    for line in read(INDEX).splitlines():
        w = line.split()
        if not w:
            continue
        if w[0].endswith(("-shapes", "-filters")):
            info[w[0]] = w[1:]
        elif len(w) == 2:
            info[w[0]] = int(w[1])
        else:
            info[w[0]] = {k: int(v) for k, v in zip(w[1::2], w[2::2])}
    return info


def wait_index(timeout=10):
    """Poll until the probe's index reflects every write (the module
    rebuilds it 50 ms after a burst, at least once a second); until then
    lookups walk the rule list instead."""
    from deadline import wait_until
    wait_until(lambda: index_info().get("current") == 1, timeout,
               "the rule index to catch up")
    return index_info()


# ---- kernel log ----

BAD_KMSG = re.compile(
    r"WARNING:|BUG:|Oops|Call Trace|general protection|KASAN|UBSAN|"
    r"refcount_t:|list_(add|del) corruption|RCU stall|rcu_sched self-detected|"
    r"stack-protector|double free|use-after-free|kernel panic|"
    r"unregister_netdevice: waiting",
    re.I)


TAINT_NOTICE = re.compile(r"taints kernel|module verification failed")


def kmsg():
    """[(seq, text)] of every record in the kernel log buffer (/dev/kmsg)."""
    out = []
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                rec = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:     # overwritten while reading: go on
                continue
            head, _, msg = rec.decode(errors="replace").partition(";")
            fields = head.split(",")
            out.append((int(fields[1]), msg.split("\n")[0]))
    finally:
        os.close(fd)
    return out


class KernelLog:
    """Lines the kernel logged since construction."""

    def __init__(self):
        recs = kmsg()
        self.mark = recs[-1][0] if recs else -1

    def new(self):
        return [m for seq, m in kmsg() if seq > self.mark]

    def problems(self):
        return [line for line in self.new() if BAD_KMSG.search(line)]

    def ours(self):
        """What the module logged (not the kernel's own taint notices)."""
        return [line for line in self.new() if "tcptimeo" in line
                and not TAINT_NOTICE.search(line)]
