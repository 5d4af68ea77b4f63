"""Network namespaces, a veth pair between two of them, a dead peer, `ss`.

    pair = Pair()                 # namespaces <pfx>c (client) and <pfx>s (server)
    pair.cli.name, pair.cli.inode, pair.addr("srv", 4) -> "10.77.0.2"
    pair.kill("srv")              # the server's node "loses power"
    ss_conns(pair.cli)            # [{state, local, peer, timer}, ...]
    pair.delete()

The dead peer follows ../shared/notes/half-open-testing.md: everything is
dropped at the vanished host (ingress matchall drop + egress netem loss
100% on ITS interface), the survivor's link stays up, and each side's
neighbour entry for the other is pinned permanent so the survivor sees
ETIMEDOUT (not EHOSTUNREACH), as behind a router.
"""
import os
import re
import subprocess
import time

import undo
from ttmod import sh, modprobe

_seq = 0


def _unique(prefix):
    global _seq
    _seq += 1
    return f"{prefix}{os.getpid() % 100000}{_seq}"


class Netns:
    def __init__(self, name=None):
        self.name = name or _unique("tt")
        sh(["ip", "netns", "add", self.name])
        undo.add(("netns", self.name), self.delete)
        self.ip("link", "set", "lo", "up")
        self.inode = os.stat(f"/run/netns/{self.name}").st_ino

    def exec_cmd(self, cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def run(self, cmd, check=True, timeout=60):
        return sh(self.exec_cmd(cmd), check=check, timeout=timeout)

    def ip(self, *args, check=True):
        return sh(["ip", "-n", self.name] + list(args), check=check)

    def ip_batch(self, lines):
        """Several ip commands in one process (ip -batch): much cheaper
        than one exec each in a TCG guest."""
        p = subprocess.run(["ip", "-n", self.name, "-batch", "-"],
                           input="\n".join(lines) + "\n", capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"ip -n {self.name} -batch: {p.stderr.strip()}")

    def tc(self, *args, check=True):
        return self.run(["tc"] + list(args), check=check)

    def sysctl(self, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        self.run(["sh", "-c", f"echo '{value}' > {path}"])

    def sysctl_get(self, key):
        path = "/proc/sys/" + key.replace(".", "/")
        return self.run(["cat", path]).stdout.strip()

    def delete(self):
        sh(["ip", "netns", "del", self.name], check=False)
        undo.drop(("netns", self.name))


class Pair:
    """Two namespaces joined by a veth, IPv4 and IPv6 on both ends.

    Side "cli": 10.77.0.1 and fd77::1 (+ .5 and ::5 as extra addresses);
    side "srv": 10.77.0.2 and fd77::2 (+ .6 and ::6). Extra addresses let
    a test pick a peer inside or outside a CIDR. Neighbours are pinned.
    """

    ADDRS = {
        "cli": {4: ["10.77.0.1", "10.77.0.5"], 6: ["fd77::1", "fd77::5"]},
        "srv": {4: ["10.77.0.2", "10.77.0.6"], 6: ["fd77::2", "fd77::6"]},
    }

    def __init__(self):
        modprobe("veth")
        self.ns = {"cli": Netns(_unique("ttc")), "srv": Netns(_unique("tts"))}
        self.cli, self.srv = self.ns["cli"], self.ns["srv"]
        self.ifname = {"cli": _unique("vc"), "srv": _unique("vs")}
        sh(["ip", "link", "add", self.ifname["cli"], "netns", self.cli.name,
            "type", "veth", "peer", "name", self.ifname["srv"],
            "netns", self.srv.name])
        for side, ns in self.ns.items():
            dev = self.ifname[side]
            ns.ip_batch([f"addr add {a}/24 dev {dev}" for a in self.ADDRS[side][4]]
                        + [f"addr add {a}/64 dev {dev} nodad"
                           for a in self.ADDRS[side][6]]
                        + [f"link set {dev} up"])
        self.mac = {s: self._mac(s) for s in self.ns}
        for side in self.ns:
            self.pin_neighbours(side)
        self.dead = set()

    def _mac(self, side):
        out = self.ns[side].ip("-o", "link", "show", self.ifname[side]).stdout
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    @staticmethod
    def other(side):
        return "srv" if side == "cli" else "cli"

    def addr(self, side, family, i=0):
        return self.ADDRS[side][family][i]

    def pin_neighbours(self, side):
        """On `side`, a permanent neighbour entry for each address of the other."""
        peer = self.other(side)
        self.ns[side].ip_batch(
            [f"neigh replace {a} lladdr {self.mac[peer]} dev {self.ifname[side]} "
             "nud permanent" for fam in (4, 6) for a in self.ADDRS[peer][fam]])

    def kill(self, side):
        """The node on `side` vanishes: drop everything at ITS interface."""
        modprobe("sch_ingress", "cls_matchall", "act_gact", "sch_netem")
        ns, dev = self.ns[side], self.ifname[side]
        self.pin_neighbours(self.other(side))
        p = subprocess.run(ns.exec_cmd(["tc", "-batch", "-"]), input=(
            f"qdisc add dev {dev} handle ffff: ingress\n"
            f"filter add dev {dev} parent ffff: matchall action drop\n"
            f"qdisc add dev {dev} root netem loss 100%\n"),
            capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"tc -batch in {ns.name}: {p.stderr.strip()}")
        self.dead.add(side)

    def revive(self, side):
        ns, dev = self.ns[side], self.ifname[side]
        ns.tc("qdisc", "del", "dev", dev, "ingress", check=False)
        ns.tc("qdisc", "del", "dev", dev, "root", check=False)
        self.dead.discard(side)

    def delete(self):
        for ns in self.ns.values():
            ns.delete()


# ---- ss ----

_TIMER = re.compile(r"timer:\((\w+),([^,)]*),(\d+)\)")


def parse_ss_time(s):
    """ss's timer text (e.g. 10sec, 1min5sec, 2.345ms, 345ms) in seconds."""
    m = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d+)ms)?", s.strip())
    if not m:
        raise ValueError(f"cannot parse ss time {s!r}")
    mins, secs, sep, ms = m.groups()
    t = int(mins or 0) * 60 + int(secs or 0)
    if ms:
        t += int(ms) / 1000.0
    return t


