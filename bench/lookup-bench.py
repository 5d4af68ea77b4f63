#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The rule lookup's own time, for bench/probe-cost.sh (in the VM).

Opens one loopback connection like ttbench's (127.0.0.1, port 5201) and
has the module time its rule lookup for either end, through debugfs
tcptimeo/lookup_bench (not ABI: "FD COUNT" written, "lookups N ns T
ns_per_lookup X rule NAME verdict V" read back): COUNT lookups in a loop
in the kernel, without a tracer's cost and without the rest of a
connection. Prints one JSON object: per direction ("out": the connecting
end, "in": the accepted one) the median ns per lookup over REPS runs,
and the rule the lookup found.

    lookup-bench.py [COUNT [REPS]]      (defaults 20000, 5)
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
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 5201))
    lst.listen(1)
    c = socket.create_connection(("127.0.0.1", 5201))
    s, _ = lst.accept()
    res = {}
    for name, sock in (("out", c), ("in", s)):
        ns, rule = [], "-"
        for _ in range(reps):
            t, rule = time_lookups(sock.fileno(), count)
            ns.append(t)
        res[name] = {"ns": round(statistics.median(ns), 1),
                     "min_ns": round(min(ns), 1), "rule": rule}
    for x in (s, c, lst):
        x.close()
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(os.EX_UNAVAILABLE if e.errno == 2 else 1)
