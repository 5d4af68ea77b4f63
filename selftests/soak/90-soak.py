#!/usr/bin/env python3
# timeout: 1500
# SPDX-License-Identifier: GPL-2.0
"""Soak (make soak): TCP churn while rules churn, for TCPTIMEO_SOAK_MIN
minutes (default 10) in one VM boot, meant for the debug kernel.

Three client network namespaces, each joined to a server namespace by a
veth pair (IPv4 and IPv6). Echo servers listen dual-stack (IPv4 clients
arrive v4-mapped) on ports 7000 and 7001, in cgroups /soak/g0 and
/soak/g1; one client worker per (client netns, cgroup /soak/g0../soak/g3)
opens connection after connection (some with a bound local port), sends
1-3 rounds of random payload with its SHA-256, the server checks it and
echoes it with its own hash, the client checks both; each worker also
keeps two long-lived connections doing a round every 2 s (what
apply_existing finds). Meanwhile this process, every few ms: creates,
changes (every attribute of docs/ABI.md: ports, CIDRs, cgroup, netns,
options, mode, audit; sometimes invalid, expecting EINVAL/ERANGE/ENOENT),
enables, disables and removes rules in configfs; writes 1 to
apply_existing in 3 % of the steps; reads the live table and
/proc/net/tcptimeo now and then; and every minute removes every rule,
rmmods and insmods the module.

Checks at the end: every configfs/sysfs operation returned what it
should; every reload worked; every worker completed connections; no
payload or hash mismatch anywhere, no connection error; the servers
served every connection the clients made; the module stamped sockets;
the count of allocated TCP sockets (/proc/net/sockstat alloc) is back to
its start; the kmalloc caches' object count (after shrinking every
cache, which also empties KASAN's quarantine) is back to its start within
SLAB_TOLERANCE; the module unloads. The harness adds the kernel log scan
and kmemleak's final scans (selftests/vm/README.md).
"""
import argparse
import errno
import hashlib
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import cgroup  # noqa: E402
import ttmod  # noqa: E402
from tap import Tap  # noqa: E402

NCLIENT_NS = 3
NCGROUPS = 4
PORTS = (7000, 7001)
SERVER_NS = "soaksrv"
RELOAD_EVERY = 60.0
MAX_RULES = 12
# kmalloc-* objects allowed above the start once everything stopped (all
# caches shrunk): the kernel's own (per-CPU slabs, neighbour and route
# entries of the namespaces, ...) vary by a few hundred (measured: +116
# after 1.5 min on 6.12.95, +365 after 10 min on the debug kernel). What
# the module allocated is freed at the final rmmod or is a kmemleak
# report; one object leaked by the kernel per connection or per rule
# operation would be thousands (each minute makes hundreds of both).
SLAB_TOLERANCE = int(os.environ.get("TCPTIMEO_SOAK_SLAB_TOLERANCE", "1000"))
WORK = "/tmp/soak"
# Every writable attribute but enabled (docs/ABI.md).
ATTRS = ["priority", "direction", "local_ports", "remote_ports", "remote_addrs",
         "cgroup", "netns", "keepalive", "keepidle", "keepintvl", "keepcnt",
         "user_timeout", "syn_retries", "mode", "audit"]
BAD = (errno.EINVAL, errno.ERANGE)


def client_ns(i):
    return f"soakc{i}"


def v4(i, side):
    return f"10.77.{i}.{1 if side == 'srv' else 2}"


def v6(i, side):
    return f"fd77:{i}::{1 if side == 'srv' else 2}"


# ---------------------------------------------------------------- workers

def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def join_cgroup(path):
    """Called before exec (ip netns exec mounts a sysfs without cgroup2)."""
    with open(f"/sys/fs/cgroup{path}/cgroup.procs", "w") as f:
        f.write(f"{os.getpid()}\n")


def check_cgroup(path):
    with open("/proc/self/cgroup") as f:
        now = f.read().strip()
    if now != "0::" + path:
        raise RuntimeError(f"in cgroup {now!r}, not {path!r}")