def _split_addr(s):
    """'10.0.0.1:80' or '[fd77::1]:80' (or '[::ffff:10.0.0.1]:80')."""
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    if "%" in host:
        host = host.split("%")[0]
    return host, int(port) if port.isdigit() else port


def ss_conns(ns=None, extra=()):
    """TCP sockets (not listeners) seen by `ss -Htno` in netns `ns` (None: here)."""
    cmd = ["ss", "-Htno"] + list(extra)
    p = ns.run(cmd) if ns else sh(cmd)
    out = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        e = {"state": f[0], "local": _split_addr(f[3]),
             "peer": _split_addr(f[4]), "timer": None, "line": line}
        m = _TIMER.search(line)
        if m:
            e["timer"] = (m.group(1), parse_ss_time(m.group(2)), int(m.group(3)))
            e["timer_res"] = ss_time_resolution(m.group(2))
        out.append(e)
    return out


def ss_find(ns, lport=None, rport=None):
    """The connection with that local and/or remote port, or None."""
    for e in ss_conns(ns):
        if lport is not None and e["local"][1] != lport:
            continue
        if rport is not None and e["peer"][1] != rport:
            continue
        return e
    return None


# ss prints jiffies as ms: a timer armed in jiffy J and read in jiffy R
# shows expiry - R, which may be up to one jiffy (10 ms at HZ=100) less
# than the time measured from before J to after R.
JIFFY_SLACK = 0.02


def ss_time_resolution(s):
    """How much ss's timer text may hide: it drops the milliseconds of
    anything from 10 s up ("10sec" is 10.000-10.999 s), not below."""
    return 0.001 if "ms" in s else 1.0


def keepalive_timer_check(ns, lport, rport, idle, since):
    """Read the keepalive timer of a connection whose timer was armed (with
    `idle` seconds) after monotonic time `since`, e.g. taken right before
    connect(). Returns (ok, diag): ok if ss shows a keepalive timer with
    idle - (time from `since` to the end of the ss read) <= left <= idle,
    to ss's resolution.
    The window is measured, not assumed: a busy host widens it by exactly
    the time it took, and a timer armed with another idle is still caught
    as long as the measured window is shorter than the difference."""
    e = ss_find(ns, lport=lport, rport=rport)
    window = time.monotonic() - since
    tm = e and e["timer"]
    res = e["timer_res"] if tm else 0
    ok = bool(tm and tm[0] == "keepalive" and
              idle - window - JIFFY_SLACK <= tm[1] + res and tm[1] <= idle)
    return ok, (f"ss: {e and e['line']}; read {window:.2f} s after connect(), "
                f"so left must be in [{idle - window:.2f}, {idle}] s "
                f"(ss shows it to {res:g} s)")
