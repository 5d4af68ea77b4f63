#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the docs state agrees with their own numbers and with how a
Kubernetes node addresses sockets. One PASS/FAIL line per point (read by
check-docs.sh through tap.sh's tap_from_cmd):

- the operator guide's contents list every numbered section, in order;
- each rule of the guide's section 5 that uses keepalive states its
  arithmetic (I + V x C = T s), one with syn-retries N states the SYN
  times of §3's table (2^(N+1) - 1 s on 6.1, 2^(N+1) + 3 s on 6.5+), one
  with rto-max R its tcp_retries2 budget (§3's formula), and
  a case that promises "seconds, not minutes" has every bound under 60 s;
- the guide says which peer address and port a socket carries under
  kube-proxy, Cilium's socket load-balancing and an Istio sidecar, that a
  node-wide local-port rule covers every pod, and that a dead node is
  found by its node IP and its pod CIDR;
- no document calls an address of the Service range (10.96.0.0/12,
  kubeadm's default) a node, or aborts one as a dead node's peer;
- README.md and docs/*.md speak of no "this machine" or tracker issue.

    docs-facts.py SRC_DIR
"""
import ipaddress
import glob
import os
import re
import sys

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


def out(ok, what, diag=""):
    print(("PASS" if ok else "FAIL") + "\t" + what)
    if not ok and diag:
        for line in diag.splitlines():
            print("# " + line)


def plain_roff(text):
    return (text.replace("\\-", "-").replace("\\e", "\\").replace("\\(mu", "x")
            .replace("\\&", "").replace("\\%", ""))


def read(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if re.search(r"\.[0-9]$", path):
        text = re.sub(r"\\f[BIRP]", "", plain_roff(text))
    return text


def sections(text, level):
    """[(heading, body)] for the headings of exactly this level."""
    mark = "#" * level + " "
    parts, cur, body = [], None, []
    for line in text.splitlines():
        if line.startswith(mark):
            if cur is not None:
                parts.append((cur, "\n".join(body)))
            cur, body = line[len(mark):].strip(), []
        elif re.match(r"#{1,%d} " % (level - 1), line) if level > 1 else False:
            if cur is not None:
                parts.append((cur, "\n".join(body)))
            cur, body = None, []
        elif cur is not None:
            body.append(line)
    if cur is not None:
        parts.append((cur, "\n".join(body)))
    return parts


def slug(h):
    h = re.sub(r"[^a-z0-9 _-]", "", h.lower())
    return h.replace(" ", "-")


def check_toc(guide):
    heads = [h for h, _ in sections(guide, 2) if re.match(r"\d+\. ", h)]
    toc = re.findall(r"^\d+\. \[([^]]+)\]\(#([^)]+)\)", guide, re.M)
    want = [(re.sub(r"^\d+\. ", "", h), slug(h)) for h in heads]
    out(toc == want, f"operator guide: the contents list its {len(heads)} numbered sections, in order",
        "contents: %s\nsections: %s" % (toc, want))


def rule_words(line):
    w = line.split()
    r = {"name": w[0]}
    i = 1
    while i < len(w):
        if w[i] in ("keepalive", "force", "clamp", "audit", "disabled"):
            r[w[i]] = True
            i += 1
        else:
            r[w[i]] = w[i + 1] if i + 1 < len(w) else ""
            i += 2
    return r


def seconds(v):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", v)
    n, u = int(m.group(1)), m.group(2) or "s"
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[u]


def check_rules_arithmetic(guide):
    s5 = [b for h, b in sections(guide, 2) if h.startswith("5. ")]
    if not s5:
        out(False, "operator guide: section 5 exists")
        return
    n = 0
    for head, body in sections(s5[0], 3):
        blocks = re.findall(r"^```rules(?:-[\d.]+)?\n(.*?)^```", body, re.S | re.M)
        prose = re.sub(r"^```.*?^```", "", body, flags=re.S | re.M)
        prose = re.sub(r"\s+", " ", prose)
        for line in (l for b in blocks for l in b.splitlines() if l.strip() and not l.startswith("#")):
            r = rule_words(line)
            n += 1
            need, bounds = [], []
            if r.get("keepalive") and "idle" in r and "intvl" in r and "cnt" in r:
                i, v, c = seconds(r["idle"]), seconds(r["intvl"]), int(r["cnt"])
                t = i + v * c
                need.append(f"{i:g} + {v:g} × {c} = {t:g} s")
                bounds.append(t)
                if r.get("user-timeout") == "auto":
                    bounds.append(t)
            if r.get("user-timeout") not in (None, "auto"):
                v = r["user-timeout"]
                bounds.append(seconds(v) if re.search(r"[a-z]$", v) else int(v) / 1000)
            if "syn-retries" in r:
                k = int(r["syn-retries"])
                need += [f"{2 ** (k + 1) - 1} s", f"{2 ** (k + 1) + 3} s"]
            if "rto-max" in r:
                # the tcp_retries2 (15) budget under that RTO ceiling (§3)
                v = r["rto-max"]
                rto = seconds(v) if re.search(r"[a-z]$", v) else int(v) / 1000
                lin = (round(rto * 1000) // 200).bit_length() - 1
                budget = (2 ** (lin + 1) - 1) * 0.2 + (15 - lin) * rto
                need.append(f"{budget:g} s")
                bounds.append(budget)
            miss = [x for x in need if x not in prose]
            out(not miss, f"operator guide §5 '{head}': {r['name']} states its bounds ({', '.join(need) or 'none to state'})",
                "not in the text: " + "; ".join(miss))
            if "seconds, not minutes" in prose:
                out(all(b < 60 for b in bounds),
                    f"operator guide §5 '{head}': 'seconds, not minutes' holds for {r['name']} (bounds {bounds} s)")
    out(n >= 4, f"operator guide §5: {n} rules checked")


K8S_FACTS = [
    ("under kube-proxy (iptables, IPVS) a client socket's peer stays the ClusterIP and Service port",
     [r"kube-proxy, iptables or IPVS", r"peer 10\.96\.0\.10:6379, the ClusterIP"]),
    ("the server's accepted socket sees the client pod's IP, or a node IP when masqueraded",
     [r"client pod's IP", r"node IP where the path is masqueraded", r"externalTrafficPolicy: Cluster"]),
    ("under Cilium's socket load-balancing the peer is the backend pod IP and targetPort",
     [r"Cilium socket load-balancing", r"peer = the chosen backend's pod IP and `targetPort`", r"inside `connect\(\)`"]),
    ("behind an Istio sidecar REDIRECT makes the local ports 15001 (out) and 15006 (in), the app sees 127.0.0.6",
     [r"redirected to port 15001", r"local port 15001", r"redirected to port 15006", r"local port 15006", r"peer 127\.0\.0\.6"]),
    ("Envoy's upstream sockets carry the backend pod IPs",
     [r"upstream socket, whose peer is the backend's pod IP"]),
    ("a node-wide local-port 8080 rule matches every pod listening on 8080",
     [r"node-wide", r"every\s+socket accepted on port 8080 on the node, in every pod"]),
    ("a dead node's connections are found by its node IP and its pod CIDR",
     [r"found by its node IP and by its pod\s+CIDR", r"abort-peer 10\.0\.2\.17,10\.244\.3\.0/24"]),
]


def check_k8s(guide):
    s = [b for h, b in sections(guide, 2) if re.match(r"\d+\. Kubernetes", h)]
    if not s:
        out(False, "operator guide: a section on Kubernetes addressing")
        return
    body = re.sub(r"[ \t]*\n[ \t]*", "\n", s[0])
    flat = re.sub(r"\s+", " ", body)
    for what, pats in K8S_FACTS:
        miss = [p for p in pats if not re.search(p, flat)]
        out(not miss, "operator guide, Kubernetes: " + what, "missing: " + "; ".join(miss))


def in_service_range(a):
    try:
        return ipaddress.ip_network(a, strict=False).overlaps(SERVICE_RANGE)
    except ValueError:
        return False


def check_nodes(src, docs):
    bad = []
    for path in docs:
        text = read(os.path.join(src, path))
        for m in re.finditer(r"abort-peer\s+(\S+)", text):
            arg = m.group(1).strip("`")
            for c in arg.split(","):
                if in_service_range(c):
                    bad.append(f"{path}: abort-peer {arg}: {c} is in the Service range")
        for m in re.finditer(r"\b[Nn]ode\s+(\d+\.\d+\.\d+\.\d+)", text):
            if in_service_range(m.group(1)):
                bad.append(f"{path}: 'node {m.group(1)}': a Service ClusterIP, not a node")
    out(not bad, "no document calls a Service ClusterIP (10.96.0.0/12) a node or aborts it as one",
        "\n".join(bad))


def check_machine(src):
    bad = []
    pat = re.compile(r"\b(this\s+((shared|new|idle|same)\s+|\d+-core\s+)*(machine|host|box)"
                     r"|\d+-core\s+(machine|host|box)|[Ii]ssue\s+#?\d+)\b")
    for path in ["README.md"] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))):
        path = os.path.relpath(os.path.join(src, path), src)
        text = read(os.path.join(src, path))
        for m in pat.finditer(text):
            n = text.count("\n", 0, m.start()) + 1
            bad.append(f"{path}:{n}: {' '.join(m.group(0).split())!r}")
    out(not bad, "README.md and docs/*.md state no facts about 'this machine' and cite no tracker issue",
        "\n".join(bad))


def main():
    src = sys.argv[1]
    guide = read(os.path.join(src, "docs/operator-guide.md"))
    docs = (["README.md"] + [os.path.relpath(p, src) for p in sorted(glob.glob(os.path.join(src, "docs", "*.md")))]
            + ["docs/tcptimeo.4", "tools/tcptimeoctl/tcptimeoctl.8"])
    check_toc(guide)
    check_rules_arithmetic(guide)
    check_k8s(guide)
    check_nodes(src, docs)
    check_machine(src)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failing point, not silence
        out(False, f"docs-facts.py ran ({type(e).__name__}: {e})")
