#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Smoke test of an installed tcptimeo: do the live rules stamp real
connections? Used by the VM tests 40 (DKMS), 41 (.deb) and 44 (the
Kubernetes init script).

For every live rule (/sys/kernel/tcptimeo/rules, canonical lines) it
builds a loopback connection the rule should match (its first local or
remote port, an address inside its first CIDR added to `lo`, its cgroup),
opens it from a child process placed in that cgroup, reads both ends'
options with getsockopt() and compares them with what the first matching
live rule (in evaluation order) should have stamped over the kernel's
defaults.

    python3 pkgcheck.py --prepare RULES_FILE   # create the cgroups it names
    python3 pkgcheck.py             # one PASS/FAIL/SKIP line per point
    python3 pkgcheck.py --count     # how many points that will print
"""
import ipaddress
import json
import os
import socket
import subprocess
import sys

SYSFS = "/sys/kernel/tcptimeo"
CGROOT = "/sys/fs/cgroup"
OPTS = ("keepalive", "idle", "intvl", "cnt", "user_timeout", "syn_retries")


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def live_rules():
    with open(f"{SYSFS}/rules") as f:
        return [parse_rule(line) for line in f.read().splitlines() if line.strip()]


def parse_rule(line):
    """A canonical rules line (docs/ABI.md, /sys/kernel/tcptimeo/rules)."""
    w = line.split()
    r = {"name": w[0], "line": line, "dir": "any", "lports": [], "rports": [],
         "addrs": [], "cgroup": None, "netns": 0, "opts": {}, "mode": "fill",
         "audit": False}
    i = 1
    while i < len(w):
        k = w[i]
        v = w[i + 1] if i + 1 < len(w) else None
        if k in ("keepalive", "force", "clamp", "audit"):
            if k == "keepalive":
                r["opts"]["keepalive"] = 1
            elif k == "audit":
                r["audit"] = True
            else:
                r["mode"] = k
            i += 1
            continue
        i += 2
        if k == "priority":
            r["priority"] = int(v)
        elif k == "dir":
            r["dir"] = v
        elif k in ("local-port", "remote-port"):
            rng = []
            for part in v.split(","):
                lo, _, hi = part.partition("-")
                rng.append((int(lo), int(hi or lo)))
            r["lports" if k == "local-port" else "rports"] = rng
        elif k == "remote-addr":
            r["addrs"] = [ipaddress.ip_network(c, strict=False) for c in v.split(",")]
        elif k == "cgroup":
            r["cgroup"] = v
        elif k == "netns":
            r["netns"] = int(v)
        elif k in ("idle", "intvl"):
            r["opts"][k] = int(v.removesuffix("s"))      # "7s"
        elif k in ("cnt", "syn-retries"):
            r["opts"][k.replace("-", "_")] = int(v)
        elif k == "user-timeout":                        # "auto", "10s", "1500ms"
            r["opts"]["user_timeout"] = (v if v == "auto" else int(v[:-2]) if v.endswith("ms")
                                         else int(v[:-1]) * 1000)
        elif k == "rto-max":                             # "2s", "1500ms" (6.15+)
            r["rto_max"] = int(v[:-2]) if v.endswith("ms") else int(v[:-1]) * 1000
        else:
            raise ValueError(f"unknown word {k!r} in rule line: {line}")
    return r


def sysctl(name):
    with open(f"/proc/sys/net/ipv4/{name}") as f:
        return int(f.read())


def defaults():
    return {"keepalive": 0, "idle": sysctl("tcp_keepalive_time"),
            "intvl": sysctl("tcp_keepalive_intvl"),
            "cnt": sysctl("tcp_keepalive_probes"), "user_timeout": 0,
            "syn_retries": sysctl("tcp_syn_retries")}


def in_ports(p, ranges):
    return not ranges or any(lo <= p <= hi for lo, hi in ranges)


def cg_below(cg, top):
    return top is None or top == "/" or cg == top or cg.startswith(top.rstrip("/") + "/")


def matches(r, direction, lport, rport, raddr, cgroup):
    if r["dir"] not in ("any", direction) or r["netns"]:
        return False
    if not in_ports(lport, r["lports"]) or not in_ports(rport, r["rports"]):
        return False
    a = ipaddress.ip_address(raddr)
    if r["addrs"] and not any(a.version == n.version and a in n for n in r["addrs"]):
        return False
    return cg_below(cgroup, r["cgroup"])


def expect(rules, direction, lport, rport, raddr, cgroup):
    """(rule name or None, expected options) for one end of a connection."""
    want = defaults()
    for r in rules:
        if not matches(r, direction, lport, rport, raddr, cgroup):
            continue
        if r["audit"]:
            return r["name"], want
        o = dict(r["opts"])
        ut = o.pop("user_timeout", None)
        want.update(o)
        if ut == "auto":
            want["user_timeout"] = (want["idle"] + want["intvl"] * want["cnt"]) * 1000
        elif ut is not None:
            want["user_timeout"] = ut
        if direction == "in":
            # TCP_SYNCNT on an accepted socket is not compared: its
            # SYN-ACKs followed the listener (see tcptimeo(4)).
            want.pop("syn_retries")
        return r["name"], want
    if direction == "in":
        want.pop("syn_retries")
    return None, want


def sockopts(s):
    g = s.getsockopt
    return {"keepalive": g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "idle": g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "intvl": g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            "cnt": g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            "user_timeout": g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            "syn_retries": g(socket.IPPROTO_TCP, socket.TCP_SYNCNT)}


def probe_child(addr, port, cgroup):
    """Runs in a fresh process: join the cgroup, connect, report both ends."""
    if cgroup:
        with open(os.path.join(CGROOT + cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    cli = socket.socket(fam, socket.SOCK_STREAM)
    cli.settimeout(10)
    cli.connect((addr, port))
    acc, _ = srv.accept()
    print(json.dumps({"client": sockopts(cli), "server": sockopts(acc),
                      "cport": cli.getsockname()[1]}))


def cgroup_of_self():
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return "/"


def ensure_cgroup(path):
    if not os.path.ismount(CGROOT) or sh("stat", "-f", "-c", "%T", CGROOT).stdout.strip() != "cgroup2fs":
        sh("mount", "-t", "cgroup2", "none", CGROOT)
    os.makedirs(CGROOT + path, exist_ok=True)


def prepare(rules_file):
    """Before `apply`: create the cgroups a rules file names, so that a
    process in each can show its rule stamping (a rule whose cgroup does
    not exist is live but matches nothing: 36-cgroup-absent)."""
    for line in open(rules_file):
        w = line.split("#", 1)[0].split()
        if "cgroup" in w[1:-1]:
            ensure_cgroup(w[w.index("cgroup", 1) + 1])


def plan_for(rules):
    return 2 * sum(1 for r in rules if not r["netns"]) + sum(1 for r in rules if r["netns"])


def run(ok, skip, diag):
    sh("ip", "link", "set", "lo", "up")
    rules = live_rules()
    for n, r in enumerate(rules):
        if r["netns"]:
            skip(f"rule {r['name']}: a connection it matches", "netns selector: not probed")
            continue
        direction = "out" if r["dir"] in ("out", "any") else "in"
        ports = r["lports"] if direction == "in" else r["rports"]
        port = ports[0][0] if ports else 47000 + n
        if direction == "in" and r["rports"]:
            diag(f"rule {r['name']}: dir in with remote-port: not probed exactly")
        addr = "127.0.0.1"
        if r["addrs"]:
            net = r["addrs"][0]
            host = net.network_address if net.prefixlen == net.max_prefixlen else next(net.hosts())
            addr = str(host)
            sh("ip", "addr", "add", f"{addr}/{net.max_prefixlen}", "dev", "lo")
        if r["cgroup"]:
            ensure_cgroup(r["cgroup"])
        p = subprocess.run([sys.executable, __file__, "--probe", addr, str(port), r["cgroup"] or ""],
                           capture_output=True, text=True, timeout=30)
        if p.returncode:
            ok(False, f"rule {r['name']}: loopback connection to {addr}:{port}", p.stderr.strip())
            ok(False, f"rule {r['name']}: the other end", "no connection")
            continue
        got = json.loads(p.stdout)
        cg = r["cgroup"] or cgroup_of_self()
        ends = (("client", "out", got["cport"], port),
                ("server", "in", port, got["cport"]))
        for end, d, lport, rport in ends:
            name, want = expect(rules, d, lport, rport, addr, cg)
            have = {k: got[end][k] for k in want}
            ok(have == want,
               f"rule {r['name']}: {end} end ({d}, {addr}:{port}) stamped by {name or 'no rule'}: "
               + " ".join(f"{k}={v}" for k, v in have.items()),
               f"expected {want}\ngot      {have}\nrule: {r['line']}")
        if r["addrs"]:
            sh("ip", "addr", "del", f"{addr}/{r['addrs'][0].max_prefixlen}", "dev", "lo")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        probe_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 2 and sys.argv[1] == "--prepare":
        prepare(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--count":
        print(plan_for(live_rules()))
    else:
        # One line per point for the caller's TAP: "PASS<TAB>what",
        # "FAIL<TAB>what" (then "#" diagnostics), "SKIP<TAB>what<TAB>why".
        failed = []

        def _ok(c, d, why=None):
            print(f"{'PASS' if c else 'FAIL'}\t{d}")
            if not c:
                failed.append(d)
                if why:
                    print("\n".join("# " + x for x in str(why).splitlines()))

        run(_ok, lambda d, why: print(f"SKIP\t{d}\t{why}"), lambda m: print("# " + m))
        sys.exit(1 if failed else 0)
