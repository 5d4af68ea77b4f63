#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report.py: turn bench/guest.sh's raw.jsonl into results.

  report.py RAW.jsonl --out DIR [--check]
      DIR/<date>-<kver>.json  everything: settings, raw records, summary
      DIR/<date>-<kver>.md    the tables (connections/s, bulk, apply,
                              memory, targets)
      DIR/<date>-<kver>.png   connections/s per configuration (gnuplot)
      and prints the ratios to the baseline. --check (the smoke run):
      exit 1 unless every configuration produced numbers.
  report.py --doc docs/performance.md --latest DIR
      put the newest DIR/*.md between the markers of the doc.

Medians and min-max over rounds. Ratios are median / median of the
baseline; "paired" is the median over rounds of config / baseline in the
same round (rounds are interleaved, so it cancels slow drift). The
tracepoint comparisons (mod0 / mod0nt, mod1 / mod1nt: off vs compiled
out; mod0tp / mod0, mod1tp / mod1: on vs off) give that paired ratio with
its resolution: a distribution-free confidence interval for the median of
the per-round ratios (order statistics; with 6 rounds their min-max, 97 %).
"""
import argparse
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = [
    ("base", "1", "no module (baseline)"),
    ("mod0", "2", "module, 0 rules"),
    ("mod0nt", "2a", "module, 0 rules, tracepoints compiled out"),
    ("mod0tp", "2b", "module, 0 rules, tracepoints on"),
    ("mod1", "3", "module, 1 matching rule"),
    ("mod1nt", "3a", "module, 1 matching rule, tracepoints compiled out"),
    ("mod1tp", "3b", "module, 1 matching rule, tracepoints on"),
    ("mod10k", "4", "module, {n} rules, match last"),
    ("bpf", "5", "BPF sock_ops (bpf_setsockopt)"),
    ("libka", "6", "libkeepalive (LD_PRELOAD)"),
    ("app", "7", "application setsockopt, same values"),
    ("mod10kfar", "4b", "module, {n} rules, none in the benchmark ports' index buckets"),
]
PATHS = [("lo", "loopback"), ("veth", "veth, 2 netns")]
# The matching rule's values (bench/ttrules.c)
WANT = {"keepalive": 1, "keepidle": 10, "keepintvl": 5, "keepcnt": 3,
        "user_timeout": 30000, "syn_retries": 3}
# The tracepoints' cost: (config, against, question), both measured in
# the same rounds (bench/guest.sh).
TP_PAIRS = [("mod0", "mod0nt", "off ÷ compiled out, 0 rules"),
            ("mod1", "mod1nt", "off ÷ compiled out, 1 rule"),
            ("mod0tp", "mod0", "on ÷ off, 0 rules"),
            ("mod1tp", "mod1", "on ÷ off, 1 rule")]
# the confidence asked of a ratio's interval (reached from 6 rounds on)
TP_CONFIDENCE = 0.95
MARK_BEGIN = "<!-- bench:begin (make bench-doc) -->"
MARK_END = "<!-- bench:end -->"


def load(path):
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                recs.append({"kind": "error", "what": f"raw line {n}: {e}"})
    return recs


def stats(vals):
    if not vals:
        return None
    return {"n": len(vals), "median": statistics.median(vals),
            "min": min(vals), "max": max(vals)}


def stamped_count(rec):
    """How many of the rule's six values each end had: (client, server)."""
    res = rec.get("result") or {}
    out = []
    for end in ("client", "server"):
        o = res.get(end) or {}
        out.append(sum(1 for k, v in WANT.items() if o.get(k) == v))
    return out


METRICS = [("rate", "conn/s (wall clock)"),
           ("per_host_cpu_s", "connections per host CPU-second")]


def slab_growth(before, after, top=8):
    """Largest growth (bytes) of /proc/slabinfo caches: [{cache, bytes}]."""
    def read(path):
        caches = {}
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) > 3 and not line.startswith(("#", "slabinfo")):
                    caches[w[0]] = int(w[2]) * int(w[3])
        return caches
    b, a = read(before), read(after)
    grown = sorted(((a[k] - b.get(k, 0), k) for k in a), reverse=True)
    return [{"cache": k, "bytes": d} for d, k in grown[:top] if d > 0]


def summarize(recs):
    meta = next((r for r in recs if r.get("kind") == "meta"), {})
    s = {"meta": meta, "crr": {}, "bulk": {}, "sso": {}, "apply": {},
         "shape": {}, "shape_index": {}, "memory": None,
         "errors": [r.get("what") for r in recs if r.get("kind") == "error"],
         "skipped": {r["config"]: r["reason"] for r in recs
                     if r.get("kind") == "skip"}}
    by_round = {}   # (metric, config, path) -> {round: value}
    s["discarded"] = sum(1 for r in recs if r.get("discarded"))
    s["attempts"] = sum(1 for r in recs if r.get("kind") in ("crr", "bulk"))
    shares = [r["share"] for r in recs if r.get("kind") in ("crr", "bulk")
              and not r.get("discarded") and r.get("share")
              and r["share"] >= meta.get("min_share", 0)]
    s["share"] = stats(shares)
    # A run the host starved even after the retries is left out too: a
    # cell then has fewer values (its n says how many).
    floor = meta.get("min_share", 0)
    s["starved"] = sum(1 for r in recs if r.get("kind") in ("crr", "bulk")
                       and not r.get("discarded") and r.get("share") is not None
                       and r["share"] < floor)
    for r in recs:
        if r.get("discarded"):
            continue
        if r.get("kind") in ("crr", "bulk") and r.get("share") is not None \
                and r["share"] < floor:
            continue
        if r.get("kind") == "crr" and r.get("result"):
            res = r["result"]
            e = s["crr"].setdefault(r["config"], {}).setdefault(
                r["path"], {"stamped": None, "errors": 0, "stamped_in": 0,
                            "stamped_out": 0})
            for m, _ in METRICS:
                if res.get(m) is not None:
                    e.setdefault(m, {"values": []})["values"].append(res[m])
                    by_round.setdefault((m, r["config"], r["path"]), {})[r["round"]] = res[m]
            e["errors"] += res.get("errors", 0)
            e["stamped_in"] += r.get("stamped_in", 0)
            e["stamped_out"] += r.get("stamped_out", 0)
            e["stamped"] = stamped_count(r)
        elif r.get("kind") == "bulk" and r.get("result"):
            res = r["result"]
            e = s["bulk"].setdefault(r["config"], {"errors": 0})
            for m in ("mbytes_per_s", "per_host_cpu_s"):
                if res.get(m) is not None:
                    e.setdefault(m, {"values": []})["values"].append(res[m])
            e["errors"] += res.get("errors", 0)
        elif r.get("kind") == "sso" and r.get("result"):
            res = r["result"]
            e = s["sso"].setdefault(r["config"], {}).setdefault(
                r["path"], {"values": [], "ns": [], "keepidle": None})
            e["values"].append(res["rate"])
            e["ns"].append(res["ns_per_call"])
            e["keepidle"] = (res.get("client") or {}).get("keepidle")
            by_round.setdefault(("sso", r["config"], r["path"]), {})[r["round"]] = res["rate"]
        elif r.get("kind") == "apply" and r.get("result"):
            key = f'{r["tool"]}/{r["op"]}/{r["rules"]}'
            s["apply"].setdefault(key, []).append(r["result"]["seconds"])
            if r["result"].get("mkdir_seconds") is not None:
                s.setdefault("apply_mkdir", {}).setdefault(key, []).append(
                    (r["result"]["seconds"], r["result"]["mkdir_seconds"]))
            if r["result"].get("tenths"):
                s.setdefault("apply_detail", {}).setdefault(key, []).append(
                    {"mkdir_seconds": r["result"].get("mkdir_seconds"),
                     "tenths": r["result"]["tenths"]})
        elif r.get("kind") == "round_create" and r.get("result"):
            key = f'configfs/round-create/{r["result"]["rules"]}'
            s["apply"].setdefault(key, []).append(r["result"]["seconds"])
        elif r.get("kind") == "shape" and r.get("result"):
            res = r["result"]
            e = s["shape"].setdefault(r["config"], {"values": [], "cpu": []})
            e["values"].append(res["rate"])
            if res.get("per_host_cpu_s") is not None:
                e["cpu"].append(res["per_host_cpu_s"])
                by_round.setdefault(("shape_cpu", r["config"], "lo"), {})[r["round"]] = res["per_host_cpu_s"]
            by_round.setdefault(("shape", r["config"], "lo"), {})[r["round"]] = res["rate"]
        elif r.get("kind") == "shape_pair" and r.get("result"):
            res = r["result"]
            by_round.setdefault(("pair", r["config"], "lo"), {})[r["round"]] = res["rate"]
            if res.get("per_host_cpu_s") is not None:
                by_round.setdefault(("pair_cpu", r["config"], "lo"), {})[r["round"]] = res["per_host_cpu_s"]
        elif r.get("kind") == "shape_index":
            s["shape_index"][r["config"]] = dict(
                kv.split(" ", 1) for kv in r["index"].split(";") if " " in kv)
        elif r.get("kind") == "memory":
            s["memory"] = r
        elif r.get("kind") == "trace":
            e = s.setdefault("trace", {}).setdefault(
                r["config"], {"runs": 0, "read": 0, "entries": 0,
                              "overrun": 0, "dropped": 0})
            e["runs"] += 1
            for k in ("read", "entries", "overrun", "dropped"):
                e[k] += r.get(k, 0)
        elif r.get("kind") == "modload":
            s.setdefault("modload", {}).setdefault(r["module"], []).append(
                r.get("events", ""))
    # the stamps the module counted while the tracepoints were on (every
    # attempt, as the trace instance saw them all)
    for c, e in s.get("trace", {}).items():
        e["stamps"] = sum(r.get("stamped_in", 0) + r.get("stamped_out", 0)
                          for r in recs if r.get("config") == c
                          and r.get("kind") in ("crr", "bulk"))
    for c, paths in s["crr"].items():
        for p, e in paths.items():
            for m, _ in METRICS:
                if m not in e:
                    continue
                e[m].update(stats(e[m]["values"]))
                b = s["crr"].get("base", {}).get(p, {}).get(m)
                e[m]["ratio"] = e[m]["median"] / b["median"] if b and b.get("median") else None
                e[m]["paired_ratio"] = paired(by_round, m, c, p, "base")
    for c, e in s["bulk"].items():
        for m in ("mbytes_per_s", "per_host_cpu_s"):
            if m not in e:
                continue
            e[m].update(stats(e[m]["values"]))
            b = s["bulk"].get("base", {}).get(m)
            e[m]["ratio"] = e[m]["median"] / b["median"] if b and b.get("median") else None
    for c, opts in s["sso"].items():
        for o, e in opts.items():
            e.update(stats(e["values"]))
            e["ns_per_call"] = statistics.median(e["ns"])
            b = s["sso"].get("base", {}).get(o)
            e["ratio"] = e["median"] / b["median"] if b and b.get("median") else None
            e["paired_ratio"] = paired(by_round, "sso", c, o, "base")
    for c, e in s["shape"].items():
        e.update(stats(e["values"]))
        e["vs_one"] = paired(by_round, "shape", c, "lo", "s1")
        e["vs_base"] = paired(by_round, "shape", c, "lo", "sbase")
        e["cpu_vs_one"] = paired(by_round, "shape_cpu", c, "lo", "s1")
    s["shape_pairs"] = shape_pairs(by_round)
    s["by_round"] = {f"{m}/{c}/{p}": v for (m, c, p), v in by_round.items()}
    s["apply"] = {k: stats(v) for k, v in s["apply"].items()}
    s["targets"] = targets(s, by_round)
    s["tracepoints"] = tp_ratios(s, by_round)
    return s


def median_interval(v, conf=TP_CONFIDENCE):
    """A distribution-free confidence interval for the median of v: the
    k-th smallest and k-th largest value, k as large as keeps the coverage
    1 - 2 P(Binomial(n, 1/2) < k) at conf or more (k = 1 below: min-max,
    whatever it covers). Returns (lo, hi, coverage)."""
    v = sorted(v)
    n = len(v)

    def coverage(k):
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
    k = 1
    while k + 1 <= n // 2 and coverage(k + 1) >= conf:
        k += 1
    return v[k - 1], v[n - k], coverage(k)


# Each rule set's A/B pairs against the matching rule alone: the target.
SHAPE_PAIR_WANT = 0.97


def shape_pairs(by_round):
    """Each shape's A/B pairs (the set on, "shape-X", against the matching
    rule alone, "s1-X", seconds apart): the ratio within each pair, their
    median and its distribution-free interval, per wall-clock second and
    per host CPU-second."""
    out = {}
    for (m, c, p), a in by_round.items():
        if m not in ("pair", "pair_cpu") or not c.startswith("shape-"):
            continue
        b = by_round.get((m, "s1-" + c[len("shape-"):], p), {})
        v = [a[k] / b[k] for k in sorted(a) if k in b and b[k]]
        if not v:
            continue
        lo, hi, cov = median_interval(v)
        out.setdefault(c, {})["rate" if m == "pair" else "per_host_cpu_s"] = {
            "pairs": len(v), "per_pair": v, "median": statistics.median(v),
            "lo": lo, "hi": hi, "confidence": cov}
    return out


def tp_ratios(s, by_round):
    """The tracepoints' cost, each ratio against a baseline of the same
    rounds: paired ratio, its interval, and whether 1 lies in it."""
    out = []
    for c, of, q in TP_PAIRS:
        for p, pname in PATHS:
            for m, _ in METRICS:
                a = by_round.get((m, c, p), {})
                b = by_round.get((m, of, p), {})
                v = [a[k] / b[k] for k in sorted(a) if k in b and b[k]]
                if not v:
                    continue
                lo, hi, cov = median_interval(v)
                out.append({"config": c, "against": of, "question": q,
                            "path": p, "metric": m, "rounds": len(v),
                            "per_round": v, "paired": statistics.median(v),
                            "ratio": crr_ratio(s, m, c, p, of),
                            "lo": lo, "hi": hi, "confidence": cov,
                            "resolution": (hi - lo) / 2,
                            # too few rounds to resolve anything: None
                            "within": lo <= 1 <= hi if cov >= 0.75 else None})
    return out


def paired(by_round, m, c, p, of):
    a = by_round.get((m, c, p), {})
    b = by_round.get((m, of, p), {})
    v = [a[k] / b[k] for k in a if k in b and b[k]]
    return statistics.median(v) if v else None


def crr_ratio(s, m, c, p, of):
    a = s["crr"].get(c, {}).get(p, {}).get(m)
    b = s["crr"].get(of, {}).get(p, {}).get(m)
    if not a or not b or not b.get("median"):
        return None
    return a["median"] / b["median"]


def targets(s, by_round):
    t = []
    checks = [("mod0", "base", 0.99), ("mod1", "base", 0.99),
              ("mod10k", "base", 0.99), ("mod10k", "mod1", 0.99),
              ("mod10kfar", "mod1", 0.99),
              ("mod1", "bpf", 1.0), ("mod1", "app", 0.99)]
    for p, pname in PATHS:
        for c, of, want in checks:
            row = {"target": f"{c} ≥ {want:g} × {of} ({pname})", "want": want}
            for m, _ in METRICS:
                r = crr_ratio(s, m, c, p, of)
                row[m] = r
                row[m + "_paired"] = paired(by_round, m, c, p, of)
            if row["rate"] is None:
                continue
            row["holds"] = row["rate"] >= want
            cpu = row.get("per_host_cpu_s")
            row["holds_cpu"] = None if cpu is None else cpu >= want
            t.append(row)
    for c in ("mod1", "mod10k"):
        e = s["bulk"].get(c, {}).get("mbytes_per_s")
        if e and e.get("ratio") is not None:
            cpu = s["bulk"][c].get("per_host_cpu_s", {}).get("ratio")
            t.append({"target": f"bulk {c} ≥ 0.995 × base", "want": 0.995,
                      "rate": e["ratio"], "per_host_cpu_s": cpu,
                      "holds": e["ratio"] >= 0.995,
                      "holds_cpu": None if cpu is None else cpu >= 0.995})
    for c, e in sorted(s.get("shape_pairs", {}).items()):
        w, u = e.get("rate"), e.get("per_host_cpu_s")
        if w:
            want = SHAPE_PAIR_WANT
            t.append({"target": f"{c} ≥ {want:g} × 1 rule (A/B pairs)",
                      "want": want, "rate": w["median"],
                      "per_host_cpu_s": u["median"] if u else None,
                      "holds": w["median"] >= want,
                      "holds_cpu": None if not u else u["median"] >= want})
    for tool in ("configfs", "tcptimeoctl"):
        sizes = sorted(int(k.split("/")[2]) for k in s["apply"]
                       if k.startswith(f"{tool}/create/"))
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            a = s["apply"][f"{tool}/create/{lo}"]["median"]
            b = s["apply"][f"{tool}/create/{hi}"]["median"]
            f = hi / lo
            t.append({"target": f"{tool}: {hi:,} rules ≤ {f:g} × {lo:,} rules",
                      "rate": b / a if a else None, "unit": "×",
                      "holds": bool(a) and b / a <= f})
            t.append({"target": f"{tool}: {hi:,} rules < 5 s", "rate": b,
                      "unit": "s", "holds": b < 5})
            pa, pb = a / lo, b / hi
            t.append({"target": f"{tool}: per rule at {hi:,} ≤ 2 × at {lo:,}",
                      "rate": pb / pa if pa else None, "unit": "×",
                      "holds": bool(pa) and pb / pa <= 2})
            mk = s.get("apply_mkdir", {})
            ma = mk.get(f"{tool}/create/{lo}")
            mb = mk.get(f"{tool}/create/{hi}")
            if ma and mb:
                ra = statistics.median(x - m for x, m in ma) / lo
                rb = statistics.median(x - m for x, m in mb) / hi
                t.append({"target": f"{tool}: the same without mkdir() "
                          "(configfs's O(n) sibling walks)",
                          "rate": rb / ra if ra else None, "unit": "×",
                          "holds": bool(ra) and rb / ra <= 2})
    return t


def fmt_int(v):
    return f"{v:,.0f}"


def label(c, meta):
    n = meta.get("nrules")
    for key, num, name in CONFIGS:
        if key == c:
            return num, name.format(n=f"{n:,}" if isinstance(n, int) else n)
    return "?", c


def crr_table(s, m, title):
    meta = s["meta"]
    L = [title, ""]
    hdr, sep = "| # | configuration |", "|---|---|"
    for _, pname in PATHS:
        hdr += f" {pname} | × base (paired) |"
        sep += "---:|---:|"
    if m == "rate":
        hdr += " stamped client · server |"
        sep += ":---:|"
    L += [hdr, sep]
    for c, _, _ in CONFIGS:
        num, name = label(c, meta)
        if c not in s["crr"]:
            if c in s["skipped"]:
                L.append(f"| {num} | {name} | skipped: {s['skipped'][c]} |")
            continue
        row, st = f"| {num} | {name} |", None
        for p, _ in PATHS:
            e = s["crr"][c].get(p, {}).get(m)
            st = st or s["crr"][c].get(p, {}).get("stamped")
            if not e:
                row += " – | – |"
                continue
            nn = f", n={e['n']}" if e["n"] < (meta.get("reps") or 0) else ""
            row += f" {fmt_int(e['median'])} ({fmt_int(e['min'])}–{fmt_int(e['max'])}{nn}) |"
            if e.get("ratio") is None:
                row += " – |"
            elif e.get("paired_ratio") is not None:
                row += f" {e['ratio']:.3f} ({e['paired_ratio']:.3f}) |"
            else:
                row += f" {e['ratio']:.3f} |"
        if m == "rate":
            row += f" {st[0]}/6 · {st[1]}/6 |" if st else " – |"
        L.append(row)
    return L


def markdown(s, png_name):
    m = s["meta"]
    L = [f'Kernel {m.get("kver")}, QEMU TCG, {m.get("cpus")} vCPU, '
         f'{m.get("clients")} client + {m.get("clients")} server threads, '
         f'{m.get("reps")} interleaved rounds (alternately forward and '
         f'reverse order) of {m.get("seconds")} s per configuration and '
         f'path after {m.get("warmup")} s of warm-up; started {m.get("start")}. '
         "Each cell: median (min–max) over the rounds; × base = ratio of "
         "medians, paired = median over rounds of the ratio within the "
         "round. Stamped = how many of the rule's six values the client / "
         "server socket had (getsockopt)."]
    if s.get("share"):
        L[-1] += (f' Host CPU share of the VM (QEMU CPU-s per second) in the '
                  f'kept runs: median {s["share"]["median"]:.2f}, min '
                  f'{s["share"]["min"]:.2f}; {s["discarded"]} of {s["attempts"]} '
                  f'runs were repeated because the host gave the VM less than '
                  f'{m.get("min_share", 0.9)}, and {s["starved"]} left out '
                  f'because it still did after {m.get("retries", "?")} retries.')
    L.append("")
    L += crr_table(s, "rate", "**Connections/s** (connect → 64 B request → "
                   "64 B response → close), wall clock:")
    if any(s["crr"].get(c, {}).get(p, {}).get("per_host_cpu_s")
           for c in s["crr"] for p, _ in PATHS):
        L += [""]
        L += crr_table(s, "per_host_cpu_s", "**Connections per host "
                       "CPU-second** (connections ÷ CPU time of the QEMU "
                       "process over the same interval: the work per "
                       "connection, insensitive to other load on the host):")
    if png_name:
        L += ["", f"![connections/s per configuration]({png_name})"]
    if s.get("tracepoints"):
        L += tp_table(s)
    if s["bulk"]:
        L += ["", f'**Bulk**: one connection over loopback, '
              f'{m.get("bulk_bytes", 0) / 2**30:g} GiB per run.', "",
              "| configuration | MB/s | × base | MB per host CPU-s | × base |",
              "|---|---:|---:|---:|---:|"]
        for c, _, _ in CONFIGS:
            e = s["bulk"].get(c)
            if not e or "mbytes_per_s" not in e:
                continue
            num, name = label(c, m)
            w, h = e["mbytes_per_s"], e.get("per_host_cpu_s")
            row = (f"| {num} {name} | {w['median']:,.0f} ({w['min']:,.0f}–"
                   f"{w['max']:,.0f}) | {w['ratio']:.3f} |")
            row += (f" {h['median']:,.0f} ({h['min']:,.0f}–{h['max']:,.0f}) | "
                    f"{h['ratio']:.3f} |" if h else " – | – |")
            L.append(row)
    if s["apply"]:
        L += ["", "**Rule apply** from an empty table, seconds, median "
              "(min–max): configfs = one process doing mkdir + attribute "
              "writes + enabled=1 per rule (bench/ttrules.c); tcptimeoctl = "
              "`tcptimeoctl apply FILE`; delete = rmdir of every rule, or "
              "`tcptimeoctl apply` of an empty file; round-create = the "
              "random rules added for configuration 4 in each round.", "",
              "| tool | operation | rules | seconds | per rule | in mkdir() | "
              "per rule without mkdir() |",
              "|---|---|---:|---:|---:|---:|---:|"]
        for k in sorted(s["apply"], key=lambda k: (k.split("/")[0], k.split("/")[1], int(k.split("/")[2]))):
            tool, op, n = k.split("/")
            e = s["apply"][k]
            mk = s.get("apply_mkdir", {}).get(k)
            mks = rest = ""
            if mk:
                mks = f"{statistics.median(m for _, m in mk):.3f} s"
                rest = f"{statistics.median(x - m for x, m in mk) / int(n) * 1e6:,.0f} µs"
            L.append(f"| {tool} | {op} | {int(n):,} | {e['median']:.3f} "
                     f"({e['min']:.3f}–{e['max']:.3f}) | "
                     f"{e['median'] / int(n) * 1e6:,.0f} µs | {mks} | {rest} |")
    for k, runs in sorted(s.get("apply_detail", {}).items()):
        tool, op, n = k.split("/")
        if int(n) < 5000:
            continue
        r0 = runs[0]
        t = r0["tenths"]
        L += ["", f"{tool} {op} of {int(n):,} rules, each tenth of the burst "
              f"(first run), seconds: " + ", ".join(f"{x:.2f}" for x in t) +
              (f"; mkdir() alone {r0['mkdir_seconds']:.2f} s of "
               f"{sum(t):.2f} s" if r0.get("mkdir_seconds") is not None else "")
              + "."]
    mem = s["memory"]
    if mem:
        n = mem["rules"]
        b = mem["before_kb"]
        L += ["", f"**Memory** for {n:,} rules (/proc/meminfo deltas from "
              "before creating them, measured just after and again after "
              "`echo 2 > /proc/sys/vm/drop_caches`):", "",
              "| | slab kB | of which unreclaimable | vmalloc kB | percpu kB | per rule |",
              "|---|---:|---:|---:|---:|---:|"]
        for name, x in (("just after creating", mem["after_kb"]),
                        ("after drop_caches", mem["after_drop_caches_kb"])):
            tot = (x["slab"] - b["slab"]) + (x["vmalloc"] - b["vmalloc"]) + \
                (x["percpu"] - b["percpu"])
            L.append(f"| {name} | {x['slab'] - b['slab']:,} | "
                     f"{x['slab_unreclaimable'] - b['slab_unreclaimable']:,} | "
                     f"{x['vmalloc'] - b['vmalloc']:,} | "
                     f"{x['percpu'] - b['percpu']:,} | "
                     f"{tot * 1024 / n:,.0f} B |")
        if mem.get("slab_caches"):
            L += ["", "Slab caches that grew most (after drop_caches): " +
                  ", ".join(f'{c["cache"]} {c["bytes"] / n:,.0f} B/rule'
                            for c in mem["slab_caches"][:6]) + "."]
    if s["sso"]:
        L += ["", "**setsockopt()** on one connected socket, in a loop "
              "(calls/s, median (min–max); ns per call; × base, paired in "
              "parentheses). TCP_KEEPIDLE is what the module's probes watch, "
              "TCP_NODELAY what they pass by:", "",
              "| configuration | option | calls/s | ns/call | × base |",
              "|---|---|---:|---:|---:|"]
        for c in SSO_CONFIGS:
            for o, e in sorted(s["sso"].get(c, {}).items()):
                r = "–" if e.get("ratio") is None else f'{e["ratio"]:.3f}' + (
                    f' ({e["paired_ratio"]:.3f})' if e.get("paired_ratio") else "")
                L.append(f'| {SSO_CONFIGS[c]} | {o} | {fmt_int(e["median"])} '
                         f'({fmt_int(e["min"])}–{fmt_int(e["max"])}) | '
                         f'{e["ns_per_call"]:.0f} | {r} |')
    if s["shape"]:
        L += shape_table(s)
    if s["targets"]:
        L += ["", "**Targets** (ratios of medians; paired in parentheses):", "",
              "| target | wall clock | holds | per host CPU-s | holds |",
              "|---|---:|:---:|---:|:---:|"]
        for t in s["targets"]:
            L.append(target_row(t))
    if s["errors"]:
        L += ["", "Errors during the run:", ""] + [f"- {e}" for e in s["errors"]]
    return "\n".join(L) + "\n"


def tp_table(s):
    """The tracepoints' cost, as Markdown lines."""
    rows = s["tracepoints"]
    ns = sorted({r["rounds"] for r in rows})
    covs = sorted({round(r["confidence"] * 100) for r in rows})
    L = ["", "**Tracepoints** (tcptimeo:stamp, :timeout, :abort): compiled "
         "in and off (the module as shipped) against compiled out (the same "
         "sources built with -DNOTRACE), and on (all three enabled in a "
         "tracefs instance, its trace_pipe read meanwhile) against off. "
         "Connections/s ratios within each round; the cell gives their "
         "median (paired) and a distribution-free confidence interval for "
         "it (order statistics of the "
         + "/".join(str(n) for n in ns) + " per-round ratios, "
         + "/".join(f"{c} %" for c in covs) + "): the run's resolution for "
         "that ratio. *Within*: the interval holds 1, i.e. no difference "
         "this run can resolve (not judged below 3 rounds).", "",
         "| comparison | path | wall clock: paired (interval) | ± | within | "
         "per host CPU-s: paired (interval) | ± | within |",
         "|---|---|---:|---:|:---:|---:|---:|:---:|"]
    pnames = dict(PATHS)
    for c, of, q in TP_PAIRS:
        for p, _ in PATHS:
            cells = []
            for m, _ in METRICS:
                r = next((x for x in rows if (x["config"], x["against"],
                          x["path"], x["metric"]) == (c, of, p, m)), None)
                if not r:
                    cells.append("– | – | –")
                    continue
                cells.append(f'{r["paired"]:.3f} ({r["lo"]:.3f}–{r["hi"]:.3f}) | '
                             f'{r["resolution"] * 100:.1f} % | '
                             + {True: "yes", False: "**no**", None: "– (too few rounds)"}[r["within"]])
            if all(x == "– | – | –" for x in cells):
                continue
            L.append(f"| {q} ({c} ÷ {of}) | {pnames[p]} | " + " | ".join(cells) + " |")
    tr = s.get("trace", {})
    notes = []
    for c in ("mod0tp", "mod1tp"):
        e = tr.get(c)
        if not e:
            continue
        ratio = f", {e['read'] / e['stamps']:.2f} per stamp" if e["stamps"] else ""
        notes.append(f"{c}: {e['read']:,} events read by the reader over "
                     f"{e['runs']} round{'s' if e['runs'] != 1 else ''} "
                     f"({e['stamps']:,} stamps counted by the "
                     f"module{ratio}), {e['entries']:,} left in the buffer, "
                     f"{e['overrun']:,} overwritten, {e['dropped']:,} dropped")
    ml = s.get("modload", {})
    if ml:
        notes.append("tcptimeo events in tracefs after each insmod: " + "; ".join(
            f"{k} module: " + (" / ".join(sorted(set(x or "none" for x in v))))
            for k, v in sorted(ml.items())))
    if notes:
        L += [""] + [f"- {n}." for n in notes]
    return L


SHAPE_LABELS = {
    "sbase": "no module", "s1": "the matching rule alone",
    "shape-svc": "+ random service-port rules (ports, CIDRs; as mod10k)",
    "shape-rport-any": "+ `dir any remote-port P`",
    "shape-lport-out": "+ `dir out local-port P`",
    "shape-cidr4": "+ `dir any remote-addr` IPv4 CIDR",
    "shape-cidr6": "+ `dir any remote-addr` IPv6 CIDR",
    "shape-cgroup": "+ `dir any cgroup /ttshape/cN` (present)",
    "shape-netns": "+ `dir any netns N` (8 namespaces)",
    "shape-mix": "+ all seven shapes, in turn",
    "burst": "the mix, 0.5 s after a burst of one-rule writes",
}


def shape_table(s):
    n = s["meta"].get("nrules", "?")
    L = ["", f"**Rule shapes** (loopback connections/s; {n} - 1 non-matching "
         "rules of one shape plus the matching rule, last; measured once "
         "the index holds them, except the burst row). Ratios are paired: "
         "the median over rounds of the ratio within the round.", "",
         "| rule set | conn/s, median (min–max) | × no module | × 1 rule | "
         "per host CPU-s × 1 rule | index (shapes in/out, bytes) |",
         "|---|---:|---:|---:|---:|---|"]
    for c in SHAPE_LABELS:
        e = s["shape"].get(c)
        if not e:
            continue
        ix = s["shape_index"].get(c, {})
        shapes = ""
        if ix:
            ins = ix.get("in", "").split()
            outs = ix.get("out", "").split()
            d_in = dict(zip(ins[::2], ins[1::2]))
            d_out = dict(zip(outs[::2], outs[1::2]))
            shapes = (f'{d_in.get("shapes", "?")}/{d_out.get("shapes", "?")}, '
                      f'{fmt_int(int(ix.get("bytes", 0)))} B')

        def r(v):
            return "–" if v is None else f"{v:.3f}"
        L.append(f'| {SHAPE_LABELS[c]} | {fmt_int(e["median"])} '
                 f'({fmt_int(e["min"])}–{fmt_int(e["max"])}) | '
                 f'{r(e.get("vs_base"))} | {r(e.get("vs_one"))} | '
                 f'{r(e.get("cpu_vs_one"))} | {shapes} |')
    return L + shape_pair_table(s)


def pair_cell(x):
    """median | interval of one metric's pairs, or dashes"""
    if not x:
        return "– | –"
    return f'{x["median"]:.3f} | {x["lo"]:.3f}–{x["hi"]:.3f}'


def shape_pair_table(s):
    sp = s.get("shape_pairs") or {}
    if not sp:
        return []
    meta = s["meta"]
    L = ["", f"**Rule shapes, A/B pairs** ({meta.get('shape_pairs', '?')} "
         f"pairs per shape and round of {meta.get('pair_seconds', '?')} s "
         "runs, in ABBA order: the set enabled against the matching rule "
         "alone, the set disabled, seconds apart). Each cell: the median "
         "of the pairs' ratios and a distribution-free interval of that "
         "median (its coverage in the header).", ""]
    cov = min((e[m]["confidence"] for e in sp.values() for m in e), default=0)
    L += [f"| rule set | pairs | conn/s × 1 rule | {cov:.0%} interval | "
          f"per host CPU-s × 1 rule | {cov:.0%} interval | ≥ {SHAPE_PAIR_WANT:g} |",
          "|---|---:|---:|---|---:|---|:---:|"]
    for c in SHAPE_LABELS:
        e = sp.get(c)
        if not e:
            continue
        w, u = e.get("rate"), e.get("per_host_cpu_s")
        verdict = "yes" if w and w["median"] >= SHAPE_PAIR_WANT else "no"
        L.append(f'| {SHAPE_LABELS[c]} | {w["pairs"] if w else 0} | '
                 f'{pair_cell(w)} | {pair_cell(u)} | {verdict} |')
    return L


SSO_CONFIGS = {"base": "no module", "mod0": "module, no rule",
               "mod1": "rule (fill) stamped the socket",
               "modforce": "rule (force): each call put back"}


def yn(v):
    return "–" if v is None else ("yes" if v else "**no**")


def target_row(t):
    unit = t.get("unit")
    v = t.get("rate")
    if unit == "s":
        vs = f"{v:.2f} s"
    elif unit == "×":
        vs = "–" if v is None else f"{v:.2f} ×"
    else:
        vs = f"{v:.3f}"
        if t.get("rate_paired") is not None:
            vs += f" ({t['rate_paired']:.3f})"
    c = t.get("per_host_cpu_s")
    cs = "–" if c is None else f"{c:.3f}"
    if c is not None and t.get("per_host_cpu_s_paired") is not None:
        cs += f" ({t['per_host_cpu_s_paired']:.3f})"
    return f"| {t['target']} | {vs} | {yn(t['holds'])} | {cs} | {yn(t.get('holds_cpu'))} |"


def chart(s, png):
    if not s["crr"]:
        return False
    if not shutil.which("gnuplot"):
        print("report: no gnuplot, no chart (make bench-deps)", file=sys.stderr)
        return False
    m = s["meta"]
    have_cpu = any(s["crr"][c].get(p, {}).get("per_host_cpu_s")
                   for c in s["crr"] for p, _ in PATHS)
    with tempfile.TemporaryDirectory() as d:
        files = {}
        for metric, _ in METRICS:
            rows = []
            for c, num, _ in CONFIGS:
                if c not in s["crr"]:
                    continue
                cols = [f'"{num} {c}"']
                for p, _ in PATHS:
                    e = s["crr"][c].get(p, {}).get(metric)
                    cols += ([f"{e['median']:.1f}", f"{e['min']:.1f}",
                              f"{e['max']:.1f}"] if e else ["NaN"] * 3)
                rows.append(" ".join(cols))
            files[metric] = os.path.join(d, metric + ".dat")
            with open(files[metric], "w") as f:
                f.write("\n".join(rows) + "\n")
        plots = [("rate", "connections/s (wall clock)")]
        if have_cpu:
            plots.append(("per_host_cpu_s", "connections per host CPU-second"))
        gp = [f'set terminal pngcairo size {560 * len(plots)},480 font "sans,9"',
              f'set output "{png}"',
              f'set multiplot layout 1,{len(plots)} title "tcptimeo benchmark: '
              f'{m.get("kver")}, QEMU TCG, median and min-max of {m.get("reps")} '
              'interleaved rounds"',
              "set style data histograms",
              "set style histogram errorbars gap 2 lw 1",
              "set style fill solid 0.8 border -1",
              "set boxwidth 0.9", "set key top right", "set grid ytics",
              "set xtics nomirror rotate by -30", "set yrange [0:*]"]
        for metric, title in plots:
            gp += [f'set title "{title}"',
                   f'plot "{files[metric]}" using 2:3:4:xtic(1) title "loopback" '
                   'lc rgb "#4477aa", "" using 5:6:7 title "veth, 2 netns" '
                   'lc rgb "#ee7733"']
        gp.append("unset multiplot")
        r = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True,
                           capture_output=True)
        if r.returncode:
            print("report: gnuplot failed:\n" + r.stderr, file=sys.stderr)
            return False
    return True


def print_ratios(s):
    for metric, title in METRICS:
        print(f"{title}: median, × base (paired)")
        for c, num, _ in CONFIGS:
            if c not in s["crr"]:
                continue
            parts = []
            for p, _ in PATHS:
                e = s["crr"][c].get(p, {}).get(metric)
                if e and e.get("ratio") is None:
                    parts.append(f"{p:4s} {e['median']:8.0f}")
                elif e:
                    parts.append(f"{p:4s} {e['median']:8.0f} ×{e['ratio']:.3f}"
                                 + (f" ({e['paired_ratio']:.3f})"
                                    if e.get("paired_ratio") is not None else ""))
            print(f"  {num} {c:7s} " + "   ".join(parts))
    for c in SSO_CONFIGS:
        for o, e in sorted(s["sso"].get(c, {}).items()):
            print(f"  setsockopt {c:8s} {o:8s} {e['median']:10.0f}/s "
                  f"{e['ns_per_call']:6.0f} ns"
                  + (f" ×{e['ratio']:.3f}" if e.get("ratio") else ""))
    if s.get("tracepoints"):
        print("tracepoints: paired ratio (interval, confidence), within the run's resolution?")
        for r in s["tracepoints"]:
            print(f'  {r["config"]:6s} / {r["against"]:6s} {r["path"]:4s} '
                  f'{"wall" if r["metric"] == "rate" else "cpu ":4s} '
                  f'{r["paired"]:.3f} ({r["lo"]:.3f}-{r["hi"]:.3f}, '
                  f'{r["confidence"] * 100:.0f} %, n={r["rounds"]}) '
                  + {True: "within", False: "OUTSIDE", None: "(too few rounds)"}[r["within"]])
    print("targets (wall clock / per host CPU-s):")
    for t in s["targets"]:
        v = t.get("rate")
        c = t.get("per_host_cpu_s")
        print(f"  {'ok  ' if t['holds'] else 'MISS'} {t['target']}: "
              f"{'–' if v is None else f'{v:.3f}'}"
              + (f" / {c:.3f} {'ok' if t.get('holds_cpu') else 'MISS'}" if c is not None else ""))


def check(s):
    """The smoke run's assertions: numbers, not performance."""
    bad = []
    m = s["meta"]
    for c in m.get("configs", "").split():
        if c in s["skipped"]:
            continue
        for p, _ in PATHS:
            e = s["crr"].get(c, {}).get(p, {}).get("rate")
            if not e or not e["median"] > 0:
                bad.append(f"no connections/s for {c} {p}")
    for c in ("base", "mod1"):
        if c in m.get("configs", "").split() and \
                not s["bulk"].get(c, {}).get("mbytes_per_s", {}).get("median"):
            bad.append(f"no bulk throughput for {c}")
    if not any(k.startswith("configfs/create/") for k in s["apply"]):
        bad.append("no rule-apply timing")
    if not s["memory"]:
        bad.append("no memory figures")
    bad += [f"error: {e}" for e in s["errors"]]
    bad += tp_problems(s)
    return bad


def tp_problems(s):
    """The tracepoint configurations did what they claim: the NOTRACE
    module brought no event, mod1tp's reader read events."""
    bad = []
    want = s["meta"].get("configs", "").split()
    for ev in s.get("modload", {}).get("notrace", []):
        if ev:
            bad.append(f"the NOTRACE module has tcptimeo events: {ev}")
    if "mod1tp" in want and "mod1tp" not in s["skipped"]:
        e = s.get("trace", {}).get("mod1tp")
        if not e or not e["read"]:
            bad.append("mod1tp: no tcptimeo event read from the trace instance")
    return bad


# What each configuration must show on the sockets (the rule's six values
# on client / server): (min client, min server, max client, max server).
STAMP_EXPECT = {"base": (0, 0, 0, 0), "mod0": (0, 0, 0, 0),
                "mod0nt": (0, 0, 0, 0), "mod0tp": (0, 0, 0, 0),
                "mod1nt": (6, 6, 6, 6), "mod1tp": (6, 6, 6, 6),
                "mod1": (6, 6, 6, 6), "mod10k": (6, 6, 6, 6),
                "bpf": (6, 5, 6, 6), "libka": (4, 4, 4, 4),
                "app": (6, 6, 6, 6)}


def tap_lines(s):
    """The smoke test's points, as PASS/FAIL/SKIP<TAB>what[<TAB>why]."""
    out = []
    m = s["meta"]
    for c in m.get("configs", "").split():
        if c in s["skipped"]:
            out.append(f"SKIP\t{c}: connections/s and stamping\t{s['skipped'][c]}")
            continue
        for p, pname in PATHS:
            e = s["crr"].get(c, {}).get(p, {})
            r = e.get("rate", {}).get("median")
            out.append(f"{'PASS' if r and r > 0 else 'FAIL'}\t{c} {pname}: "
                       f"{0 if not r else r:,.0f} connections/s, "
                       f"{e.get('errors', '?')} errors")
            st = e.get("stamped")
            lo_c, lo_s, hi_c, hi_s = STAMP_EXPECT.get(c, (0, 0, 6, 6))
            good = st and lo_c <= st[0] <= hi_c and lo_s <= st[1] <= hi_s
            out.append(f"{'PASS' if good else 'FAIL'}\t{c} {pname}: sockets "
                       f"carry {st[0] if st else '?'}/6 (client) and "
                       f"{st[1] if st else '?'}/6 (server) of the rule's values")
    for c in ("base", "mod1", "mod10k"):
        if c not in m.get("configs", "").split():
            continue
        b = s["bulk"].get(c, {}).get("mbytes_per_s", {}).get("median")
        out.append(f"{'PASS' if b else 'FAIL'}\tbulk {c}: {b or 0:,.0f} MB/s")
    for c in m.get("sso_configs", "").split():
        for o in ("keepidle", "nodelay"):
            e = s["sso"].get(c, {}).get(o)
            # force puts keepidle back to the rule's 10 s after every call
            want = 10 if (c, o) == ("modforce", "keepidle") else None
            good = e and e["median"] > 0 and (want is None or e["keepidle"] == want)
            out.append(f"{'PASS' if good else 'FAIL'}\tsetsockopt {c} {o}: "
                       f"{e['median'] if e else 0:,.0f} calls/s"
                       + (f", keepidle {e['keepidle'] if e else '?'} s after "
                          "the loop (the rule's 10)" if want else ""))
    want_pairs = m.get("shape_pairs") or 0
    for c in sorted(s["shape"]):
        if not want_pairs or not c.startswith("shape-"):
            continue
        w = s.get("shape_pairs", {}).get(c, {}).get("rate")
        n = w["pairs"] if w else 0
        out.append(f"{'PASS' if n == want_pairs * len(s['shape'][c]['values']) else 'FAIL'}"
                   f"\t{c}: {n} A/B pairs against the matching rule alone"
                   + (f", median ratio {w['median']:.3f}" if w else ""))
    for k, e in sorted(s["apply"].items()):
        out.append(f"PASS\tapply {k}: {e['median']:.3f} s")
    if not any(k.startswith("configfs/create/") for k in s["apply"]):
        out.append("FAIL\trule apply timings")
    for c, e in sorted(s.get("trace", {}).items()):
        out.append(f"PASS\t{c}: {e['read']:,} tracepoint events read, "
                   f"{e['stamps']:,} stamps, {e['overrun'] + e['dropped']:,} lost")
    for k, v in sorted(s.get("modload", {}).items()):
        out.append(f"PASS\t{k} module: tcptimeo events {v[0] or 'none'}")
    out += [f"FAIL\t{b}" for b in tp_problems(s)]
    mem = s["memory"]
    out.append(f"{'PASS' if mem else 'FAIL'}\tmemory figures for "
               f"{mem['rules'] if mem else '?'} rules")
    for e in s["errors"]:
        out.append(f"FAIL\tno error during the run: {e}")
    return out


SHAPE_NAMES = {
    "svc": "random service-port rules (as mod10k)",
    "rport-any": "`dir any remote-port P`",
    "lport-out": "`dir out local-port P`",
    "cidr4": "`dir any remote-addr`, IPv4 CIDR",
    "cidr6": "`dir any remote-addr`, IPv6 CIDR",
    "cgroup": "`dir any cgroup /ttshape/cN`",
    "netns": "`dir any netns N` (8 namespaces)",
    "mix": "all seven shapes, in turn",
}


def probe_cost_md(path):
    """bench/probe-cost.sh's records as a Markdown table (medians over the
    rounds).

    Per connection: tt_probe's time without its slowest 2 % of calls (the
    calls an interrupt's softirqs landed in) when the record has it, and
    the median tt_rules_lookup. "× 1 rule" compares 10,000-rule sets with
    the faster of the mod1 runs before and after them (the first pays for
    QEMU translating the module's code). "lookup alone": the median ns of
    one lookup in the kernel's loop (bench/lookup-bench.py), for the
    connecting end and the accepted one."""
    rows = [json.loads(x) for x in open(path) if x.strip()]
    names = {"mod0": "module, 0 rules", "mod1": "module, 1 matching rule",
             "mod1-after": "the same, after the 10,000-rule sets",
             "mod10k": "module, 10,000 rules (as in the main matrix)",
             "bpf": "BPF sock_ops"}
    for k, v in SHAPE_NAMES.items():
        names["shape-" + k] = "10,000: " + v
    order = ["mod0", "mod1", "mod1-after", "mod10k"] + \
        ["shape-" + k for k in SHAPE_NAMES] + ["bpf"]
    trim = any("probe_us_trim" in r for r in rows)
    ctl = any(r.get("control_median_us") for r in rows)
    alone = any(r.get("lookup_bench", {}).get("out") for r in rows)
    L = ["| configuration | calls per connection | µs per connection"
         + (" (slowest 2 % left out)" if trim else "") +
         " | × 1 rule | lookups per connection | median lookup, µs | × 1 rule |"
         + (" lookup ÷ control | × 1 rule |" if ctl else "")
         + (" lookup alone, ns: out / in | × 1 rule |" if alone else ""),
         "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if ctl else "")
         + ("---:|---:|" if alone else "")]
    lb = {}
    for c in order:
        R = [r["lookup_bench"] for r in rows
             if r["config"] == c and r.get("lookup_bench", {}).get("out")]
        if R:
            lb[c] = tuple(statistics.median(x[d]["ns"] for x in R) for d in ("out", "in"))
    ones = [lb[c] for c in ("mod1", "mod1-after") if c in lb]
    one_lb = [min(x[i] for x in ones) if ones else None for i in (0, 1)]
    st = {}
    for c in order:
        R = [r for r in rows if r["config"] == c]
        if not R:
            continue
        if c == "bpf":
            t = [(r["prog_us"], r["prog_runs"], r["rate"] * r["seconds"], 0, 0) for r in R]
        else:
            t = [(r.get("probe_us_trim", r["probe_us"]), r["probe_calls"],
                  r["traced_rate"] * r["traced_seconds"], r.get("lookups", 0),
                  r.get("lookup_median_us", 0)) for r in R]
        norm = [r["lookup_median_us"] / r["control_median_us"] for r in R
                if r.get("control_median_us")]
        st[c] = (statistics.median(n / conns for _, n, conns, _, _ in t),
                 statistics.median(us / conns for us, _, conns, _, _ in t),
                 statistics.median(lk / conns for _, _, conns, lk, _ in t),
                 statistics.median(m for *_, m in t),
                 statistics.median(norm) if norm else None)
    one = [st[c] for c in ("mod1", "mod1-after") if c in st]
    one_conn = min((x[1] for x in one), default=None)
    one_med = min((x[3] for x in one if x[3]), default=None)
    one_norm = min((x[4] for x in one if x[4]), default=None)
    for c in order:
        if c not in st:
            continue
        calls, conn, lk, med, norm = st[c]
        big = c == "mod10k" or c.startswith("shape-")
        x1 = f"{conn / one_conn:.2f}" if big and one_conn else ""
        x2 = f"{med / one_med:.2f}" if big and one_med and med else ""
        tail = ""
        if ctl:
            tail = (f" {norm:.2f} | " if norm else " | ") + \
                (f"{norm / one_norm:.2f} |" if big and norm and one_norm else " |")
        if alone:
            if c in lb:
                tail += f" {lb[c][0]:.0f} / {lb[c][1]:.0f} |"
                tail += (f" {lb[c][0] / one_lb[0]:.2f} / {lb[c][1] / one_lb[1]:.2f} |"
                         if big and one_lb[0] and one_lb[1] else " |")
            else:
                tail += " | |"
        L.append(f"| {names[c]} | {calls:.1f} | {conn:.1f} | {x1} | "
                 f"{lk:.2f} | {med:.2f} | {x2} |{tail}" if c != "bpf" else
                 f"| {names[c]} | {calls:.1f} | {conn:.1f} | | | | |" +
                 (" | |" if ctl else "") + (" | |" if alone else ""))
    return "\n".join(L) + "\n"


def update_doc(doc, latest_dir):
    def is_main(md):
        # <date>-<kver>.md of a full `make bench` (not -index, -fine ...)
        try:
            with open(md[:-3] + ".json") as f:
                kver = json.load(f)["summary"]["meta"].get("kver", "")
        except (OSError, ValueError, KeyError):
            return False
        return os.path.basename(md)[11:-3] == kver
    mds = sorted((m for m in glob.glob(os.path.join(latest_dir, "*.md")) if is_main(m)),
                 key=os.path.getmtime)
    if not mds:
        sys.exit(f"report: no results in {latest_dir}")
    md = mds[-1]
    rel = os.path.relpath(os.path.dirname(md), os.path.dirname(doc))
    body = open(md).read()
    # the chart link is relative to the results folder
    body = body.replace("](" + os.path.basename(md)[:-3] + ".png)",
                        f"]({rel}/{os.path.basename(md)[:-3]}.png)")
    text = open(doc).read()
    a, b = text.index(MARK_BEGIN), text.index(MARK_END)
    text = (text[:a + len(MARK_BEGIN)] + f"\n\nFrom `{os.path.relpath(md, os.path.dirname(doc))}`:\n\n"
            + body + "\n" + text[b:])
    open(doc, "w").write(text)
    print(f"report: {doc} now shows {md}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", nargs="?")
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--stem", help="output file names (default <date>-<kver>)")
    ap.add_argument("--tap", action="store_true",
                    help="print the smoke test's points, write nothing")
    ap.add_argument("--doc")
    ap.add_argument("--probe-cost", help="bench/probe-cost.sh's JSON lines: print a table")
    ap.add_argument("--latest")
    a = ap.parse_args()
    if a.doc:
        update_doc(a.doc, a.latest)
        return 0
    if a.probe_cost:
        print(probe_cost_md(a.probe_cost), end="")
        return 0
    recs = load(a.raw)
    s = summarize(recs)
    # the guest also leaves /proc/slabinfo before and after (memory phase)
    d = os.path.dirname(os.path.abspath(a.raw))
    if s["memory"] is not None and os.path.exists(os.path.join(d, "slabinfo.after")):
        s["memory"]["slab_caches"] = slab_growth(
            os.path.join(d, "slabinfo.before"), os.path.join(d, "slabinfo.after"))
    if a.tap:
        print("\n".join(tap_lines(s)))
        return 0
    kver = s["meta"].get("kver", "unknown")
    stem = a.stem or f"{time.strftime('%Y-%m-%d')}-{kver}"
    os.makedirs(a.out, exist_ok=True)
    png = os.path.join(a.out, stem + ".png")
    have_png = chart(s, png)
    with open(os.path.join(a.out, stem + ".json"), "w") as f:
        json.dump({"summary": s, "raw": recs}, f, indent=1, sort_keys=True)
    with open(os.path.join(a.out, stem + ".md"), "w") as f:
        f.write(markdown(s, stem + ".png" if have_png else None))
    print(f"report: {a.out}/{stem}.{{json,md{',png' if have_png else ''}}}")
    print_ratios(s)
    if a.check:
        bad = check(s)
        for b in bad:
            print("report: " + b, file=sys.stderr)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
