#!/usr/bin/env python3
# timeout: 900
"""/proc/net/tcptimeo at scale: restricted, resumable, no stall.

50,000 loopback connections held open in this process (100,000 sockets,
fewer only if the guest's memory runs short: the test says so). Then:
- nobody (uid 65534) cannot open the file (EACCES, mode 0400), root
  without CAP_NET_ADMIN cannot either (EPERM, checked at open()); the
  root of a user namespace reads the view of a network namespace it owns,
  and not the initial namespace's (EACCES);
- root reads one line per socket: both ends of each connection, once;
- reading in 4096-byte and 1000-byte read()s, byte by byte (dd bs=1 over
  the first 256 KiB, every record a resume point) and with pread() at
  offsets gives the same lines as reading with a 1 MiB buffer;
- the kernel log has no RCU stall, soft lockup or BUG while it ran.
Elapsed times of the reads are printed.
"""
import errno
import os
import resource
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import privs                                          # noqa: E402
import incident as inc                                # noqa: E402

PROC = inc.PROC
HEADER = " ".join(inc.PROC_FIELDS)
PORT = 7583
SRV = "127.0.0.1"
WANT = 50000                  # connections: 2 sockets each
PER_ADDR = 25000              # client ports 20000.. on 127.0.1.N
CHUNK = 1000
DD_BYTES = 256 * 1024
MIN_AVAIL_KB = 300 * 1024     # stop creating below this much MemAvailable
STALL = ("self-detected stall", "detected stall", "rcu_sched", "rcu_preempt",
         "soft lockup", "BUG:", "hung task", "blocked for more than")
PLAN = 11


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def client_addr(i):
    return (f"127.0.1.{1 + i // PER_ADDR}", 20000 + i % PER_ADDR)


def open_conns(t):
    """As many of WANT connections as memory allows: (socks, n, why)."""
    need = 2 * WANT + 1000
    if int(open("/proc/sys/fs/nr_open").read()) < need:
        with open("/proc/sys/fs/nr_open", "w") as f:
            f.write(str(need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SRV, PORT))
    ls.listen(4096)
    socks = [ls]
    n, why = 0, ""
    t0 = time.monotonic()
    while n < WANT:
        avail = meminfo("MemAvailable")
        if avail < MIN_AVAIL_KB:
            why = f"MemAvailable {avail // 1024} MiB after {n} connections"
            break
        k = min(CHUNK, WANT - n)
        for i in range(n, n + k):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.bind(client_addr(i))
            c.connect((SRV, PORT))
            socks.append(c)
        for _ in range(k):
            socks.append(ls.accept()[0])
        n += k
    dt = time.monotonic() - t0
    t.diag(f"{n} connections ({2 * n} sockets) in {dt:.1f} s; MemAvailable "
           f"now {meminfo('MemAvailable') // 1024} MiB of "
           f"{meminfo('MemTotal') // 1024} MiB")
    return socks, n, why


def expected(n):
    """The (local, remote) pairs both ends of n connections show."""
    want = set()
    for i in range(n):
        a, p = client_addr(i)
        c, s = f"{a}:{p}", f"{SRV}:{PORT}"
        want.add((c, s))
        want.add((s, c))
    return want


def read_chunks(size):
    """The file read with read(fd, size) until EOF: (bytes, reads, s)."""
    fd = os.open(PROC, os.O_RDONLY)
    out, reads = [], 0
    t0 = time.monotonic()
    try:
        while True:
            b = os.read(fd, size)
            reads += 1
            if not b:
                break
            out.append(b)
    finally:
        os.close(fd)
    return b"".join(out), reads, time.monotonic() - t0


def try_read():
    """errno name of open()/read(), or "read N bytes"."""
    try:
        fd = os.open(PROC, os.O_RDONLY)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    try:
        return f"read {len(os.read(fd, 65536))} bytes"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        os.close(fd)


