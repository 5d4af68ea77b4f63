"""Helpers for the issue-5 tests (selftests/5x-*): existing connections,
clamp, audit, attribution, the per-socket view, dead-peer abort.

    conns = open_many(cli, srv, lid, 4, "10.77.0.2", 7001, 1000)
    view = proc_view(pair.cli)            # [{local, remote, state, ...}]
    fams = parse_prometheus(text)         # strict text-format 0.0.4 reader
    stat("existing_stamped"), rule_ctr("r", "timeouts_idle")

Everything here only reads the module's files; writes go through ttmod or
the CLI in the tests themselves.
"""
import json
import os
import re
import subprocess
import time

import ttmod
from netns import Pair

PROC = "/proc/net/tcptimeo"
PROC_FIELDS = ("local", "remote", "state", "cgroup", "keepalive", "idle",
               "intvl", "cnt", "user_timeout", "syn_retries", "rule", "from",
               "rto_max")
# /proc/net/tcptimeo column -> agent.py getsockopt name
AS_OPTS = {"keepalive": "keepalive", "idle": "keepidle", "intvl": "keepintvl",
           "cnt": "keepcnt", "user_timeout": "user_timeout",
           "syn_retries": "syn_retries"}


class OtherPair(Pair):
    """A Pair on other addresses (10.78.0.0/24, fd78::/64)."""
    ADDRS = {
        "cli": {4: ["10.78.0.1", "10.78.0.5"], 6: ["fd78::1", "fd78::5"]},
        "srv": {4: ["10.78.0.2", "10.78.0.6"], 6: ["fd78::2", "fd78::6"]},
    }


def stat(name):
    return int(ttmod.sysfs_get("stats/" + name))


def stats(*names):
    return {n: stat(n) for n in names}


def rule_ctr(rule, name):
    return int(ttmod.read(os.path.join(ttmod.RULES, rule, name)))


def open_many(cli, srv, lid, family, addr, port, n, opts=None, chunk=250):
    """n connections, connect() and accept() in chunks issued at once.
    Returns [(client id, server id)]."""
    out = []
    while len(out) < n:
        k = min(chunk, n - len(out))
        srv.send("accept_many", id=lid, n=k, timeout=60)
        cli.send("connect_many", family=family, addr=addr, port=port, n=k,
                 opts=opts)
        c = cli.reply(read_timeout=300)["ids"]
        a = srv.reply(read_timeout=300)["ids"]
        out += list(zip(c, a))
    return out


def parse_proc(text):
    lines = text.splitlines()
    if not lines or lines[0].split() != list(PROC_FIELDS):
        raise ValueError(f"bad header {lines[:1]!r}")
    out = []
    for line in lines[1:]:
        f = line.split()
        if len(f) != len(PROC_FIELDS):
            raise ValueError(f"bad line {line!r}")
        e = dict(zip(PROC_FIELDS, f))
        for k in ("cgroup", "keepalive", "idle", "intvl", "cnt",
                  "user_timeout", "syn_retries"):
            e[k] = int(e[k])
        # TCP_RTO_MAX_MS (6.15+) in ms; "-" (None) where the kernel has none
        e["rto_max"] = int(e["rto_max"]) if e["rto_max"].isdigit() else None
        out.append(e)
    return out


def proc_view(ns=None):
    """/proc/net/tcptimeo as read from inside netns `ns` (None: here)."""
    cmd = ["cat", PROC]
    p = ns.run(cmd) if ns else ttmod.sh(cmd)
    return parse_proc(p.stdout)


def addr_str(family, addr, port):
    return f"{addr}:{port}" if family == 4 else f"[{addr}]:{port}"


def as_opts(e):
    return {AS_OPTS[k]: e[k] for k in AS_OPTS}


def ctl(*args, ns=None, timeout=120):
    cmd = [ttmod.CTL, *args]
    if ns is not None:
        cmd = ns.exec_cmd(cmd)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, errors="replace")


def ctl_json(*args, ns=None):
    p = ctl(*args, ns=ns)
    if p.returncode:
        raise RuntimeError(f"tcptimeoctl {' '.join(args)}: exit "
                           f"{p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def show(p):
    return (f"exit {p.returncode}\nstdout: {p.stdout.strip()[:2000]}\n"
            f"stderr: {p.stderr.strip()[:2000]}")


def timed_write(path, value):
    """Write value + newline; returns (errno or 0, seconds the write took)."""
    t0 = time.monotonic()
    err = ttmod.write_raw(path, f"{value}\n")
    return err, time.monotonic() - t0


PROM_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(
    rf'({PROM_NAME})(\{{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    rf'(?:,(?=[a-zA-Z_]))?)*\}})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """Strict Prometheus text format 0.0.4 reader: {(name, labels): value};
    raises ValueError on anything node-exporter's textfile collector
    would refuse (also: HELP and TYPE before samples, grouped families)."""
    seen, typed, helped, cur, done = {}, {}, set(), None, set()
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({PROM_NAME}) (.*)", line)
            if not m:
                raise ValueError(f"line {n}: bad comment {line!r}")
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if name in typed or rest not in ("counter", "gauge"):
                    raise ValueError(f"line {n}: bad TYPE {line!r}")
                typed[name] = rest
            else:
                if name in helped:
                    raise ValueError(f"line {n}: second HELP")
                helped.add(name)
            continue
        m = _SAMPLE.fullmatch(line)
        if not m:
            raise ValueError(f"line {n}: bad sample {line!r}")
        name, labels, value = m.groups()
        if name not in typed or name not in helped:
            raise ValueError(f"line {n}: {name} without HELP/TYPE")
        if name != cur:
            if name in done:
                raise ValueError(f"line {n}: {name} not grouped")
            if cur:
                done.add(cur)
            cur = name
        key = (name, tuple(sorted(_LABEL.findall(labels or ""))))
        if key in seen:
            raise ValueError(f"line {n}: duplicate {key}")
        seen[key] = float(value)
    return seen


def prometheus_or_error(text):
    """(parse_prometheus(text), None), or ({}, why) if it is not valid."""
    try:
        return parse_prometheus(text), None
    except ValueError as e:
        return {}, str(e)
