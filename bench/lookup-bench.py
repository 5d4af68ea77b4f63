#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The rule lookup's own time, for bench/probe-cost.sh (in the VM).

Opens SOCKS loopback connections like ttbench's (127.0.0.1, port 5201)
and has the module time its rule lookup for either end of each, through
debugfs tcptimeo/lookup_bench (not ABI: "FD COUNT" written, "lookups N
ns T ns_per_lookup X rule NAME verdict V" read back): COUNT lookups in a
loop in the kernel, without a tracer's cost and without the rest of a
connection. Prints one JSON object: per direction ("out": the connecting
ends, "in": the accepted ones) the median over the sockets of each
socket's median ns per lookup over REPS runs, each socket's median
("per_sock"), and the rule the lookup found.

Several sockets, because under TCG one socket's time depends on where
its struct sock lies (QEMU's softmmu TLB): one socket per direction gave
a band of up to 1.3 x between otherwise equal runs.

    lookup-bench.py [COUNT [REPS [SOCKS]]]      (defaults 20000, 5, 5)
"""
import json
import os
import socket
import statistics
import sys

BENCH = "/sys/kernel/debug/tcptimeo/lookup_bench"


def time_lookups(fd, count):
    with open(BENCH, "w") as f:
        f.write(f"{fd} {count}")
    with open(BENCH) as f:
        w = f.read().split()
    kv = dict(zip(w[::2], w[1::2]))
    return int(kv["ns"]) / int(kv["lookups"]), kv["rule"]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    socks = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 5201))
    lst.listen(socks)
    ends = {"out": [], "in": []}
    for _ in range(socks):
        ends["out"].append(socket.create_connection(("127.0.0.1", 5201)))
        ends["in"].append(lst.accept()[0])
    res = {}
    for name, group in ends.items():
        per, lo, rule = [], [], "-"
        for sock in group:
            ns = []
            for _ in range(reps):
                t, rule = time_lookups(sock.fileno(), count)
                ns.append(t)
            per.append(statistics.median(ns))
            lo.append(min(ns))
        res[name] = {"ns": round(statistics.median(per), 1),
                     "min_ns": round(min(lo), 1), "rule": rule,
                     "per_sock": [round(x, 1) for x in per]}
    for x in ends["out"] + ends["in"] + [lst]:
        x.close()
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(os.EX_UNAVAILABLE if e.errno == 2 else 1)