def userns_read(path, netns):
    """cat `path` as root of a new user namespace made by nobody (and in
    a new network namespace it then owns, if netns): (rc, out, err), or
    None when this kernel lets no unprivileged user make one."""
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", "unshare", "-Ur", "true"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode:
        return None
    # The network namespace is made after the uid map is written (as
    # container runtimes do): proc_net_ns_init() gives the namespace's
    # /proc/net to the user namespace's root only if it is mapped then.
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
           "unshare", "-Ur"] + (["unshare", "-n"] if netns else []) + ["cat", path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr.strip()


def main(t):
    ttmod.load()
    log = ttmod.KernelLog()
    socks, n, why = open_conns(t)
    t.ok(n > 0 and (n == WANT or why),
         f"{n} connections ({2 * n} sockets) open"
         + (f" (fewer than {WANT}: {why})" if why else ""),
         diag=why)
    if why:
        t.diag(f"reduced to {n} connections: {why}")

    # who may read
    t.eq(privs.as_nobody(try_read), "EACCES",
         "nobody (uid 65534): open /proc/net/tcptimeo -> EACCES")
    res = privs.without_cap(privs.CAP_NET_ADMIN, lambda: {
        "uid": os.getuid(), "capeff": privs.cap_effective(), "r": try_read()})
    t.ok(res["uid"] == 0 and not res["capeff"] & (1 << privs.CAP_NET_ADMIN)
         and res["r"] == "EPERM",
         "uid 0 without CAP_NET_ADMIN: open -> EPERM",
         diag=f"{res['r']} (uid {res['uid']}, CapEff {res['capeff']:#x})")
    own = userns_read("/proc/self/net/tcptimeo", True) if shutil.which("setpriv") else None
    if own is None:
        t.skip("user namespace root reads its own netns's view",
               "no unprivileged user namespaces here")
        t.skip("user namespace root cannot read the initial netns's view",
               "no unprivileged user namespaces here")
    else:
        t.ok(own[0] == 0 and own[1] == HEADER + "\n",
             "root of a user namespace (made by nobody) reads the view of the "
             "network namespace it owns: the header, no connection",
             diag=f"rc {own[0]}: {own[1][:300]!r} {own[2]}")
        init = userns_read(f"/proc/{os.getpid()}/net/tcptimeo", False)
        t.ok(init[0] != 0 and "Permission denied" in init[2] and not init[1],
             "root of that user namespace: the initial netns's file -> EACCES",
             diag=f"rc {init[0]}: {init[1][:300]!r} {init[2]}")

    # root: the reference read, 1 MiB read()s
    big, reads, dt = read_chunks(1 << 20)
    lines = big.decode().splitlines()
    t.diag(f"read {len(big)} bytes, {len(lines)} lines in {reads} read()s "
           f"of 1 MiB: {dt:.2f} s")
    want = expected(n)
    view = [tuple(ln.split()[:2]) for ln in lines[1:]]
    ours = [v for v in view if v in want]
    t.ok(lines[:1] == [HEADER] and len(ours) == len(want) and set(ours) == want,
         f"root: the header, then one line per socket: {len(ours)} of "
         f"{len(want)} sockets, each once",
         diag=f"header {lines[:1]}; {len(ours)} ours, {len(set(ours))} distinct, "
              f"{len(want - set(ours))} missing, {len(view)} lines in all")

    for size in (4096, 1000):
        data, r, dt = read_chunks(size)
        t.diag(f"read({size}): {r} read()s, {dt:.2f} s")
        t.ok(data == big, f"{size}-byte read()s: the same bytes as 1 MiB reads",
             diag=f"{len(data)} vs {len(big)} bytes")

    out = os.path.abspath("dd.out")
    t0 = time.monotonic()
    # the first DD_BYTES (thousands of records over many buckets): byte by
    # byte through all 100,000 lines takes minutes under TCG
    p = subprocess.run(["dd", f"if={PROC}", f"of={out}", "bs=1",
                        f"count={DD_BYTES}", "status=none"],
                       capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    t.diag(f"dd bs=1: {len(data)} bytes in {dt:.2f} s")
    t.ok(p.returncode == 0 and data == big[:DD_BYTES],
         f"dd bs=1 count={DD_BYTES} (a resume at every record): the same bytes",
         diag=f"rc {p.returncode} {p.stderr}; {len(data)} vs "
              f"{len(big[:DD_BYTES])} bytes")

    fd = os.open(PROC, os.O_RDONLY)
    bad = []
    try:
        for off in (0, 1, len(big) // 3, len(big) // 2 + 7, len(big) - 100,
                    len(big), len(big) + 10):
            got = os.pread(fd, 4096, off)
            if got != big[off:off + len(got)] or (not got and off < len(big)):
                bad.append(f"at {off}: {got[:80]!r} vs {big[off:off + 80]!r}")
    finally:
        os.close(fd)
    t.ok(not bad, "pread() at offsets (a new walk from the start each): "
         "the same bytes", diag="\n".join(bad))

    new = log.new()
    hits = [m for m in new if any(s in m for s in STALL)]
    t.diag(f"kernel log: {len(new)} new lines, {len(hits)} with a stall, "
           "lockup or BUG")
    t.ok(not hits, "kernel log: no RCU stall, soft lockup, hung task or BUG",
         diag="\n".join(hits[:20]))

    for s in socks:
        s.close()


Tap.run(main, PLAN)