def server_main(a):
    """Dual-stack echo server: thread per connection; counts to a.out."""
    check_cgroup(a.cgroup)
    st = {"accepted": 0, "served": 0, "rounds": 0, "bytes": 0,
          "bad_hash": 0, "errors": 0, "error_samples": []}
    lock = threading.Lock()
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", a.port))
    ls.listen(256)
    stop = threading.Event()

    def on_term(*_):
        stop.set()
    signal.signal(signal.SIGTERM, on_term)

    def serve(c):
        ok = False
        try:
            c.settimeout(120)
            while True:
                head = c.recv(4, socket.MSG_WAITALL)
                if not head:
                    ok = True       # the client's orderly end
                    break
                if len(head) != 4:
                    raise ConnectionError("short header")
                (n,) = struct.unpack("!I", head)
                data = recv_exact(c, n)
                digest = recv_exact(c, 32)
                good = hashlib.sha256(data).digest() == digest
                with lock:
                    st["rounds"] += 1
                    st["bytes"] += n
                    if not good:
                        st["bad_hash"] += 1
                c.sendall(data + hashlib.sha256(data).digest())
        except (OSError, ConnectionError) as e:
            with lock:
                st["errors"] += 1
                if len(st["error_samples"]) < 5:
                    st["error_samples"].append(repr(e))
        finally:
            c.close()
            if ok:
                with lock:
                    st["served"] += 1

    ls.settimeout(0.5)
    threads = []
    while not stop.is_set():
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        except OSError:
            if stop.is_set():
                break
            raise
        with lock:
            st["accepted"] += 1
        t = threading.Thread(target=serve, args=(c,), daemon=True)
        t.start()
        threads.append(t)
        threads = [t for t in threads if t.is_alive()]
    ls.close()
    for t in threads:
        t.join(30)
    with open(a.out, "w") as f:
        json.dump(st, f)


def wait_go(a):
    """Say ready, then wait for the driver's go: the end time (epoch)."""
    with open(f"{WORK}/ready-{a.index}-{a.cgroup.rsplit('/', 1)[1]}", "w"):
        pass
    while True:
        try:
            with open(f"{WORK}/go") as f:
                return float(f.read())
        except (OSError, ValueError):
            time.sleep(0.1)


def client_main(a):
    """Connection churn to the server namespace until the go file's time."""
    check_cgroup(a.cgroup)
    a.until = wait_go(a)
    rnd = random.Random(a.seed)
    st = {"conns": 0, "rounds": 0, "bytes": 0, "mismatch": 0, "errors": 0,
          "bound": 0, "v6": 0, "held": 0, "error_samples": []}
    i = a.index
    targets = [(socket.AF_INET, v4(i, "srv")), (socket.AF_INET6, v6(i, "srv"))]

    def round_trip(s):
        n = rnd.choice((1, 100, 1000, 4000, 20000, 65536, rnd.randint(1, 200000)))
        data = rnd.randbytes(n)
        s.sendall(struct.pack("!I", n) + data + hashlib.sha256(data).digest())
        back = recv_exact(s, n)
        digest = recv_exact(s, 32)
        st["rounds"] += 1
        st["bytes"] += n
        if back != data or digest != hashlib.sha256(data).digest():
            st["mismatch"] += 1

    def err(e):
        st["errors"] += 1
        if len(st["error_samples"]) < 5:
            st["error_samples"].append(repr(e))

    def connect():
        fam, addr = rnd.choice(targets)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(120)
        if rnd.random() < 0.3:      # a bound local port: decided at connect
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            for _ in range(20):
                try:
                    s.bind(("" if fam == socket.AF_INET else "::",
                            rnd.randint(20000, 60000)))
                    st["bound"] += 1
                    break
                except OSError:
                    continue
        try:
            s.connect((addr, rnd.choice(PORTS)))
        except OSError:
            s.close()
            raise
        st["v6"] += fam == socket.AF_INET6
        return s

    held = []                       # [socket, next round, retire at]
    while time.time() < a.until:
        now = time.monotonic()
        for h in list(held):
            try:
                if now >= h[2]:
                    h[0].shutdown(socket.SHUT_WR)
                    h[0].recv(1)
                    h[0].close()
                    held.remove(h)
                    st["conns"] += 1
                elif now >= h[1]:
                    round_trip(h[0])
                    h[1] = now + 2
            except (OSError, ConnectionError) as e:
                err(e)
                h[0].close()
                held.remove(h)
        try:
            if len(held) < 2:
                s = connect()
                held.append([s, now + 2, now + rnd.uniform(10, 40)])
                st["held"] += 1
                continue
            s = connect()
            try:
                for _ in range(rnd.randint(1, 3)):
                    round_trip(s)
                s.shutdown(socket.SHUT_WR)
                if s.recv(1):
                    raise ConnectionError("data after the last round")
                st["conns"] += 1
            finally:
                s.close()
        except (OSError, ConnectionError) as e:
            err(e)
            time.sleep(0.05)
    for h in held:
        try:
            h[0].shutdown(socket.SHUT_WR)
            h[0].recv(1)
            st["conns"] += 1
        except (OSError, ConnectionError) as e:
            err(e)
        h[0].close()
    with open(a.out, "w") as f:
        json.dump(st, f)


# ---------------------------------------------------------------- the driver

def sh(*cmd, check=True):
    return ttmod.sh(list(cmd), check=check)


def netns_inode(name):
    return os.stat(f"/run/netns/{name}").st_ino


def setup_net():
    sh("ip", "netns", "add", SERVER_NS)
    sh("ip", "-n", SERVER_NS, "link", "set", "lo", "up")
    for i in range(NCLIENT_NS):
        c = client_ns(i)
        sh("ip", "netns", "add", c)
        sh("ip", "-n", c, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"sv{i}", "netns", SERVER_NS, "type", "veth",
           "peer", "name", f"cl{i}", "netns", c)
        for ns, dev, side in ((SERVER_NS, f"sv{i}", "srv"), (c, f"cl{i}", "cli")):
            sh("ip", "-n", ns, "addr", "add", f"{v4(i, side)}/24", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", f"{v6(i, side)}/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")


def teardown_net():
    for ns in [SERVER_NS] + [client_ns(i) for i in range(NCLIENT_NS)]:
        sh("ip", "netns", "delete", ns, check=False)


def sockstat_alloc():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                w = line.split()
                return int(w[w.index("alloc") + 1])
    return -1


def kmalloc_objects():
    """Shrink every cache (drains KASAN's quarantine), then sum kmalloc-*."""
    for _ in range(2):
        for c in os.listdir("/sys/kernel/slab"):
            try:
                with open(f"/sys/kernel/slab/{c}/shrink", "w") as f:
                    f.write("1")
            except OSError:
                pass
        time.sleep(1)
    per = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if w and w[0].startswith("kmalloc-"):
                per[w[0]] = int(w[1])
    return sum(per.values()), per


def read_stats():
    out = {}
    d = ttmod.SYSFS + "/stats"
    for n in ("stamped_in", "stamped_out", "existing_stamped", "audit_matched"):
        try:
            with open(f"{d}/{n}") as f:
                out[n] = int(f.read())
        except OSError:
            out[n] = 0
    return out


class Churn:
    """Random rule operations through configfs/sysfs; counts and problems."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.rules = []
        self.seq = 0
        self.ops = {}
        self.problems = []
        self.apply_ok = self.apply_bad = 0
        self.reloads = 0
        self.reload_problems = []
        self.stamped = {"stamped_in": 0, "stamped_out": 0,
                        "existing_stamped": 0, "audit_matched": 0}
        self.netns = [0, netns_inode(SERVER_NS)] + \
            [netns_inode(client_ns(i)) for i in range(NCLIENT_NS)]

    def count(self, what):
        self.ops[what] = self.ops.get(what, 0) + 1

    def problem(self, what):
        if len(self.problems) < 20:
            self.problems.append(what)
        else:
            self.problems[-1] = f"... and more (last: {what})"
        self.count("unexpected")

    def write(self, rule, attr, value, want=(0,)):
        rc = ttmod.write_raw(f"{ttmod.RULES}/{rule}/{attr}", value + "\n")
        self.count(f"write {attr}")
        if rc not in want:
            self.problem(f"{rule}/{attr} <- {value!r}: {errno.errorcode.get(rc, rc)}, "
                         f"expected {[errno.errorcode.get(w, w) for w in want]}")
        return rc

    def ports(self):
        r = self.rnd
        return r.choice(["", "7000", "7001", "7000-7001", "1-65535",
                         "20000-60000", "7000,7001,20000-30000",
                         f"{r.randint(1, 65535)}",
                         ",".join(str(r.randint(1, 65535)) for _ in range(r.randint(1, 5)))])

    def addrs(self):
        r = self.rnd
        i = r.randrange(NCLIENT_NS)
        pool = ["", "10.77.0.0/16", f"10.77.{i}.0/24", f"10.77.{i}.1", f"10.77.{i}.2",
                "0.0.0.0/0", "::/0", "fd77::/16", f"fd77:{i}::/64", f"fd77:{i}::2",
                "192.0.2.0/24", "2001:db8::/32"]
        return ",".join(sorted(set(r.choice(pool[1:]) for _ in range(r.randint(1, 3))))) \
            if r.random() < 0.7 else ""

    def valid(self, attr):
        r = self.rnd
        return {
            "priority": lambda: str(r.choice((0, 1, 10, 1000, 65535, r.randint(0, 65535)))),
            "direction": lambda: r.choice(("in", "out", "any")),
            "local_ports": self.ports,
            "remote_ports": self.ports,
            "remote_addrs": self.addrs,
            "cgroup": lambda: r.choice(("", "/soak", "/soak/g0", "/soak/g1",
                                        "/soak/g2", "/soak/g3")),
            "netns": lambda: str(r.choice(self.netns)),
            "keepalive": lambda: r.choice(("0", "1")),
            # Long enough that a live peer never times out, even under TCG.
            "keepidle": lambda: str(r.choice((0, 10, 30, 7200, r.randint(10, 32767)))),
            "keepintvl": lambda: str(r.choice((0, 5, 75, r.randint(5, 32767)))),
            "keepcnt": lambda: str(r.choice((0, 2, 9, r.randint(2, 127)))),
            "user_timeout": lambda: r.choice(("0", "auto", "30000", str(r.randint(30000, 2147483647)))),
            "syn_retries": lambda: str(r.choice((0, 4, 6, r.randint(4, 127)))),
            "mode": lambda: r.choice(("fill", "force", "clamp")),
            "audit": lambda: r.choice(("0", "1", "0", "0")),
        }[attr]()

    # Malformed (EINVAL) or out of range (ERANGE): either will do here.
    INVALID = [
        ("priority", "65536", BAD), ("priority", "-1", BAD),
        ("direction", "sideways", BAD), ("local_ports", "0", BAD),
        ("remote_ports", "70000", BAD), ("remote_ports", "9-5", BAD),
        ("remote_addrs", "10.77.0.1/8", BAD), ("remote_addrs", "300.1.1.1", BAD),
        ("cgroup", "/soak/none", (errno.ENOENT,)), ("keepidle", "32768", BAD),
        ("keepcnt", "128", BAD), ("mode", "maybe", BAD),
        ("user_timeout", "soon", BAD), ("enabled", "2", BAD),
    ]

    def step(self):
        r = self.rnd
        x = r.random()
        if x < 0.03:
            rc = ttmod.write_raw(ttmod.SYSFS + "/apply_existing", "1\n")
            if rc:
                self.apply_bad += 1
                self.problem(f"apply_existing: {errno.errorcode.get(rc, rc)}")
            else:
                self.apply_ok += 1
        elif x < 0.04:
            for p in (ttmod.SYSFS + "/rules", "/proc/net/tcptimeo"):
                try:
                    with open(p) as f:
                        f.read()
                    self.count("read " + os.path.basename(p))
                except OSError as e:
                    self.problem(f"read {p}: {e}")
        elif x < 0.10 or not self.rules:
            if len(self.rules) >= MAX_RULES:
                return self.remove(r.choice(self.rules))
            self.seq += 1
            name = f"soak-{self.seq}"
            try:
                os.mkdir(f"{ttmod.RULES}/{name}")
                self.rules.append(name)
                self.count("mkdir")
            except OSError as e:
                self.problem(f"mkdir {name}: {e}")
                return
            for attr in r.sample(ATTRS, r.randint(2, 8)):
                self.write(name, attr, self.valid(attr))
            if r.random() < 0.7:
                self.write(name, "enabled", "1")
        elif x < 0.16:
            self.remove(r.choice(self.rules))
        elif x < 0.26:
            self.write(r.choice(self.rules), "enabled", r.choice(("0", "1")))
        elif x < 0.30:
            attr, value, want = r.choice(self.INVALID)
            self.write(r.choice(self.rules), attr, value, want=want)
        else:
            attr = r.choice(ATTRS)
            self.write(r.choice(self.rules), attr, self.valid(attr))

    def remove(self, name):
        try:
            os.rmdir(f"{ttmod.RULES}/{name}")
            self.count("rmdir")
        except OSError as e:
            self.problem(f"rmdir {name}: {e}")
        self.rules.remove(name)

    def remove_all(self):
        for name in list(self.rules):
            self.remove(name)
        left = os.listdir(ttmod.RULES) if os.path.isdir(ttmod.RULES) else []
        if left:
            self.problem(f"rule directories left: {left}")

    def reload(self):
        self.remove_all()
        for k, v in read_stats().items():
            self.stamped[k] += v
        for attempt in range(20):
            p = ttmod.unload(check=False)
            if p.returncode == 0:
                break
            time.sleep(0.25)
        else:
            self.reload_problems.append(f"rmmod: {p.stderr.strip()}")
            return False
        p = sh("insmod", ttmod.KO, check=False)
        if p.returncode:
            self.reload_problems.append(f"insmod: {p.stderr.strip()}")
            return False
        self.reloads += 1
        return True


def spawn(ns, cg, role, extra):
    cmd = ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
           "--role", role, "--cgroup", cg] + extra
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: join_cgroup(cg))


def main(t):
    minutes = float(os.environ.get("TCPTIMEO_SOAK_MIN", "10"))
    seed = int(os.environ.get("TCPTIMEO_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    t.diag(f"soak: {minutes:g} min, seed {seed} (TCPTIMEO_SEED repeats it)")
    os.makedirs(WORK, exist_ok=True)
    cgroup.ensure_mounted()
    for k in range(NCGROUPS):
        cgroup.create(f"/soak/g{k}")
    setup_net()
    ttmod.load()
    t.ok(ttmod.loaded() and os.path.isdir(ttmod.RULES),
         f"setup: module loaded, {NCLIENT_NS} client netns + 1 server netns, "
         f"{NCGROUPS} cgroups")

    for f in os.listdir(WORK):
        os.unlink(os.path.join(WORK, f))
    base_alloc = sockstat_alloc()
    base_kmalloc, base_per = kmalloc_objects()
    t.diag(f"start: TCP sockets allocated {base_alloc}, kmalloc objects {base_kmalloc}")

    t_spawn = time.time()
    servers = []
    for n, port in enumerate(PORTS):
        out = f"{WORK}/server-{port}.json"
        servers.append((out, spawn(SERVER_NS, f"/soak/g{n}", "server",
                                   ["--port", str(port), "--out", out])))
    deadline = time.time() + 120
    while time.time() < deadline:
        p = sh("ip", "netns", "exec", SERVER_NS, "ss", "-Htln", check=False)
        if all(f":{port}" in p.stdout for port in PORTS):
            break
        time.sleep(0.5)
    clients = []
    for i in range(NCLIENT_NS):
        for k in range(NCGROUPS):
            out = f"{WORK}/client-{i}-{k}.json"
            clients.append((out, i, k, spawn(client_ns(i), f"/soak/g{k}", "client",
                                             ["--index", str(i), "--seed",
                                              str(rnd.randrange(1 << 30)), "--out", out])))

    # The clock starts when every worker is up (starting a dozen Pythons
    # under TCG takes a minute and more).
    deadline = time.time() + 600
    while time.time() < deadline and \
            len([f for f in os.listdir(WORK) if f.startswith("ready-")]) < len(clients):
        time.sleep(0.5)
    t0 = time.time()
    until = t0 + minutes * 60
    with open(f"{WORK}/go.tmp", "w") as f:
        f.write(f"{until}\n")
    os.rename(f"{WORK}/go.tmp", f"{WORK}/go")
    t.diag(f"{len(clients)} workers up in {t0 - t_spawn:.0f} s")

    churn = Churn(rnd)
    # Every minute, and at least once in a shorter soak.
    next_reload = time.monotonic() + min(RELOAD_EVERY, minutes * 30)
    last_report = time.monotonic()
    while time.time() < until:
        if time.monotonic() >= next_reload:
            r0 = time.monotonic()
            churn.reload()
            # On the minute: a reload's own time (20 s and more under
            # KASAN) does not stretch the period.
            next_reload = max(next_reload + RELOAD_EVERY, time.monotonic() + 1)
            t.diag(f"{(time.time() - t0) / 60:.1f} min: reload {churn.reloads} "
                   f"took {time.monotonic() - r0:.1f} s; "
                   f"{sum(churn.ops.values())} rule operations, "
                   f"{churn.apply_ok} apply_existing")
            last_report = time.monotonic()
        churn.step()
        time.sleep(rnd.uniform(0.002, 0.010))
    churn.remove_all()

    # Clients stop by themselves at `until`; then the servers.
    for out, i, k, p in clients:
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for out, p in servers:
        p.send_signal(signal.SIGTERM)
    for out, p in servers:
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    elapsed = time.time() - t0
    _ = last_report

    ops = sum(churn.ops.values())
    t.ok(not churn.problems and ops > 0,
         f"{ops} rule operations in {elapsed / 60:.1f} min, each answered as "
         f"expected", diag=lambda: "\n".join(churn.problems) + "\n" + json.dumps(churn.ops))
    t.diag("operations: " + json.dumps(churn.ops, sort_keys=True))
    t.ok(churn.apply_ok > 0 and churn.apply_bad == 0,
         f"{churn.apply_ok} writes of 1 to apply_existing succeeded")
    want_reloads = max(1, int(minutes * 60 // RELOAD_EVERY) - 1)
    t.ok(not churn.reload_problems and churn.reloads >= want_reloads,
         f"{churn.reloads} times: every rule removed, rmmod, insmod",
         diag="\n".join(churn.reload_problems) or f"wanted {want_reloads} or more")

    cs = []
    for out, i, k, p in clients:
        try:
            with open(out) as f:
                cs.append((i, k, json.load(f)))
        except (OSError, ValueError) as e:
            cs.append((i, k, {"missing": str(e), "conns": 0, "rounds": 0, "bytes": 0,
                              "mismatch": 0, "errors": 1, "error_samples": [str(e)]}))
    ss = []
    for out, p in servers:
        try:
            with open(out) as f:
                ss.append(json.load(f))
        except (OSError, ValueError) as e:
            ss.append({"missing": str(e), "accepted": 0, "served": 0, "rounds": 0,
                       "bytes": 0, "bad_hash": 0, "errors": 1, "error_samples": [str(e)]})
    conns = sum(c["conns"] for _, _, c in cs)
    rounds = sum(c["rounds"] for _, _, c in cs)
    nbytes = sum(c["bytes"] for _, _, c in cs)
    idle = [f"netns {i} cgroup g{k}" for i, k, c in cs if c["conns"] == 0]
    t.ok(not idle and conns > 0,
         f"{conns} connections ({rounds} rounds, {nbytes / 1e6:.1f} MB) from all "
         f"{len(cs)} (netns, cgroup) workers",
         diag=f"no connection from: {', '.join(idle)}")
    for i, k, c in cs:
        t.diag(f"netns {i} cgroup g{k}: {c.get('conns')} conns, {c.get('rounds')} rounds, "
               f"{c.get('bound')} bound, {c.get('v6')} IPv6, {c.get('held')} held, "
               f"{c.get('errors')} errors")
    mism = sum(c["mismatch"] for _, _, c in cs)
    bad_hash = sum(s["bad_hash"] for s in ss)
    t.ok(mism == 0 and bad_hash == 0 and rounds > 0,
         f"payload integrity: every echoed payload and hash matched "
         f"({mism} client, {bad_hash} server mismatches)")
    errs = sum(c["errors"] for _, _, c in cs) + sum(s["errors"] for s in ss)
    t.ok(errs == 0, f"no connection error ({errs})",
         diag=lambda: "\n".join(e for c in [c for _, _, c in cs] + ss
                                for e in c.get("error_samples", [])))
    served = sum(s["served"] for s in ss)
    accepted = sum(s["accepted"] for s in ss)
    t.ok(served == conns and accepted >= conns,
         f"connections counted: clients completed {conns}, servers accepted "
         f"{accepted} and served {served}")

    for k, v in read_stats().items():
        churn.stamped[k] += v
    st = churn.stamped
    t.ok(st["stamped_in"] > 0 and st["stamped_out"] > 0,
         f"the rules stamped: {st['stamped_in']} accepted, {st['stamped_out']} "
         f"connected, {st['existing_stamped']} existing, {st['audit_matched']} audited")

    # Closed sockets are freed after RCU; give them time.
    alloc = sockstat_alloc()
    end = time.time() + 60
    while alloc > base_alloc and time.time() < end:
        time.sleep(1)
        alloc = sockstat_alloc()
    t.ok(alloc <= base_alloc, f"TCP sockets allocated back to the start: "
         f"{alloc} (start {base_alloc})")

    # The same state as at the start: no rule, the module freshly loaded.
    churn.reload()
    now_kmalloc, now_per = kmalloc_objects()
    grew = sorted(((now_per.get(c, 0) - base_per.get(c, 0), c) for c in now_per),
                  reverse=True)[:6]
    t.ok(now_kmalloc - base_kmalloc <= SLAB_TOLERANCE,
         f"kmalloc objects back to the start within {SLAB_TOLERANCE}: "
         f"{now_kmalloc} (start {base_kmalloc}, {now_kmalloc - base_kmalloc:+d})",
         diag=lambda: "most grown: " + ", ".join(f"{c} {d:+d}" for d, c in grew))
    t.diag("kmalloc caches most grown: " + ", ".join(f"{c} {d:+d}" for d, c in grew))

    p = ttmod.unload(check=False)
    t.ok(p.returncode == 0, "rmmod tcptimeo at the end", diag=p.stderr)
    teardown_net()
    cgroup.remove("/soak")


def parse_role():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("server", "client"))
    ap.add_argument("--port", type=int)
    ap.add_argument("--index", type=int)
    ap.add_argument("--cgroup")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out")
    return ap.parse_args()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        a = parse_role()
        (server_main if a.role == "server" else client_main)(a)
        sys.exit(0)
    Tap.run(main, plan=12)
