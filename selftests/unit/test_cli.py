#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Host tests of the tcptimeoctl binary against a fake /sys tree.

TCPTIMEO_SYSROOT makes the CLI prefix every configfs/sysfs path and create
attribute files on write (no module validates them here; the VM tests in
selftests/3x-cli-* do that against the real module). Covered: every
command and exit code, JSON through json.loads, that `add`/`set` write a
rule in one `line`, apply validation/atomicity/plan and its hold/commit, save | apply - round
trip, explain precedence (tt_rule_cmp + tt_sel_match + cgroup/netns),
check findings, monitor's trace parser (--input) and its tracefs
instance on a fake tracefs (TCPTIMEO_TRACEFS).

usage: test_cli.py PATH_TO_TCPTIMEOCTL     (prints "ok - ..." lines)
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CTL = os.path.abspath(sys.argv[1])
failed = 0


def ok(cond, what, diag=None):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed += 1
        if diag:
            for line in str(diag).splitlines()[:20]:
                print("# " + line)
    return cond


def run(root, *args, stdin=None, env=None, user=None):
    e = dict(os.environ)
    if root is not None:
        e["TCPTIMEO_SYSROOT"] = root
    e.update(env or {})
    cmd = [CTL, *args]
    if user:
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user),
               "--clear-groups", *cmd]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       env=e, errors="replace")
    return p


def fake(tmp, module=True, configfs=True):
    root = tempfile.mkdtemp(dir=tmp)
    os.chmod(root, 0o755)
    if module:
        s = os.path.join(root, "sys/kernel/tcptimeo")
        os.makedirs(s + "/stats")
        for k, v in (("enabled", "1"), ("audit", "0"),
                     ("allow_kernel_sockets", "0"), ("version", "0.1.0")):
            with open(f"{s}/{k}", "w") as f:
                f.write(v + "\n")
        for k in ("stamped_in", "stamped_out", "skipped_app_set",
                  "skipped_kernel"):
            with open(f"{s}/stats/{k}", "w") as f:
                f.write("3\n")
        os.makedirs(os.path.join(root, "proc/net"))
        with open(os.path.join(root, "proc/net/tcptimeo"), "w") as f:
            f.write("local remote state cgroup keepalive idle intvl cnt "
                    "user_timeout syn_retries rule from\n")
    if configfs:
        os.makedirs(os.path.join(root, "sys/kernel/config/tcptimeo/rules"))
    os.makedirs(os.path.join(root, "sys/fs/cgroup/loadtest/w1"))
    return root


def rules_dir(root):
    return os.path.join(root, "sys/kernel/config/tcptimeo/rules")


def snapshot(root):
    out = {}
    base = rules_dir(root)
    for d, _, files in os.walk(base):
        out[os.path.relpath(d, base)] = None
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                out[os.path.relpath(os.path.join(d, f), base)] = fh.read()
    return out


def write_file(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "../../docs/examples/rules.conf")


def sysctl(name, default):
    try:
        with open("/proc/sys/net/ipv4/" + name) as f:
            return int(f.read())
    except OSError:
        return default


def test_no_module(tmp):
    root = fake(tmp, module=False, configfs=False)
    for args in (["list"], ["list", "-j"], ["show", "x"], ["stats"],
                 ["save"], ["add", "x", "--idle", "7"], ["set", "x", "--idle", "7"],
                 ["del", "x"], ["enable", "x"], ["disable", "x"],
                 ["apply", EXAMPLE], ["check"],
                 ["explain", "--dir", "out", "--remote", "1.2.3.4:80"]):
        p = run(root, *args)
        ok(p.returncode == 2 and "modprobe tcptimeo" in p.stderr,
           f"module not loaded: {' '.join(args[:2])} exits 2 and says modprobe tcptimeo",
           f"rc={p.returncode} {p.stderr}")
    root = fake(tmp, module=True, configfs=False)
    p = run(root, "list")
    ok(p.returncode == 2 and "mount -t configfs" in p.stderr,
       "configfs not mounted: exit 2 with the mount command", p.stderr)


def test_commands(tmp):
    root = fake(tmp)
    rd = rules_dir(root)
    p = run(root, "add", "istio-gateway", "--dir", "in", "--local-port", "8080",
            "--keepalive", "--idle", "7s", "--intvl=5", "--cnt", "2",
            "--user-timeout", "auto")
    ok(p.returncode == 0, "add istio-gateway", p.stderr)
    attrs = sorted(os.listdir(os.path.join(rd, "istio-gateway")))
    ok(attrs == ["enabled", "line"],
       "add writes the whole rule in one line, then enabled", attrs)
    with open(os.path.join(rd, "istio-gateway/line")) as f:
        ok(f.read() == "priority 1000 dir in local-port 8080 keepalive idle 7s "
           "intvl 5s cnt 2 user-timeout auto\n",
           "add writes the canonical line, durations with units")
    p = run(root, "show", "istio-gateway", "-j")
    try:
        j = json.loads(p.stdout)
        ok(j["name"] == "istio-gateway" and j["direction"] == "in" and
           j["local_ports"] == "8080" and j["keepalive"] is True and
           j["keepidle"] == 7 and j["keepintvl"] == 5 and j["keepcnt"] == 2 and
           j["user_timeout"] == 0 and j["user_timeout_auto"] is True and j["enabled"] is True and
           j["priority"] == 1000, "show -j: JSON with the rule's values")
    except (ValueError, KeyError) as e:
        ok(False, "show -j: JSON with the rule's values", f"{e}: {p.stdout}")
    p = run(root, "show", "istio-gateway")
    ok(p.returncode == 0 and "keepidle       7" in p.stdout and
       "line           istio-gateway priority 1000 dir in" in p.stdout,
       "show: one attribute per line and the rules-file line", p.stdout)

    p = run(root, "add", "istio-gateway", "--idle", "3")
    ok(p.returncode == 1 and "already exists" in p.stderr,
       "add of an existing name: exit 1, says it exists", p.stderr)
    before = snapshot(root)
    for args, field in ((["--idle", "40000"], "--idle '40000': out of range; valid: 0 (unset) or 1..32767 seconds"),
                        (["--user-timeout", "ten"], "--user-timeout 'ten': invalid; valid:"),
                        (["--local-port", "70000"], "--local-port '70000': out of range; valid:"),
                        (["--remote-addr", "10.1.1.1/8"], "--remote-addr '10.1.1.1/8': invalid; valid:"),
                        (["--dir"], "--dir: missing value; valid: in, out or any"),
                        (["idle", "7"], "unexpected argument 'idle'"),
                        (["--bogus"], "unknown option '--bogus'")):
        p = run(root, "add", "x", *args)
        ok(p.returncode == 1 and field in p.stderr and snapshot(root) == before,
           f"add x {' '.join(args)}: exit 1, nothing created, message: {field}",
           p.stderr)
    p = run(root, "add", "bad name")
    ok(p.returncode == 1 and "rule name 'bad name': invalid; valid: 1-32 characters" in p.stderr,
       "add with an invalid name: exit 1 with the valid characters", p.stderr)

    p = run(root, "add", "redis", "--dir", "out", "--remote-port", "6379",
            "--keepalive", "--idle", "1m", "--intvl", "20", "--cnt", "4")
    ok(p.returncode == 0, "add redis (idle 1m)", p.stderr)
    before = snapshot(root)
    p = run(root, "set", "redis", "--idle", "2m", "--remote-addr", "10.0.0.0/8,FD00::/8")
    after = snapshot(root)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    ok(p.returncode == 0 and changed == ["redis/line"] and
       after["redis/line"] == b"priority 1000 dir out remote-port 6379 "
       b"remote-addr 10.0.0.0/8,fd00::/8 keepalive idle 120s intvl 20s cnt 4\n",
       "set: one write of the whole line, the given words over the rule, canonical",
       f"{changed} {after.get('redis/line')} {p.stderr}")
    p = run(root, "set", "redis", "--remote-addr", "any", "--no-keepalive")
    after = snapshot(root)
    ok(p.returncode == 0 and after["redis/line"] == b"priority 1000 dir out "
       b"remote-port 6379 idle 120s intvl 20s cnt 4\n",
       "set --remote-addr any clears, --no-keepalive", f"{after.get('redis/line')} {p.stderr}")
    p = run(root, "set", "nosuch", "--idle", "3")
    ok(p.returncode == 1 and "no rule named 'nosuch'" in p.stderr, "set of a missing rule: exit 1")
    p = run(root, "set", "redis")
    ok(p.returncode == 1 and "nothing to change" in p.stderr, "set without options: exit 1")

    p = run(root, "disable", "redis")
    with open(os.path.join(rd, "redis/enabled")) as f:
        ok(p.returncode == 0 and f.read() == "0\n", "disable writes enabled=0")
    p = run(root, "list")
    ok(p.returncode == 0 and p.stdout.splitlines()[0].split()[:5] ==
       ["NAME", "PRIO", "STATE", "DIR", "MATCHED"] and "disabled" in p.stdout,
       "list: a table with a header", p.stdout)
    p = run(root, "list", "-j")
    try:
        j = json.loads(p.stdout)
        ok([r["name"] for r in j] == ["istio-gateway", "redis"] and
           j[1]["enabled"] is False and j[1]["matched"] == 0,
           "list -j: JSON array in evaluation order")
    except ValueError as e:
        ok(False, "list -j: JSON array in evaluation order", f"{e} {p.stdout}")
    p = run(root, "enable", "redis", "nosuch")
    with open(os.path.join(rd, "redis/enabled")) as f:
        ok(p.returncode == 1 and f.read() == "1\n" and "nosuch" in p.stderr,
           "enable: enables what exists, exit 1 for a missing name")

    # counters and strange strings: written the way the kernel would
    with open(os.path.join(rd, "redis/matched"), "w") as f:
        f.write("42\n")
    weird = b'/a"b\\c\x01\xff\xc3\xa9'
    # a module without "line" (read attribute by attribute): the CLI
    # still reads it
    os.unlink(os.path.join(rd, "redis/line"))
    with open(os.path.join(rd, "redis/cgroup"), "wb") as f:
        f.write(weird + b"\n")
    p = subprocess.run([CTL, "list", "-j"], capture_output=True,
                       env={**os.environ, "TCPTIMEO_SYSROOT": root})
    try:
        j = json.loads(p.stdout.decode("utf-8"))
        ok(j[1]["cgroup"] == '/a"b\\c\x01\ufffd\u00e9' and j[1]["matched"] == 42,
           "JSON escapes quotes, backslashes, control bytes; invalid UTF-8 -> U+FFFD")
    except (ValueError, UnicodeDecodeError) as e:
        ok(False, "JSON escapes quotes, backslashes, control bytes; invalid UTF-8 -> U+FFFD",
           f"{e} {p.stdout!r}")
    with open(os.path.join(rd, "redis/cgroup"), "w") as f:
        f.write("\n")

    p = run(root, "stats", "-j")
    try:
        j = json.loads(p.stdout)
        ok(j["enabled"] is True and j["version"] == "0.1.0" and
           j["stats"]["stamped_in"] == 3 and
           {r["name"]: r["matched"] for r in j["rules"]} ==
           {"istio-gateway": 0, "redis": 42},
           "stats -j: switches, counters and per-rule matched")
    except (ValueError, KeyError) as e:
        ok(False, "stats -j: switches, counters and per-rule matched", f"{e} {p.stdout}")
    p = run(root, "stats")
    ok(p.returncode == 0 and "stamped_in" in p.stdout and "redis" in p.stdout and "42" in p.stdout,
       "stats: text", p.stdout)

    p = run(root, "del", "redis")
    ok(p.returncode == 0 and not os.path.exists(os.path.join(rd, "redis")), "del removes the rule")
    p = run(root, "del", "redis")
    ok(p.returncode == 1 and "no rule named 'redis'" in p.stderr, "del of a missing rule: exit 1")

    p = run(root, "--help")
    ok(p.returncode == 0 and "usage: tcptimeoctl" in p.stdout, "--help: exit 0")
    p = run(root)
    ok(p.returncode == 1, "no command: exit 1")
    p = run(root, "frob")
    ok(p.returncode == 1 and "unknown command" in p.stderr, "unknown command: exit 1")

    if os.geteuid() == 0 and shutil.which("setpriv"):
        p = run(root, "add", "x", "--idle", "7", user=65534)
        ok(p.returncode == 3 and "needs root" in p.stderr,
           "unprivileged add: exit 3 (EACCES)", f"rc={p.returncode} {p.stderr}")
        p = run(root, "set", "istio-gateway", "--idle", "9", user=65534)
        ok(p.returncode == 3, "unprivileged set: exit 3", f"rc={p.returncode} {p.stderr}")
        p = run(root, "del", "istio-gateway", user=65534)
        ok(p.returncode == 3, "unprivileged del: exit 3", f"rc={p.returncode} {p.stderr}")
    else:
        ok(True, "unprivileged add: exit 3 # SKIP not root or no setpriv")


def test_apply(tmp):
    root = fake(tmp)
    with open(EXAMPLE) as f:
        example = f.read()
    p = run(root, "apply", EXAMPLE)
    ok(p.returncode == 0 and "4 to create, 0 to update, 0 to delete" in p.stdout,
       "apply the example rules file", p.stdout + p.stderr)
    txn = {}
    for k in ("hold", "commit"):
        with open(os.path.join(root, "sys/kernel/tcptimeo", k)) as f:
            txn[k] = f.read()
    ok(txn == {"hold": "60\n", "commit": "1\n"},
       "apply holds the table (hold 60) and commits it (commit 1)", txn)
    for k in ("hold", "commit"):
        os.unlink(os.path.join(root, "sys/kernel/tcptimeo", k))
    p = run(root, "list", "-j")
    names = [r["name"] for r in json.loads(p.stdout)]
    ok(names == ["istio-gateway", "redis", "upstream-12345", "loadtest-vip"],
       "the four mission rules are live, in evaluation order", names)
    save = run(root, "save").stdout
    snap = snapshot(root)
    p = run(root, "apply", "-", stdin=save)
    ok(p.returncode == 0 and "0 to create, 0 to update, 0 to delete, 4 unchanged" in p.stdout
       and snapshot(root) == snap, "save | apply - is a no-op", p.stdout + p.stderr)
    p = run(root, "apply", EXAMPLE)
    ok(p.returncode == 0 and "4 unchanged" in p.stdout and snapshot(root) == snap,
       "applying the same file twice changes nothing")
    ok(not os.path.exists(os.path.join(root, "sys/kernel/tcptimeo/hold")),
       "an apply with nothing to do takes no hold")

    # one bad line: every error reported with file:line, nothing changes
    bad = example + "\noops dir sideways idle 99999\nredis2 remote-port 0\n"
    path = write_file(tmp, "bad.conf", bad)
    n = len(bad.splitlines())
    p = run(root, "apply", path)
    ok(p.returncode == 1 and f"{path}:{n - 1}: dir 'sideways': invalid; valid: in, out or any" in p.stderr
       and f"{path}:{n - 1}: idle '99999': out of range; valid: 0 (unset) or 1..32767 seconds" in p.stderr
       and f"{path}:{n}: remote-port '0': out of range; valid:" in p.stderr
       and "3 errors" in p.stderr and snapshot(root) == snap,
       "apply with bad lines: every error as file:line with the range; nothing changed",
       p.stderr)
    p = run(root, "apply", "-", stdin="x dir in idle 5\nx dir out idle 5\n")
    ok(p.returncode == 1 and "<stdin>:2: rule 'x' is already defined at line 1" in p.stderr
       and snapshot(root) == snap, "apply: duplicate names are an error", p.stderr)
    open(os.path.join(root, "sys/fs/cgroup/cgroup.procs"), "w").close()
    p = run(root, "apply", "-", stdin="x cgroup /cgroup.procs idle 5\n")
    ok(p.returncode == 1 and "<stdin>:1: cgroup '/cgroup.procs': not a cgroup directory" in p.stderr
       and snapshot(root) == snap, "apply: a cgroup path naming a file is found before anything changes",
       p.stderr)
    p = run(root, "apply", "--dry-run", "-", stdin="x cgroup /nosuch idle 5\n")
    ok(p.returncode == 5 and "<stdin>:1: note: rule x: cgroup '/nosuch' is not present" in p.stderr
       and snapshot(root) == snap, "apply: a cgroup that does not exist yet is a note, not an error",
       p.stderr)
    p = run(root, "check", "-", stdin="x cgroup /nosuch idle 5\ny cgroup /loadtest idle 5\n")
    ok(p.returncode == 0 and "x: note: cgroup /nosuch is not present on this node" in p.stdout and
       "y: note" not in p.stdout and "2 rules checked, no findings, 1 note" in p.stdout,
       "check: notes a cgroup not present on this node (exit 0: the file is right where it exists), "
       "not one that is", p.stdout)
    p = run(root, "apply", os.path.join(tmp, "does-not-exist"))
    ok(p.returncode == 1 and snapshot(root) == snap, "apply of a missing file: exit 1")

    # a change: update one, add one, drop two, keep one disabled
    new = ("istio-gateway dir in local-port 8080 keepalive idle 9 intvl 5 cnt 2 user-timeout auto\n"
           "redis dir out remote-port 6379 keepalive idle 60 intvl 20 cnt 4\n"
           "extra priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled\n")
    path = write_file(tmp, "new.conf", new)
    p = run(root, "apply", "--dry-run", path)
    ok(p.returncode == 5 and snapshot(root) == snap and
       "update istio-gateway: idle 7 -> 9" in p.stdout and
       "create extra: extra priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled" in p.stdout and
       "delete upstream-12345" in p.stdout and "delete loadtest-vip" in p.stdout and
       "dry run, nothing changed: 1 to create, 1 to update, 2 to delete, 1 unchanged" in p.stdout,
       "apply --dry-run prints the plan, changes nothing and exits 5 (changes pending)",
       f"rc={p.returncode} {p.stdout}")
    saved = run(root, "save").stdout
    p = run(root, "apply", "--dry-run", "-", stdin=saved)
    ok(p.returncode == 0 and "0 to create, 0 to update, 0 to delete" in p.stdout,
       "apply --dry-run of what save prints: exit 0 (in sync)", f"rc={p.returncode} {p.stdout}")
    p = run(root, "apply", path)
    j = {r["name"]: r for r in json.loads(run(root, "list", "-j").stdout)}
    ok(p.returncode == 0 and sorted(j) == ["extra", "istio-gateway", "redis"] and
       j["istio-gateway"]["keepidle"] == 9 and j["extra"]["enabled"] is False,
       "apply creates, updates and deletes so live rules equal the file", p.stdout + p.stderr)
    save = run(root, "save").stdout
    ok("extra priority 5 dir any remote-port 9000-9100 syn-retries 2 disabled" in save,
       "save keeps a disabled rule with the word 'disabled'", save)
    snap = snapshot(root)
    p = run(root, "apply", "-", stdin=save)
    ok(p.returncode == 0 and "0 to create, 0 to update, 0 to delete, 3 unchanged" in p.stdout
       and snapshot(root) == snap, "save | apply - with a disabled rule is a no-op", p.stdout)
    p = run(root, "apply", "-", stdin="# nothing\n")
    ok(p.returncode == 0 and os.listdir(rules_dir(root)) == [],
       "apply of an empty file deletes every rule")


def explain(root, rules, *args):
    path = write_file(root, "explain.conf", rules)
    p = run(root, "explain", "--rules", path, "-j", *args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": p.stderr, "rc": p.returncode}


def test_explain(tmp):
    root = fake(tmp)
    idle, intvl, cnt = (sysctl("tcp_keepalive_time", 7200), sysctl("tcp_keepalive_intvl", 75),
                        sysctl("tcp_keepalive_probes", 9))
    syn = sysctl("tcp_syn_retries", 6)
    myns = os.stat("/proc/self/ns/net").st_ino
    cases = [
        # (rules, args, expected rule, expected decided, extra check)
        ("b priority 10 remote-port 80 idle 1\na priority 20 remote-port 80 idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "b", "connect",
         "lower priority number first"),
        ("b remote-port 80 idle 1\na remote-port 80 idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "a", "connect", "tie broken by name"),
        ("a remote-port 80 idle 1\nB remote-port 80 idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "B", "connect",
         "tie bytewise: B before a"),
        ("a remote-port 80 idle 1 disabled\nb remote-port 80 idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "b", "connect", "disabled rules are skipped"),
        ("a dir in local-port 8080 idle 1\nb dir out idle 2\n",
         ["--dir", "in", "--remote", "10.0.0.1:5000", "--local-port", "8080"], "a", "accept",
         "dir in on the full tuple"),
        ("a dir in local-port 8080 idle 1\nb dir out idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:8080"], "b", "connect", "dir out skips dir in rules"),
        ("a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--local-port", "15000"], "a", "established",
         "a local-port rule first: decided when established"),
        ("a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2 syn-retries 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--local-port", "30000"], "b", "established",
         "established, port outside: the next rule, without syn-retries"),
        ("a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2 syn-retries 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--local-port", "30000", "--bound"], "b", "connect",
         "bound local port: decided at connect, syn-retries applies"),
        ("a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], None, "depends",
         "no local port given: the outcome depends on it"),
        ("a priority 1 dir out remote-port 443 local-port 10000-20000 idle 1\nb priority 2 dir out idle 2 syn-retries 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "b", "connect",
         "a local-port rule that cannot match anyway does not defer"),
        ("v4 remote-addr 10.96.0.0/12 idle 1\nv6 remote-addr fd00::/8 idle 2\n",
         ["--dir", "out", "--remote", "[::ffff:10.96.0.10]:80"], "v4", "connect",
         "an IPv4-mapped peer matches IPv4 CIDRs"),
        ("v4 remote-addr 10.96.0.0/12 idle 1\nv6 remote-addr fd00::/8 idle 2\n",
         ["--dir", "out", "--remote", "[fd00::10]:80"], "v6", "connect", "IPv6 peer"),
        ("v4 remote-addr 10.96.0.0/12 idle 1\n",
         ["--dir", "out", "--remote", "10.112.0.1:80"], None, "none", "outside every CIDR"),
        ("lt cgroup /loadtest idle 1\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--cgroup", "/loadtest/w1"], "lt", "connect",
         "cgroup subtree: a child matches"),
        ("lt cgroup /loadtest idle 1\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--cgroup", "/loadtest2"], None, "none",
         "cgroup subtree: /loadtest2 is not under /loadtest"),
        (f"ns netns {myns} idle 1\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "ns", "connect", "netns: this process's namespace"),
        (f"ns netns {myns} idle 1\n",
         ["--dir", "out", "--remote", "10.0.0.1:80", "--netns", "net:[4026999999]"], None, "none",
         "netns: another namespace"),
        ("au audit idle 1\nb idle 2\n",
         ["--dir", "out", "--remote", "10.0.0.1:80"], "au", "connect", "an audit rule wins and stamps nothing"),
    ]
    for rules, args, want_rule, want_dec, what in cases:
        j = explain(root, rules, *args)
        ok(j.get("rule") == want_rule and j.get("decided") == want_dec,
           f"explain: {what}", j)
    j = explain(root, "a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2 syn-retries 2\n",
                "--dir", "out", "--remote", "10.0.0.1:80", "--local-port", "30000")
    ok(j["values"]["syn_retries"] == 2 and j["values"]["keepidle"] == 2 and
       "after the handshake" in j["sources"]["syn_retries"],
       "explain: decided when established, syn_retries written too late to bound connect()", j)
    j = explain(root, "a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2 syn-retries 2\n",
                "--dir", "out", "--remote", "10.0.0.1:80", "--local-port", "30000", "--bound")
    ok(j["values"]["syn_retries"] == 2, "explain: decided at connect, the rule's syn_retries", j)
    j = explain(root, "a priority 1 dir out local-port 10000-20000 idle 1\nb priority 2 dir out idle 2\n",
                "--dir", "out", "--remote", "10.0.0.1:80")
    ok([c["rule"] for c in j["candidates"]] == ["a", "b"] and
       j["candidates"][0]["local_ports"] == "10000-20000", "explain: candidates by local port", j)
    j = explain(root, "g dir in local-port 8080 keepalive idle 7 intvl 5 cnt 2 user-timeout auto\n",
                "--dir", "in", "--remote", "10.0.0.1:5000", "--local-port", "8080")
    ok(j["values"] == {"keepalive": 1, "keepidle": 7, "keepintvl": 5, "keepcnt": 2,
                       "user_timeout": 17000, "syn_retries": syn,
                       "rto_max": sysctl("tcp_rto_max_ms", None)},
       "explain: istio values, auto = 17000 (rto_max: the kernel's, null without it)", j)
    j = explain(root, "k keepalive user-timeout auto\n", "--dir", "out", "--remote", "10.0.0.1:80")
    ok(j["values"]["user_timeout"] == (idle + intvl * cnt) * 1000 and j["values"]["keepidle"] == idle,
       "explain: unset timings come from the sysctls, auto from them too", j)
    j = explain(root, "c clamp keepalive idle 1000000s syn-retries 100\n".replace("1000000s", str(idle + 1)),
                "--dir", "out", "--remote", "10.0.0.1:80")
    ok(j["values"]["keepidle"] == idle and j["values"]["syn_retries"] == min(100, syn),
       "explain: clamp never raises a value above the kernel's", j)
    j = explain(root, f"c clamp idle {max(idle - 1, 1)} user-timeout auto\n",
                "--dir", "out", "--remote", "10.0.0.1:80")
    ok(j["values"]["keepidle"] == max(idle - 1, 1) and
       j["values"]["user_timeout"] == (max(idle - 1, 1) + intvl * cnt) * 1000,
       "explain: clamp lowers, auto from the clamped values", j)
    j = explain(root, "au audit keepalive idle 1\n", "--dir", "out", "--remote", "10.0.0.1:80")
    ok(j["stamped"] is False and j["values"]["keepalive"] == 0 and j["values"]["keepidle"] == idle,
       "explain: audit leaves the kernel's values", j)
    # what an application's later setsockopt() meets (docs/ABI.md)
    for line, want in (("r keepalive idle 3 force", "restore"),
                       ("r keepalive idle 3 clamp", "restore_above"),
                       ("r keepalive idle 3", "keep"),
                       ("r keepalive idle 3 user-timeout auto", "keep_auto_follows"),
                       ("r keepalive idle 3 force audit", None)):
        j = explain(root, line + "\n", "--dir", "out", "--remote", "10.0.0.1:80")
        ok(j.get("after_setsockopt", "missing") == want,
           f"explain -j: after_setsockopt {want} for '{line}'", j)
    j = explain(root, "", "--dir", "out", "--remote", "10.0.0.1:80")
    ok(j.get("after_setsockopt", "missing") is None, "explain -j: after_setsockopt null without a rule", j)
    p = run(root, "explain", "--rules", write_file(root, "after.conf", "r keepalive idle 3 clamp\n"),
            "--dir", "out", "--remote", "10.0.0.1:80")
    ok(p.returncode == 0 and "a later setsockopt() by the application: values above the rule's" in p.stdout,
       "explain text: says what a later setsockopt() meets under clamp", p.stdout)
    for args, msg in ((["--dir", "sideways", "--remote", "1.2.3.4:80"], "--dir: invalid"),
                      (["--dir", "out", "--remote", "fd00::1:80"], "--remote: invalid"),
                      (["--dir", "out", "--remote", "1.2.3.4:0"], "--remote: invalid"),
                      (["--dir", "in", "--remote", "1.2.3.4:80"], "--local-port: required with --dir in"),
                      (["--dir", "out", "--remote", "1.2.3.4:80", "--cgroup", "/a", "--pid", "1"],
                       "not both")):
        p = run(root, "explain", "--rules", EXAMPLE, *args)
        ok(p.returncode == 1 and msg in p.stderr, f"explain {' '.join(args)}: exit 1 ({msg})", p.stderr)
    p = run(root, "explain", "--rules", EXAMPLE, "--dir", "out", "--remote", "10.96.0.10:6379",
            "--cgroup", "/loadtest/w1")
    ok(p.returncode == 0 and "rule: redis (priority 1000)" in p.stdout and
       "TCP_KEEPIDLE      60 s" in p.stdout, "explain text: redis wins over the loadtest default", p.stdout)


def test_check(tmp):
    root = fake(tmp)
    idle = sysctl("tcp_keepalive_time", 7200)
    p = run(root, "check", EXAMPLE)
    ok(p.returncode == 0 and "4 rules checked, no findings" in p.stdout,
       "check: the example file is clean", p.stdout + p.stderr)
    text = ("low keepalive idle 60 intvl 20 cnt 4 user-timeout 10000\n"
            "high keepalive idle 10 intvl 5 cnt 2 user-timeout 600000\n"
            "noidle keepalive remote-port 5000\n"
            "wide priority 10 dir any remote-addr 10.0.0.0/8 idle 30\n"
            "narrow priority 20 dir out remote-addr 10.1.0.0/16 remote-port 80 idle 5\n"
            "cg1 priority 30 cgroup /loadtest idle 5\n"
            "cg2 priority 40 cgroup /loadtest/w1 remote-port 22 idle 6\n"
            "cg3 priority 45 cgroup /a idle 5\n"
            "nothing priority 50 remote-port 7000\n"
            "syn priority 60 dir out local-port 5000 syn-retries 2\n"
            "auto priority 70 keepalive idle 5 user-timeout auto\n"
            "bad dir nowhere\n")
    path = write_file(tmp, "lint.conf", text)
    p = run(root, "check", path)
    out = p.stdout
    expect = [
        f"{path}:1: low: warning: user-timeout 10000 ms is below idle + intvl * cnt = 60 + 20 * 4 = 140 s",
        f"{path}:2: high: warning: user-timeout 600000 ms is more than 3x idle + intvl * cnt = 20 s",
        f"{path}:3: noidle: warning: keepalive is on but idle is unset: the node's net.ipv4.tcp_keepalive_time gives {idle} s",
        f"{path}:5: narrow: warning: can never match: rule wide (priority 10) comes first",
        f"{path}:7: cg2: warning: can never match: rule cg1 (priority 30) comes first",
        f"{path}:8: cg3: note: cgroup /a is not present on this node",
        f"{path}:9: error: rule 'nothing' sets no option; valid: at least one of",
        f"{path}:10: syn: warning: syn-retries 2 cannot apply to outgoing connections",
        f"{path}:11: auto: note: user-timeout auto with intvl cnt unset",
        f"{path}:12: error: dir 'nowhere': invalid; valid: in, out or any",
        "10 rules checked: 2 errors, 9 warnings, 2 notes",
    ]
    for e in expect:
        ok(e in out, "check finds: " + e.split(": ", 1)[-1][:70], out)
    ok(p.returncode == 1 and not any(l.startswith(f"{path}:4:") for l in out.splitlines()),
       "check: exit 1 with errors; the clean rule 'wide' is not reported", out)

    # issue 15.8: severities; errors are what apply refuses, nothing else
    def chk(text, *args):
        return run(root, "check", *args, "-", stdin=text)
    ok_setup = "svc dir out remote-port 443 keepalive idle 10 intvl 5 cnt 3 user-timeout 10s\n"
    p = chk(ok_setup)
    ok(p.returncode == 0 and ": svc: warning: user-timeout 10000 ms is below" in p.stdout
       and "1 rule checked: 1 warning" in p.stdout,
       "keepalive 10/5/3 with user-timeout 10s: a warning, exit 0 (a valid setup)",
       f"rc={p.returncode} {p.stdout}")
    p = chk(ok_setup, "--strict")
    ok(p.returncode == 1 and "--strict: warnings fail the check" in p.stderr,
       "... and exit 1 with --strict", f"rc={p.returncode} {p.stdout} {p.stderr}")
    p = chk("cg priority 45 cgroup /not-yet idle 5\n", "--strict")
    ok(p.returncode == 0 and "cg: note: cgroup /not-yet is not present" in p.stdout
       and "1 rule checked, no findings, 1 note" in p.stdout,
       "a note (cgroup not present) passes even --strict", f"rc={p.returncode} {p.stdout}")
    p = chk("bare dir out remote-port 80 user-timeout 10\n")
    ok(p.returncode == 0 and "bare: warning: user-timeout 10 (a bare number: milliseconds) "
       "is 10 ms" in p.stdout and "write user-timeout 10s" in p.stdout,
       "a bare user-timeout below 1000: warned as milliseconds, with the fix", p.stdout)
    p = chk("ms dir out remote-port 80 user-timeout 500ms\n")
    ok(p.returncode == 0 and "ms: warning: user-timeout 500ms is 500 ms, under a second" in p.stdout,
       "user-timeout 500ms: warned as under a second (not as bare)", p.stdout)
    p = chk("s dir out remote-port 80 user-timeout 1000\n")
    ok(p.returncode == 0 and "no findings" in p.stdout,
       "user-timeout 1000 (one second): no warning", p.stdout)
    open(os.path.join(root, "sys/fs/cgroup/afile"), "w").close()
    cases = {
        "clean": "a dir out remote-port 80 idle 5\n",
        "parse error": "a dir sideways idle 5\n",
        "duplicate": "a idle 5\na idle 6\n",
        "cgroup is a file": "a cgroup /afile idle 5\n",
        "cgroup absent": "a cgroup /later idle 5\n",
        "sets nothing": "a dir in\n",
        "warnings only": "a keepalive remote-port 5000\nb dir out remote-port 80 user-timeout 10\n",
    }
    for what, text in cases.items():
        a = run(root, "apply", "--dry-run", "-", stdin=text)
        c = chk(text)
        ok((a.returncode == 1) == (c.returncode == 1) and c.returncode in (0, 1),
           f"check and apply --dry-run agree on a file ({what}): "
           f"apply {a.returncode}, check {c.returncode}",
           f"apply: {a.stdout} {a.stderr}\ncheck: {c.stdout} {c.stderr}")
    p = chk("a cgroup /afile idle 5\n")
    ok(p.returncode == 1 and "<stdin>:1: error: cgroup '/afile': not a cgroup directory" in p.stdout,
       "check: a cgroup path naming a file is an error, as apply says", p.stdout)
    p = run(root, "check", "--bogus")
    ok(p.returncode == 1 and "unexpected argument '--bogus'" in p.stderr,
       "check --bogus: exit 1, with the usage", p.stderr)
    p = run(root, "add", "x", "--keepalive")
    p = run(root, "check")
    ok(p.returncode == 0 and "x: warning: keepalive is on but idle is unset" in p.stdout,
       "check without FILE lints the live rules (a warning: exit 0)", p.stdout)


FEATURES_ALL = "keepalive keepidle keepintvl keepcnt user_timeout syn_retries rto_max\n"
FEATURES_OLD = "keepalive keepidle keepintvl keepcnt user_timeout syn_retries\n"


def features(root, text):
    p = os.path.join(root, "sys/kernel/tcptimeo/features")
    if text is None:
        if os.path.exists(p):
            os.unlink(p)
    else:
        with open(p, "w") as f:
            f.write(text)


def model_timeout(retries2, rto_max):
    """The kernel's tcp_model_timeout() in ms, rto_base TCP_RTO_MIN."""
    thresh = (rto_max // 200).bit_length() - 1
    if retries2 <= thresh:
        return ((2 << retries2) - 1) * 200
    return ((2 << thresh) - 1) * 200 + (retries2 - thresh) * rto_max


def test_rto_max(tmp):
    """rto_max (TCP_RTO_MAX_MS, Linux 6.15): issue 17."""
    ok([model_timeout(15, r) for r in (120000, 30000, 10000, 1000)] ==
       [924600, 291000, 112600, 14400], "the test's tcp_model_timeout() gives the kernel's numbers")
    root = fake(tmp)
    rd = rules_dir(root)
    rel = os.uname().release
    unsup = (f"tcptimeoctl: rule web: rto-max: not supported by this kernel "
             f"(TCP_RTO_MAX_MS needs Linux 6.15 or later; running {rel})\n")
    for feat, what in ((FEATURES_OLD, "features without rto_max"),
                       (None, "no features file (an older module)")):
        features(root, feat)
        before = snapshot(root)
        p = run(root, "add", "web", "--idle", "7", "--rto-max", "2s")
        ok(p.returncode == 1 and p.stderr == unsup and snapshot(root) == before,
           f"add --rto-max refused, {what}: exit 1, the message, nothing written", show(p))
        p = run(root, "add", "web", "--idle", "7")
        ok(p.returncode == 0, f"{what}: a rule without rto-max is accepted", show(p))
        p = run(root, "set", "web", "--rto-max", "2s")
        with open(os.path.join(rd, "web/line")) as f:
            line = f.read()
        ok(p.returncode == 1 and p.stderr == unsup and "rto-max" not in line,
           f"set --rto-max refused, {what}: nothing written", show(p))
        p = run(root, "set", "web", "--rto-max", "0")
        ok(p.returncode == 0, f"{what}: set --rto-max 0 (unset) is accepted", show(p))
        conf = write_file(tmp, "rto.conf", "a idle 9\nweb idle 7 rto-max 1500ms\n")
        before = snapshot(root)
        p = run(root, "apply", conf)
        ok(p.returncode == 1 and f"{conf}:2: rule web: rto-max: not supported by this kernel "
           f"(TCP_RTO_MAX_MS needs Linux 6.15 or later; running {rel})" in p.stderr and
           "nothing changed" in p.stderr and snapshot(root) == before,
           f"apply with an rto-max rule, {what}: refused as a whole, nothing changed", show(p))
        p = run(root, "check", conf)
        ok("rto-max: this node's kernel or module has no TCP_RTO_MAX_MS" in p.stdout,
           f"check: a note that apply refuses rto-max here, {what}", show(p))
        run(root, "del", "web")
    features(root, FEATURES_ALL)
    for args, val in ((["--rto-max", "2s"], 2000), (["--rto-max", "1500ms"], 1500),
                      (["--rto-max=1500"], 1500), (["--rto-max", "2m"], 120000)):
        p = run(root, "add", "web", "--idle", "7", *args)
        with open(os.path.join(rd, "web/line")) as f:
            line = f.read()
        want = "rto-max 1500ms" if val == 1500 else f"rto-max {val // 1000}s"
        ok(p.returncode == 0 and line == f"priority 1000 dir any idle 7s {want}\n",
           f"add {' '.join(args)}: the line says {want}", show(p) + line)
        p = run(root, "show", "web", "-j")
        ok(p.returncode == 0 and json.loads(p.stdout or "{}").get("rto_max") == val,
           f"show -j: rto_max {val} (ms)", show(p))
        run(root, "del", "web")
    p = run(root, "add", "r2", "--rto-max", "2s")
    ok(p.returncode == 0, "add: rto-max alone is an option", show(p))
    p = run(root, "list", "-j")
    ok(p.returncode == 0 and [r["rto_max"] for r in json.loads(p.stdout or "[]")] == [2000],
       "list -j: rto_max", show(p))
    p = run(root, "show", "r2")
    ok(p.returncode == 0 and "rto_max        2000\n" in p.stdout, "show: rto_max in ms", show(p))
    p = run(root, "save")
    ok(p.returncode == 0 and "r2 priority 1000 dir any rto-max 2s\n" in p.stdout, "save: rto-max 2s", show(p))
    saved = p.stdout
    p = run(root, "apply", "--dry-run", "-", stdin=saved)
    ok(p.returncode == 0, "save | apply --dry-run -: in sync (rto-max round trip)", show(p))
    p = run(root, "set", "r2", "--rto-max", "3s")
    ok(p.returncode == 0, "set --rto-max 3s", show(p))
    p = run(root, "apply", "--dry-run", "-", stdin=saved)
    ok(p.returncode == 5 and "update r2: rto-max 3000 -> 2000" in p.stdout,
       "apply --dry-run: an rto-max change is an update", show(p))
    # an old module's rule directory: no line file, no rto_max attribute
    os.makedirs(os.path.join(rd, "old"))
    for k, v in (("enabled", "1"), ("keepidle", "7")):
        with open(os.path.join(rd, "old", k), "w") as f:
            f.write(v + "\n")
    p = run(root, "show", "old", "-j")
    ok(p.returncode == 0 and json.loads(p.stdout or "{}").get("rto_max") == 0,
       "show -j: an old module's rule without the rto_max attribute is 0", show(p))
    for args, msg in ((["--rto-max", "999ms"], "--rto-max '999ms': out of range"),
                      (["--rto-max", "120001"], "--rto-max '120001': out of range"),
                      (["--rto-max", "2x"], "--rto-max '2x': invalid"),
                      (["--rto-max"], "--rto-max: missing value")):
        before = snapshot(root)
        p = run(root, "add", "bad", "--idle", "7", *args)
        ok(p.returncode == 1 and msg in p.stderr and
           "valid: 0 (unset) or 1000..120000 ms (1000, 1500ms, 2s, 2m)" in p.stderr
           and snapshot(root) == before, f"add {' '.join(args)}: exit 1, {msg}, nothing written", show(p))
    features(root, FEATURES_ALL)

    # explain: the value, its source and the dead-peer bound
    r2 = sysctl("tcp_retries2", 15)
    sys_rto = sysctl("tcp_rto_max_ms", None)
    for rule, rto, uto in (("e idle 7 rto-max 2s", 2000, 0), ("e idle 7 rto-max 10s", 10000, 0),
                           ("e idle 7 rto-max 1s", 1000, 0),
                           ("e idle 7 rto-max 2s user-timeout 30s", 2000, 30000)):
        j = explain(root, rule + "\n", "--dir", "out", "--remote", "10.0.0.1:80")
        bt = j.get("busy_timeout", {})
        want = uto or model_timeout(r2, rto)
        ok(j.get("values", {}).get("rto_max") == rto and j["sources"]["rto_max"] == "rule" and
           bt.get("ms") == want and bt.get("by") == ("user_timeout" if uto else "tcp_retries2") and
           bt.get("tcp_retries2") == r2 and j.get("heal_retransmit_max_ms") == rto,
           f"explain -j '{rule}': rto_max {rto}, busy connection bound {want} ms", j)
    j = explain(root, "e idle 7\n", "--dir", "out", "--remote", "10.0.0.1:80")
    dflt = sys_rto or 120000
    ok(j.get("values", {}).get("rto_max") == dflt and
       j["sources"]["rto_max"] in ("sysctl net.ipv4.tcp_rto_max_ms",
                                   "kernel default 120000 (net.ipv4.tcp_rto_max_ms not read)") and
       j["busy_timeout"]["ms"] == model_timeout(r2, dflt),
       "explain -j: no rto-max in the rule: the sysctl's (or 120000) and its bound", j)
    p = run(root, "explain", "--rules", write_file(root, "e.conf", "e idle 7 rto-max 10s\n"),
            "--dir", "out", "--remote", "10.0.0.1:80")
    ok(p.returncode == 0 and "TCP_RTO_MAX_MS    10000 ms     rule\n" in p.stdout and
       (r2 != 15 or "busy connection, peer gone: ends after about 112.6 s" in p.stdout) and
       "partition healed: the next retransmission, and the connection's recovery, come "
       "within rto_max = 10 s" in p.stdout, "explain text: rto_max, the 112.6 s bound, the heal delay", p.stdout)
    features(root, None)
    j = explain(root, "e idle 7 rto-max 2s\n", "--dir", "out", "--remote", "10.0.0.1:80")
    ok("refused" in j.get("sources", {}).get("rto_max", "") and
       j["busy_timeout"]["ms"] == model_timeout(r2, dflt),
       "explain -j: an old module: the rule's rto-max is refused, the bound from the kernel's", j)

    # sockets: the new format (7-character from, rto_max last) and the old
    root2 = fake_incident(tmp, PROC_HEAD.replace(" from\n", " from rto_max\n") +
                          "10.77.0.1:40000 10.77.0.2:8080 ESTABLISHED 1234 1 7 5 2 17000 6 web rarradr 2000\n"
                          "10.77.0.1:40001 10.77.0.2:8080 ESTABLISHED 1234 0 7200 75 9 0 6 - dddddda 30000\n"
                          "10.77.0.1:40002 10.77.0.2:8080 ESTABLISHED 1234 0 7200 75 9 0 6 - ddddddd 120000\n"
                          "10.77.0.1:40003 10.77.0.2:8080 ESTABLISHED 1234 0 7200 75 9 0 6 - dddddd- -\n"
                          "10.77.0.1:40004 10.77.0.2:8080 ESTABLISHED 1234 0 7200 75 9 0 6 - rarrad\n"
                          "10.77.0.1:40005 10.77.0.2:8080 ESTABLISHED 1234 0 7200 75 9 0 6 -\n")
    p = run(root2, "sockets", "-j")
    try:
        j = json.loads(p.stdout)
        good = ([x["rto_max"] for x in j] == [2000, 30000, 120000, None, None, None] and
                [x.get("from", {}).get("rto_max") for x in j] ==
                ["rule", "application", "default", None, None, None] and
                j[0]["from"]["keepidle"] == "application" and "from" not in j[5] and
                j[3]["from"]["syn_retries"] == "default")
    except (ValueError, KeyError, IndexError) as e:
        good = f"{e}"
    ok(good is True and p.returncode == 0, "sockets -j: rto_max and its source, new and old formats", show(p))
    p = run(root2, "sockets")
    lines = p.stdout.splitlines()
    ok(p.returncode == 0 and "RTO_MAX" in lines[0].split() and lines[1].split()[-1] == "rarradr"
       and " 2000 " in lines[1] and lines[4].split()[-1] == "dddddd-",
       "sockets: an RTO_MAX column, FROM with 7 characters", show(p))
    for bad in ("dddddd 2000", "ddddddr", "ddddddr -", "dddddd- 2000", "ddddddx 2000",
                "ddddddr 0", "ddddddr 2000 x"):
        root3 = fake_incident(tmp, PROC_HEAD + "10.77.0.1:40000 10.77.0.2:8080 ESTABLISHED 1 0 7200 75 9 0 6 - "
                              + bad + "\n")
        p = run(root3, "sockets", "-j")
        ok(json.loads(p.stdout or "[]") == [], f"sockets: the line ending '{bad}' is not understood", show(p))

    # monitor: rto_max= at the end of stamp, rto_max in set/skipped
    line = ("stamp: rule=web dir=in origin=new mode=fill audit=0 src=10.0.0.1:80 "
            "dst=10.0.0.2:5555 netns=1 cgroup=1 set=idle|rto_max skipped=none keepalive=0 "
            "idle=30 intvl=75 cnt=9 user_timeout=0 syn_retries=6 rto_max=2000")
    p = run(root, "monitor", "-j", "--input", "-", stdin=f"x-1 [000] .... 1.5: {line}\n"
            f"x-1 [000] .... 1.6: {line.replace('set=idle|rto_max', 'set=idle,rto_max').rsplit(' ', 1)[0]}\n")
    try:
        j = [x for x in json_lines(p.stdout) if x.get("event") == "stamp"]
        good = (j[0]["rto_max"] == 2000 and j[0]["set"] == ["idle", "rto_max"] and
                "rto_max" not in j[1] and j[1]["set"] == ["idle", "rto_max"] and len(j) == 2)
    except (ValueError, KeyError, IndexError) as e:
        good = f"{e}"
    ok(good is True and p.returncode == 0,
       "monitor -j: rto_max a number, set with rto_max, a line without it (older module)", show(p))
    p = run(root, "monitor", "--input", "-", stdin=f"x-1 [000] .... 1.5: {line}\n")
    ok(p.returncode == 0 and p.stdout.rstrip().endswith("syn_retries=6 rto_max=2000"),
       "monitor: the text line keeps rto_max", show(p))


def test_manpage(tmp):
    """The man page EXAMPLES on the fake tree (the VM test runs them for real)."""
    import re
    root = fake(tmp)
    man = os.path.join(os.path.dirname(EXAMPLE), "../../tools/tcptimeoctl/tcptimeoctl.8")
    with open(man) as f:
        sect = f.read().split("\n.SH EXAMPLES\n", 1)[1].split("\n.SH ", 1)[0]
    cmds = []
    for block in re.findall(r"^\.EX\n(.*?)^\.EE$", sect, re.S | re.M):
        block = re.sub(r"\\\n\s*", " ", block.replace("\\-", "-").replace("\\e", "\\"))
        cmds += [line.strip() for line in block.splitlines() if line.strip()]
    env = dict(os.environ, TCPTIMEO_SYSROOT=root,
               PATH=os.path.dirname(CTL) + ":" + os.environ["PATH"])
    bad = []
    for cmd in cmds:
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, cwd=tmp)
        if p.returncode:
            bad.append(f"{cmd}: exit {p.returncode}: {p.stderr.strip()}")
    ok(len(cmds) >= 10 and not bad, f"the {len(cmds)} man page examples run on a fake tree",
       "\n".join(bad))


PROM_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
PROM_LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,(?=[a-zA-Z_]))?)*\}'


def parse_prometheus(text):
    """A strict reader of the Prometheus text exposition format 0.0.4, as
    node-exporter's textfile collector reads it. Returns {family: {"type",
    "help", "samples": {(name, labels): value}}}; raises ValueError."""
    import re
    fams, order, done = {}, [], set()
    sample = re.compile(rf"({PROM_NAME})({PROM_LABELS})?\s+(\S+)")
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    cur = None
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({PROM_NAME}) (.*)", line)
            if not m:
                raise ValueError(f"line {n}: bad comment {line!r}")
            kind, name, rest = m.groups()
            f = fams.setdefault(name, {"samples": {}})
            if kind.lower() in f:
                raise ValueError(f"line {n}: second {kind} for {name}")
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary",
                                "untyped"):
                    raise ValueError(f"line {n}: bad type {rest!r}")
                if f["samples"]:
                    raise ValueError(f"line {n}: TYPE after samples of {name}")
            f[kind.lower()] = rest
            continue
        m = sample.fullmatch(line)
        if not m:
            raise ValueError(f"line {n}: bad sample {line!r}")
        name, labels, value = m.groups()
        float(value)
        if name not in fams:
            raise ValueError(f"line {n}: {name} has no TYPE/HELP")
        if cur != name:
            if name in done:
                raise ValueError(f"line {n}: samples of {name} not grouped")
            if cur:
                done.add(cur)
            cur = name
        lab = tuple(sorted(label.findall(labels or "")))
        if len({k for k, _ in lab}) != len(lab):
            raise ValueError(f"line {n}: repeated label name")
        key = (name, lab)
        if key in fams[name]["samples"]:
            raise ValueError(f"line {n}: duplicate series {key}")
        fams[name]["samples"][key] = float(value)
        if fams[name].get("type") == "counter" and float(value) < 0:
            raise ValueError(f"line {n}: negative counter")
        order.append(name)
    for name, f in fams.items():
        if "type" not in f or "help" not in f:
            raise ValueError(f"{name}: HELP and TYPE both needed")
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ValueError(f"{name}: a counter's name ends in _total")
    return fams


PROC_HEAD = ("local remote state cgroup keepalive idle intvl cnt "
             "user_timeout syn_retries rule from\n")
# the first two lines carry "from" (r/a/d per option); the rest are as a
# module before it printed them
PROC = PROC_HEAD + """10.77.0.1:40000 10.77.0.2:8080 ESTABLISHED 1234 1 7 5 2 17000 6 web rarrad
[fd77::1]:40001 [fd77::2]:8080 ESTABLISHED 1234 0 7200 75 9 0 6 - dddddd
[::ffff:10.77.0.1]:8080 [::ffff:10.77.0.9]:5555 CLOSE_WAIT 1 0 7200 75 9 0 6 -
10.77.0.1:40002 10.77.0.3:80 FIN_WAIT2 1 0 60 75 9 0 6 -
10.77.0.1:40003 10.77.0.2:9000 SYN_SENT 18446744073709551615 0 7200 75 9 0 3 db.main-1
[fd77::1]:40004 [fd77::9]:443 TIME_WAIT 1 0 7200 75 9 0 6 -
"""


def fake_incident(tmp, proc=PROC):
    root = fake(tmp)
    s = os.path.join(root, "sys/kernel/tcptimeo/stats")
    for k, v in (("audit_matched", 11), ("existing_stamped", 40),
                 ("timeouts_unmatched", 2), ("peers_aborted", 5)):
        with open(f"{s}/{k}", "w") as f:
            f.write(f"{v}\n")
    with open(os.path.join(root, "proc/net/tcptimeo"), "w") as f:
        f.write(proc)
    return root


def test_incident(tmp):
    """stats --prometheus, sockets, abort-peer, apply --existing (issue 5)."""
    root = fake_incident(tmp)
    run(root, "add", "web", "--dir", "in", "--local-port", "8080", "--keepalive",
        "--idle", "7", "--clamp")
    run(root, "add", "db.main-1", "--dir", "out", "--remote-port", "9000",
        "--syn-retries", "3", "--audit")
    rd = rules_dir(root)
    for name, m, ti, tb in (("web", 9, 4, 1), ("db.main-1", 3, 0, 2)):
        for k, v in (("matched", m), ("timeouts_idle", ti), ("timeouts_busy", tb)):
            with open(f"{rd}/{name}/{k}", "w") as f:
                f.write(f"{v}\n")

    # ---- stats ----
    p = run(root, "stats")
    ok(p.returncode == 0 and all(k in p.stdout for k in (
        "audit_matched", "existing_stamped", "timeouts_unmatched", "peers_aborted",
        "TIMEOUTS_IDLE", "TIMEOUTS_BUSY")) and
       any(ln.split()[:5] == ["web", "enabled", "9", "4", "1"]
           for ln in p.stdout.splitlines()),
       "stats: the issue-5 counters and per-rule matched/timeouts_idle/timeouts_busy",
       p.stdout + p.stderr)
    p = run(root, "stats", "-j")
    try:
        j = json.loads(p.stdout)
        r = {x["name"]: x for x in j["rules"]}
        good = (j["stats"]["audit_matched"] == 11 and j["stats"]["existing_stamped"] == 40
                and j["stats"]["timeouts_unmatched"] == 2 and j["stats"]["peers_aborted"] == 5
                and r["web"]["timeouts_idle"] == 4 and r["web"]["timeouts_busy"] == 1
                and r["db.main-1"]["matched"] == 3 and r["db.main-1"]["timeouts_busy"] == 2)
    except (ValueError, KeyError) as e:
        good, p = False, f"{e}: {p.stdout}"
    ok(good, "stats -j: issue-5 counters, global and per rule", p)

    p = run(root, "stats", "--prometheus")
    try:
        fams = parse_prometheus(p.stdout)
        err = None
    except ValueError as e:
        fams, err = {}, str(e)
    ok(p.returncode == 0 and err is None,
       "stats --prometheus: valid text exposition format (HELP, TYPE, grouped "
       "samples, no duplicate series, counters end in _total)", f"{err}\n{p.stdout}")

    def val(fam, **labels):
        f = fams.get(fam, {"samples": {}})
        return f["samples"].get((fam, tuple(sorted(labels.items()))))
    want = {("tcptimeo_audit_matched_total", ()): 11,
            ("tcptimeo_existing_stamped_total", ()): 40,
            ("tcptimeo_timeouts_unmatched_total", ()): 2,
            ("tcptimeo_peers_aborted_total", ()): 5,
            ("tcptimeo_stamped_in_total", ()): 3,
            ("tcptimeo_rule_matched_total", (("rule", "web"),)): 9,
            ("tcptimeo_rule_matched_total", (("rule", "db.main-1"),)): 3,
            ("tcptimeo_rule_timeouts_total", (("cause", "idle"), ("rule", "web"))): 4,
            ("tcptimeo_rule_timeouts_total", (("cause", "busy"), ("rule", "web"))): 1,
            ("tcptimeo_rule_timeouts_total", (("cause", "busy"), ("rule", "db.main-1"))): 2,
            ("tcptimeo_rule_timeouts_total", (("cause", "idle"), ("rule", "db.main-1"))): 0,
            ("tcptimeo_rule_audit", (("rule", "db.main-1"),)): 1,
            ("tcptimeo_rule_enabled", (("rule", "web"),)): 1,
            ("tcptimeo_enabled", ()): 1,
            ("tcptimeo_info", (("version", "0.1.0"),)): 1}
    bad = {k: val(k[0], **dict(k[1])) for k, v in want.items()
           if val(k[0], **dict(k[1])) != v}
    ok(fams and not bad, "stats --prometheus: every counter with its value and "
       "per-rule labels", f"wrong or missing: {bad}")
    ok(fams.get("tcptimeo_rule_timeouts_total", {}).get("type") == "counter" and
       fams.get("tcptimeo_enabled", {}).get("type") == "gauge",
       "stats --prometheus: counters are counters, switches are gauges")
    for args in (["stats", "--prometheus", "-j"], ["stats", "--prom"]):
        p = run(root, *args)
        ok(p.returncode == 1 and "stats" in p.stderr and not p.stdout,
           f"{' '.join(args)}: exit 1 with a message", show(p))
    ok(parse_prometheus("# HELP a_total x\n# TYPE a_total counter\na_total{r=\"x\\\"y\"} 1\n")
       and _raises(parse_prometheus, "# TYPE a counter\n# HELP a x\na 1\n")
       and _raises(parse_prometheus, "# HELP a x\n# TYPE a gauge\na 1\na 2\n")
       and _raises(parse_prometheus, "# HELP a x\n# TYPE a gauge\na{b=c} 1\n")
       and _raises(parse_prometheus, "a 1\n"),
       "the exposition-format checker itself rejects bad input")

    # ---- sockets ----
    p = run(root, "sockets", "-j")
    try:
        j = json.loads(p.stdout)
        first = j[0]
        good = (len(j) == 6 and first == {
            "local": "10.77.0.1:40000", "remote": "10.77.0.2:8080",
            "state": "ESTABLISHED", "cgroup": 1234, "keepalive": True,
            "keepidle": 7, "keepintvl": 5, "keepcnt": 2, "user_timeout": 17000,
            "syn_retries": 6, "rule": "web", "rto_max": None, "from": {
                "keepalive": "rule", "keepidle": "application",
                "keepintvl": "rule", "keepcnt": "rule",
                "user_timeout": "application", "syn_retries": "default"}}
            and j[1]["rule"] is None and "from" not in j[2]
            and j[4]["cgroup"] == 18446744073709551615 and j[4]["rule"] == "db.main-1")
    except (ValueError, KeyError, IndexError) as e:
        good, p = False, f"{e}: {p.stdout} {p.stderr}"
    ok(good, "sockets -j: every line of /proc/net/tcptimeo, typed, rule null "
       "for -, each option's source (from) where the module gives it", p)
    p = run(root, "sockets")
    lines = p.stdout.splitlines()
    ok(p.returncode == 0 and len(lines) == 7 and lines[0].split()[:3] ==
       ["LOCAL", "REMOTE", "STATE"] and "[fd77::1]:40001" in p.stdout
       and lines[0].split()[-1] == "FROM" and lines[1].split()[-1] == "rarrad"
       and lines[3].split()[-1] == "-",
       "sockets: a header and one row per socket, FROM last (- from an "
       "older module)", show(p))
    p = run(root, "sockets", "-j", "--rule", "web")
    ok(p.returncode == 0 and [x["local"] for x in json.loads(p.stdout or "[]")]
       == ["10.77.0.1:40000"], "sockets --rule NAME: only that rule's sockets", show(p))
    p = run(root, "sockets", "-j", "--rule=-")
    ok(p.returncode == 0 and len(json.loads(p.stdout or "[]")) == 4 and
       all(x["rule"] is None for x in json.loads(p.stdout or "[]")),
       "sockets --rule -: only sockets no rule matches", show(p))
    for args, word in ((["sockets", "--rule", "a b"], "--rule"),
                       (["sockets", "--rule"], "--rule"),
                       (["sockets", "-x"], "unexpected")):
        p = run(root, *args)
        ok(p.returncode == 1 and word in p.stderr and "valid" in p.stderr
           or (word == "unexpected" and p.returncode == 1 and word in p.stderr),
           f"{' '.join(args)}: exit 1 naming the field", show(p))
    bad_lines = ["10.77.0.1 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 -",
                 "10.77.0.1:80 10.77.0.2:80 BOGUS 1 0 1 1 1 0 6 -",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 2 1 1 1 0 6 -",
                 "10.77.0.1:80 10.77.0.2:70000 ESTABLISHED 1 0 1 1 1 0 6 -",
                 "[10.77.0.1]:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 -",
                 "fd77::1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 -",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED x 0 1 1 1 0 6 -",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 a/b",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 - extra",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 - rrrrrx",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 - rrrrrrr",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0 6 - rrrrrr x",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 1 0 1 1 1 0",
                 "10.77.0.1:80 10.77.0.2:80 ESTABLISHED 99999999999999999999999 0 1 1 1 0 6 -"]
    r2 = fake_incident(tmp, PROC_HEAD + "\n".join(bad_lines) + "\n" +
                       PROC.splitlines()[1] + "\n")
    p = run(r2, "sockets", "-j")
    ok(p.returncode == 0 and len(json.loads(p.stdout or "[]")) == 1 and
       f"{len(bad_lines)} lines" in p.stderr,
       f"sockets: {len(bad_lines)} malformed lines left out with a warning, "
       "the good one kept", show(p))

    # ---- abort-peer ----
    p = run(root, "abort-peer", "10.77.0.0/24", "--dry-run")
    rows = [ln.split()[1] for ln in p.stdout.splitlines()[1:-1]]
    ok(p.returncode == 0 and sorted(rows) ==
       ["10.77.0.2:8080", "10.77.0.2:9000", "[::ffff:10.77.0.9]:5555"] and
       "3 sockets" in p.stdout,
       "abort-peer --dry-run: the established, close-wait and connecting "
       "sockets with a peer in the CIDR, IPv4-mapped included, FIN_WAIT2 not",
       show(p))
    ok(not os.path.exists(os.path.join(root, "sys/kernel/tcptimeo/abort_peers")),
       "abort-peer --dry-run writes nothing")
    p = run(root, "abort-peer", "fd77::/64", "--dry-run", "--port", "8080")
    rows = [ln.split()[1] for ln in p.stdout.splitlines()[1:-1]]
    ok(p.returncode == 0 and rows == ["[fd77::2]:8080"],
       "abort-peer v6 CIDR --port: only the v6 peer on that port (TIME_WAIT not)",
       show(p))
    p = run(root, "abort-peer", "10.77.0.2", "--dry-run", "--port=9000-9001")
    rows = [ln.split()[1] for ln in p.stdout.splitlines()[1:-1]]
    ok(p.returncode == 0 and rows == ["10.77.0.2:9000"],
       "abort-peer bare address = /32, --port=RANGE", show(p))
    p = run(root, "abort-peer", "FD77::/64,10.77.0.2", "--port", "8080,80-81")
    with open(os.path.join(root, "sys/kernel/tcptimeo/abort_peers")) as f:
        written = f.read()
    ok(p.returncode == 0 and written == "fd77::/64,10.77.0.2/32 ports 80-81,8080\n",
       "abort-peer writes the canonical 'CIDRs ports LIST' line to abort_peers",
       f"{written!r} {show(p)}")
    ok("aborted 0 sockets" in p.stdout, "abort-peer reports the peers_aborted delta",
       show(p))
    os.unlink(os.path.join(root, "sys/kernel/tcptimeo/abort_peers"))
    for args, field, rng in (
            (["abort-peer"], "missing CIDR", "CIDR"),
            (["abort-peer", "10.77.0.1/24"], "peer CIDR list", "without host bits"),
            (["abort-peer", "10.77.0.0/33"], "out of range", "0..32"),
            (["abort-peer", "fd77::/129"], "out of range", "0..128"),
            (["abort-peer", "banana"], "peer CIDR list", "CIDRs"),
            (["abort-peer", ""], "empty", "CIDRs"),
            (["abort-peer", ",".join(f"10.0.{i}.0/24" for i in range(17))],
             "more than 16", "1 to 16"),
            (["abort-peer", "10.0.0.0/8", "--port", "0"], "--port", "1 <= N"),
            (["abort-peer", "10.0.0.0/8", "--port", "70000"], "--port", "65535"),
            (["abort-peer", "10.0.0.0/8", "--port", "9-1"], "--port", "N <= M"),
            (["abort-peer", "10.0.0.0/8", "--port"], "--port", "65535"),
            (["abort-peer", "10.0.0.0/8", "--port", "1", "--port", "2"], "twice", "--port"),
            (["abort-peer", "10.0.0.0/8", "10.1.0.0/16"], "unexpected", "comma"),
            (["abort-peer", "10.0.0.0/8", "--force"], "unknown option", "usage")):
        p = run(root, *args)
        ok(p.returncode == 1 and field in p.stderr and rng in p.stderr and
           not os.path.exists(os.path.join(root, "sys/kernel/tcptimeo/abort_peers")),
           f"abort-peer bad input {args[1:]!r}: exit 1, names '{field}' and the "
           "valid range, writes nothing", show(p))

    # ---- apply --existing ----
    conf = write_file(tmp, "existing.conf", "web dir in local-port 8080 keepalive idle 7\n")
    p = run(root, "apply", conf, "--existing")
    path = os.path.join(root, "sys/kernel/tcptimeo/apply_existing")
    with open(path) if os.path.exists(path) else open(os.devnull) as f:
        written = f.read()
    ok(p.returncode == 0 and written == "1\n" and
       "existing connections: 0 stamped" in p.stdout,
       "apply --existing: applies, then writes 1 to apply_existing and reports "
       "the existing_stamped delta", show(p))
    os.unlink(path) if os.path.exists(path) else None
    p = run(root, "apply", "--dry-run", "--existing", conf)
    ok(p.returncode == 0 and not os.path.exists(path) and "apply_existing" in p.stdout,
       "apply --dry-run --existing: says it would, writes nothing", show(p))
    bad = write_file(tmp, "bad-existing.conf", "web dir in idle 99999\n")
    p = run(root, "apply", bad, "--existing")
    ok(p.returncode == 1 and not os.path.exists(path),
       "apply --existing with a bad file: nothing applied, apply_existing untouched",
       show(p))
    r3 = fake(tmp, configfs=False)
    p1 = run(r3, "sockets", "-j")
    p2 = run(r3, "abort-peer", "10.0.0.0/8", "--dry-run")
    ok(p1.returncode == 0 and p1.stdout == "[]\n" and p2.returncode == 0,
       "sockets and abort-peer need no configfs (ip netns exec mounts a fresh /sys)",
       show(p1) + show(p2))
    p = run(None, "abort-peer", "10.0.0.0/8", env={"TCPTIMEO_SYSROOT": tmp + "/none"})
    ok(p.returncode == 2 and "modprobe tcptimeo" in p.stderr,
       "abort-peer without the module: exit 2", show(p))


# ---- monitor ----
# What trace_pipe and the trace file print for the module's events
# (module/tt_trace.h TP_printk): the flags column absent, 4 or 5 wide, a
# TGID column, COMMs with spaces, dashes and brackets; LOST lines, the
# trace file's header, another event, lines that are not understood.
MON_STAMP = ("rule=web dir=in origin=new mode=fill audit=0 src=10.0.0.1:80 "
             "dst=10.0.0.2:5555 netns=4026531840 cgroup=1 "
             "set=keepalive,idle,intvl,cnt,user_timeout skipped=none "
             "keepalive=1 idle=30 intvl=5 cnt=3 user_timeout=45000 syn_retries=6")
MON_TIMEOUT = ("rule=web dir=out cause=keepalive src=10.0.0.2:5555 "
               "dst=10.0.0.1:80 netns=4026531840 cgroup=1 state=ESTABLISHED "
               "err=110 heard_ms=12345 retransmits=0 probes=3 user_timeout=45000")
MON_ABORT = ("rule=- dir=in state=ESTABLISHED src=[2001:db8::1]:80 "
             "dst=[2001:db8::2]:40000 netns=4026531840 cgroup=18446744073709551615")
MON_STAMP6 = ("rule=db.main-1 dir=out origin=restamp mode=clamp audit=1 "
              "src=[fd00::5]:0 dst=[fd00::6]:6379 netns=4026532000 cgroup=42 "
              "set=none skipped=keepalive,syn_retries keepalive=0 idle=7200 "
              "intvl=75 cnt=9 user_timeout=0 syn_retries=6 rto_max=120000")
MON_SYN = ("rule=db.main-1 dir=out cause=syn src=10.0.0.3:0 dst=10.0.0.9:6379 "
           "netns=4026532000 cgroup=42 state=SYN_SENT err=113 heard_ms=0 "
           "retransmits=6 probes=0 user_timeout=0")
MON_ABORT2 = ("rule=web dir=out state=CLOSE_WAIT src=10.0.0.2:5556 "
              "dst=10.0.0.1:80 netns=4026531840 cgroup=1")
MON_TRACE = f"""# tracer: nop
#
# entries-in-buffer/entries-written: 9/9   #P:4
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
         python3-1234    [001] ..s1.   123.456789: stamp: {MON_STAMP}
          <idle>-0       [000] d.s3    200.000100: timeout: {MON_TIMEOUT}
CPU:2 [LOST 17 EVENTS]
 my prog-x [1]-42 [003] 300.5: abort: {MON_ABORT}
   kworker/u4:1-56      [002] .....   301.000000: sched_switch: prev_comm=a prev_pid=1
   kworker/u4:1-56      [002] .....   301.000001: sched_switch: prev_comm=b prev_pid=2
this is not a trace line
CPU:1 [LOST EVENTS]
            curl-777     [002] .N..  400.250000: stamp: {MON_STAMP6}
            curl-777     [002] .N..  400.300000: timeout: {MON_SYN}
            bash-1977    (   1977) [000] ....  500.000000: abort: {MON_ABORT2}
               x-1       [000] ....  600.000000: stamp: rule=web dir=in
               x-1       [000] ....  600.100000: timeout: {MON_TIMEOUT.replace("src=10.0.0.2:5555", "src=10.0.0.2")}
"""
MON_WHERE = {"netns": 4026531840, "cgroup": 1}
MON_JSON = [
    {"time": 123.456789, "cpu": 1, "event": "stamp", "rule": "web", "dir": "in",
     "origin": "new", "mode": "fill", "audit": False, "src": "10.0.0.1",
     "sport": 80, "dst": "10.0.0.2", "dport": 5555, **MON_WHERE,
     "set": ["keepalive", "idle", "intvl", "cnt", "user_timeout"], "skipped": [],
     "keepalive": True, "idle": 30, "intvl": 5, "cnt": 3, "user_timeout": 45000,
     "syn_retries": 6},
    {"time": 200.0001, "cpu": 0, "event": "timeout", "rule": "web", "dir": "out",
     "cause": "keepalive", "src": "10.0.0.2", "sport": 5555, "dst": "10.0.0.1",
     "dport": 80, **MON_WHERE, "state": "ESTABLISHED", "err": 110,
     "heard_ms": 12345, "retransmits": 0, "probes": 3, "user_timeout": 45000},
    {"event": "lost", "cpu": 2, "count": 17},
    {"time": 300.5, "cpu": 3, "event": "abort", "rule": None, "dir": "in",
     "state": "ESTABLISHED", "src": "2001:db8::1", "sport": 80,
     "dst": "2001:db8::2", "dport": 40000, "netns": 4026531840,
     "cgroup": 18446744073709551615},
    {"event": "lost", "cpu": 1, "count": None},
    {"time": 400.25, "cpu": 2, "event": "stamp", "rule": "db.main-1", "dir": "out",
     "origin": "restamp", "mode": "clamp", "audit": True, "src": "fd00::5",
     "sport": 0, "dst": "fd00::6", "dport": 6379, "netns": 4026532000,
     "cgroup": 42, "set": [], "skipped": ["keepalive", "syn_retries"],
     "keepalive": False, "idle": 7200, "intvl": 75, "cnt": 9, "user_timeout": 0,
     "syn_retries": 6, "rto_max": 120000},
    {"time": 400.3, "cpu": 2, "event": "timeout", "rule": "db.main-1",
     "dir": "out", "cause": "syn", "src": "10.0.0.3", "sport": 0,
     "dst": "10.0.0.9", "dport": 6379, "netns": 4026532000, "cgroup": 42,
     "state": "SYN_SENT", "err": 113, "heard_ms": 0, "retransmits": 6,
     "probes": 0, "user_timeout": 0},
    {"time": 500.0, "cpu": 0, "event": "abort", "rule": "web", "dir": "out",
     "state": "CLOSE_WAIT", "src": "10.0.0.2", "sport": 5556, "dst": "10.0.0.1",
     "dport": 80, **MON_WHERE},
]


def same(a, b):
    """Equal with the same JSON types (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def json_lines(text):
    """Each line one JSON object; raises ValueError otherwise."""
    return [json.loads(line) for line in text.splitlines()]


def mon_events(objs, **match):
    return [o for o in objs if o.get("event") not in ("lost", "summary")
            and all(o.get(k) == v for k, v in match.items())]


def test_monitor(tmp):
    trace = write_file(tmp, "saved.trace", MON_TRACE)
    p = run(None, "monitor", "-j", "--input", trace)
    try:
        objs, good = json_lines(p.stdout), True
    except ValueError as e:
        objs, good = [], False
        p = f"{e}: {show(p)}"
    ok(good and p.returncode == 0, "monitor -j --input: exit 0, every line a JSON object",
       p if not good else show(p))
    want = MON_JSON + [{"event": "summary", "events": 6, "lost": 18}]
    ok(len(objs) == len(want) and all(map(same, objs, want)),
       "monitor -j --input: the three events (IPv4, IPv6, flags column absent, "
       "4 or 5 wide, TGID, COMMs with spaces, dashes, brackets) with the "
       "exact values and JSON types, LOST lines where they arrive, a summary",
       "\n".join(f"{'=' if i < len(want) and same(o, want[i]) else '!'} {o}"
                 for i, o in enumerate(objs)) + "\n" + show(p))
    if isinstance(p, str):
        return
    ok(p.stderr.count("'sched_switch' is not an event of tcptimeo") == 1 and
       p.stderr.count("line not understood") == 3 and
       f"{trace}:19: a line not understood" in p.stderr and
       f"{trace}:24: a tcptimeo:stamp line not understood (missing: field 'origin')" in p.stderr and
       f"{trace}:25: a tcptimeo:timeout line not understood (invalid value: 'src=10.0.0.2')" in p.stderr and
       "5 lines skipped: 3 not understood, 2 of other events" in p.stderr,
       "monitor --input: other events and lines not understood: a warning "
       "with file:line once per kind, a count at the end", p.stderr)

    p = run(None, "monitor", "--input", trace)
    text = [f"123.456789 stamp {MON_STAMP}", f"200.000100 timeout {MON_TIMEOUT}",
            "lost: cpu=2 count=17", f"300.5 abort {MON_ABORT}",
            "lost: cpu=1 count=unknown", f"400.250000 stamp {MON_STAMP6}",
            f"400.300000 timeout {MON_SYN}", f"500.000000 abort {MON_ABORT2}"]
    ok(p.returncode == 0 and p.stdout.splitlines() == text and
       "# lost 18 events" in p.stderr,
       "monitor --input (text): TIMESTAMP EVENT and the fields as the kernel "
       "printed them, 'lost: cpu=N count=N|unknown', '# lost N events' on stderr",
       show(p))
    a, b = run(None, "-j", "monitor", "--input", trace), run(None, "monitor", "--input", trace, "--json")
    ok(a.returncode == 0 and a.stdout == b.stdout == run(None, "monitor", "-j", "--input", "-",
                                                         stdin=MON_TRACE).stdout,
       "tcptimeoctl -j monitor = monitor --json; --input - reads stdin", show(a))

    def events(*args):
        p = run(None, "monitor", "-j", "--input", trace, *args)
        try:
            objs = json_lines(p.stdout)
        except ValueError:
            return None, p
        return [(o["event"], o.get("rule", "?"), o.get("time")) for o in objs
                if o["event"] not in ("summary",)], p

    for args, want in (
            (["--rule", "web"], [("stamp", "web", 123.456789), ("timeout", "web", 200.0001),
                                 ("lost", "?", None), ("lost", "?", None),
                                 ("abort", "web", 500.0)]),
            (["--rule=-"], [("lost", "?", None), ("abort", None, 300.5), ("lost", "?", None)]),
            (["--event", "stamp,timeout", "--rule", "db.main-1"],
             [("lost", "?", None), ("lost", "?", None), ("stamp", "db.main-1", 400.25),
              ("timeout", "db.main-1", 400.3)]),
            (["--event", "abort", "--event=stamp"],
             [("stamp", "web", 123.456789), ("lost", "?", None), ("abort", None, 300.5),
              ("lost", "?", None), ("stamp", "db.main-1", 400.25), ("abort", "web", 500.0)]),
            (["--rule", "nosuch"], [("lost", "?", None), ("lost", "?", None)])):
        got, p = events(*args)
        ok(got == want, f"monitor --input {' '.join(args)}: only those events, "
           "lost lines never filtered", f"{got}\n{show(p)}")
    p = run(None, "monitor", "-j", "--input", trace, "--event", "timeout", "--rule", "web")
    ok(p.returncode == 0 and p.stdout.splitlines()[-1] ==
       '{"event":"summary","events":1,"lost":18}',
       "monitor summary counts the events shown", show(p))

    # bad arguments: exit 1, the option and its valid values named
    for args, words in (
            (["--event", "bogus"], ["--event 'bogus'", "stamp, timeout, abort"]),
            (["--event", "stamp,,abort"], ["--event 'stamp,,abort'", "stamp, timeout, abort"]),
            (["--event", ""], ["--event ''", "stamp, timeout, abort"]),
            (["--event"], ["--event: missing value", "stamp, timeout, abort"]),
            (["--rule", "a b"], ["--rule 'a b'", "1-32 characters", "or -"]),
            (["--rule", "x" * 33], ["--rule 'xxx", "1-32 characters"]),
            (["--rule"], ["--rule: missing value", "1-32 characters"]),
            (["--rule", "a", "--rule", "b"], ["--rule given twice"]),
            (["--buffer-kb", "3"], ["--buffer-kb '3': out of range", "4..65536"]),
            (["--buffer-kb", "65537"], ["--buffer-kb '65537': out of range", "4..65536"]),
            (["--buffer-kb", "1k"], ["--buffer-kb '1k': invalid", "4..65536"]),
            (["--buffer-kb"], ["--buffer-kb: missing value", "4..65536"]),
            (["--input"], ["--input: missing value", "or - (standard input)"]),
            (["--input", trace, "--input", trace], ["--input given twice"]),
            (["--input", trace, "--buffer-kb", "64"], ["--buffer-kb", "--input"]),
            (["--input", tmp + "/nosuch"], ["--input '" + tmp + "/nosuch': No such file"]),
            (["stamp"], ["unexpected argument 'stamp'", "usage: tcptimeoctl monitor"]),
            (["--follow"], ["unexpected argument '--follow'", "usage: tcptimeoctl monitor"])):
        ftr = tempfile.mkdtemp(dir=tmp)
        os.mkdir(ftr + "/instances")
        p = run(None, "monitor", *args, env={"TCPTIMEO_TRACEFS": ftr})
        ok(p.returncode == 1 and all(w in p.stderr for w in words) and not p.stdout
           and os.listdir(ftr + "/instances") == [],
           f"monitor {' '.join(args)[:60]}: exit 1 naming {words[0]!r}, nothing "
           "created", show(p))

    # live, on a fake tracefs: instances/ is a plain directory, so the
    # instance made there has no events/tcptimeo: the module "not loaded"
    ftr = tempfile.mkdtemp(dir=tmp)
    os.chmod(ftr, 0o755)
    os.mkdir(ftr + "/instances")
    for args in ([], ["-j", "--rule", "web", "--event", "stamp,abort", "--buffer-kb", "64"]):
        p = run(None, "monitor", *args, env={"TCPTIMEO_TRACEFS": ftr})
        ok(p.returncode == 2 and "the tcptimeo module is not loaded, or this kernel has "
           "no tcptimeo events (events/tcptimeo missing in tracefs)" in p.stderr
           and os.listdir(ftr + "/instances") == [] and not p.stdout,
           f"monitor {' '.join(args) or '(no options)'} live without events/tcptimeo: exit 2, says "
           "so, its instance removed again", show(p) + str(os.listdir(ftr + "/instances")))
    p = run(None, "monitor", env={"TCPTIMEO_TRACEFS": tmp + "/none"})
    ok(p.returncode == 2 and "TCPTIMEO_TRACEFS=" + tmp + "/none has no instances/" in p.stderr,
       "monitor with TCPTIMEO_TRACEFS lacking instances/: exit 2", show(p))
    if os.geteuid() == 0 and shutil.which("setpriv"):
        p = run(None, "monitor", env={"TCPTIMEO_TRACEFS": ftr}, user=65534)
        ok(p.returncode == 3 and "needs root" in p.stderr and "Permission denied" in p.stderr
           and os.listdir(ftr + "/instances") == [],
           "monitor live, unprivileged (mkdir EACCES): exit 3, needs root", show(p))
    else:
        ok(True, "monitor live, unprivileged: exit 3 # SKIP not root or no setpriv")

    # a stream: each event flushed as it comes, a signal ends it cleanly
    line = f"  python3-1234 [001] ..s1. 123.456789: stamp: {MON_STAMP}\n"
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        pr = subprocess.Popen([CTL, "monitor", "-j", "--input", "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pr.stdin.write(line)
        pr.stdin.flush()
        first = read_upto(pr, 1)
        pr.send_signal(sig)
        try:
            out, err = pr.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pr.kill()
            out, err = pr.communicate()
        try:
            good = (same(json.loads(first), MON_JSON[0]) and pr.returncode == 0 and
                    json_lines(out) == [{"event": "summary", "events": 1, "lost": 0}])
        except ValueError:
            good = False
        ok(good, f"monitor -j: an event is printed (flushed) as it arrives; "
           f"{signal.Signals(sig).name} ends it, exit 0, with the summary",
           f"rc={pr.returncode} first={first!r} out={out!r} err={err!r}")
    # stdout closed: EPIPE ends it quietly, exit 0
    big = write_file(tmp, "big.trace", line * 20000)
    pr = subprocess.Popen([CTL, "monitor", "--input", big], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    first = pr.stdout.readline()
    pr.stdout.close()
    try:
        pr.wait(timeout=30)
        err = pr.stderr.read()
    except subprocess.TimeoutExpired:
        pr.kill()
        err = "timeout"
    ok(first.startswith("123.456789 stamp rule=web") and pr.returncode == 0 and
       "rror" not in err, "monitor: stdout closed (EPIPE) ends it, exit 0",
       f"rc={pr.returncode} {first!r} {err!r}")
    # live, on a fake tracefs that looks loaded: fake_tracefs.so fills the
    # instance as tracefs does (trace_pipe a FIFO) and records its rmdir
    test_monitor_live(tmp)


FAKE_TRACEFS = os.path.join(os.path.dirname(CTL), "..", "fake_tracefs.so")


def read_upto(pr, lines, timeout=10):
    """Up to @lines lines of @pr's stdout (unbuffered: communicate() after
    it reads the fd itself), waiting at most @timeout s for each."""
    out = b""
    while out.count(b"\n") < lines and select.select([pr.stdout], [], [], timeout)[0]:
        b = os.read(pr.stdout.fileno(), 65536)
        if not b:
            break
        out += b
    return out.decode()


def monitor_live(tmp, args, lines=(), expect=None, sig=signal.SIGTERM, fake_env=None):
    """Run monitor live under fake_tracefs.so; write @lines into its
    trace_pipe, wait for @expect lines of output, send @sig. Returns
    (process, stdout, stderr, {instance file: contents} after its rmdir,
    instances left)."""
    ftr = tempfile.mkdtemp(dir=tmp)
    os.mkdir(ftr + "/instances")
    env = dict(os.environ, TCPTIMEO_TRACEFS=ftr, LD_PRELOAD=os.path.abspath(FAKE_TRACEFS),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0",
               **(fake_env or {}))
    pr = subprocess.Popen([CTL, "monitor", *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    fifo, out = None, ""
    for _ in range(200):
        inst = [d for d in os.listdir(ftr + "/instances") if not d.endswith(".removed")]
        if inst and os.path.exists(f"{ftr}/instances/{inst[0]}/trace_pipe"):
            fifo = f"{ftr}/instances/{inst[0]}/trace_pipe"
            break
        if pr.poll() is not None:
            break
        time.sleep(0.05)
    if fifo:
        w = os.open(fifo, os.O_WRONLY)      # meets monitor's open
        os.write(w, "".join(lines).encode())
        out = read_upto(pr, len(lines) if expect is None else expect)
        pr.send_signal(sig)
    try:
        rest, err = pr.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        pr.kill()
        rest, err = pr.communicate()
        err += "\n(timed out: killed)"
    if fifo:
        os.close(w)
    files, left = {}, []
    for d in os.listdir(ftr + "/instances"):
        if not d.endswith(".removed"):
            left.append(d)
            continue
        base = f"{ftr}/instances/{d}"
        for root, _, names in os.walk(base):
            for n in names:
                f = os.path.join(root, n)
                if os.path.isfile(f):
                    with open(f) as fh:
                        files[os.path.relpath(f, base)] = fh.read()
    return pr, out + rest, err, files, left


def test_monitor_live(tmp):
    if not os.path.exists(FAKE_TRACEFS):
        ok(True, "monitor live on a fake tracefs # SKIP no fake_tracefs.so "
           "(make -C selftests/unit)")
        return
    db = MON_STAMP.replace("rule=web", "rule=db")
    pr, out, err, files, left = monitor_live(
        tmp, ["-j", "--rule", "web", "--event", "stamp,abort", "--buffer-kb", "64"],
        [f"  python3-1234 [001] ..s1. 123.456789: stamp: {MON_STAMP}\n",
         f"  python3-1234 [001] ..s1. 123.5: stamp: {db}\n",
         "CPU:1 [LOST 4 EVENTS]\n"], expect=2)
    try:
        objs = json_lines(out)
    except ValueError:
        objs = None
    ok(pr.returncode == 0 and objs is not None and len(objs) == 3 and
       same(objs[0], MON_JSON[0]) and objs[1] == {"event": "lost", "cpu": 1, "count": 4}
       and objs[2] == {"event": "summary", "events": 1, "lost": 37},
       "monitor -j live: events and LOST lines from trace_pipe as they come; "
       "SIGTERM: exit 0, summary with the larger of the stream's and the "
       "per_cpu stats' lost count (overrun + dropped events)",
       f"rc={pr.returncode}\nout: {out}\nerr: {err}")
    ok(files.get("buffer_size_kb") == "64" and
       files.get("events/tcptimeo/stamp/filter") == 'rule == "web"' and
       files.get("events/tcptimeo/abort/filter") == 'rule == "web"' and
       files.get("events/tcptimeo/timeout/filter") == "none\n" and
       files.get("events/tcptimeo/stamp/enable") == "1" and
       files.get("events/tcptimeo/abort/enable") == "1" and
       files.get("events/tcptimeo/timeout/enable") == "0\n" and
       files.get("tracing_on") == "0" and not left and
       err.startswith("# tcptimeoctl monitor: tcptimeo:stamp,abort of rule web in "),
       "monitor live: buffer_size_kb, the rule filter and enable of the chosen "
       "events only, then '# tcptimeoctl monitor:' on stderr; at the end "
       "tracing_on 0 and its instance removed", f"{files} left={left}\nerr: {err}")
    pr, out, err, files, left = monitor_live(
        tmp, [], [f"  <idle>-0 [000] d.s3 200.000100: timeout: {MON_TIMEOUT}\n"],
        sig=signal.SIGINT, fake_env={"TT_FAKE_EBUSY": "3"})
    ok(pr.returncode == 0 and out == f"200.000100 timeout {MON_TIMEOUT}\n" and
       "# lost 37 events" in err and files.get("tracing_on") == "0" and
       all(files.get(f"events/tcptimeo/{e}/enable") == "1" for e in ("stamp", "timeout", "abort"))
       and files.get("events/tcptimeo/stamp/filter") == "none\n" and not left,
       "monitor live (text), Ctrl-C: exit 0, '# lost N events'; all three "
       "events, no filter; rmdir retried while EBUSY", f"rc={pr.returncode}\n"
       f"out: {out}\nerr: {err}\n{files} left={left}")
    for omit, args, rc, words in (
            ("events/tcptimeo/timeout", [], 2, "no event tcptimeo:timeout"),
            ("events/tcptimeo/abort/filter", ["--rule", "web"], 1,
             "writing 'rule == \"web\"' to "),
            ("trace_pipe", [], 1, "trace_pipe: No such file")):
        pr, out, err, files, left = monitor_live(tmp, args, fake_env={"TT_FAKE_OMIT": omit})
        ok(pr.returncode == rc and words in err and files and not left and not out,
           f"monitor live without {omit}: exit {rc}, says so, the instance "
           "removed all the same", f"rc={pr.returncode}\nout: {out}\nerr: {err}\n"
           f"{files} left={left}")


def _raises(fn, *args):
    try:
        fn(*args)
    except ValueError:
        return True
    return False


def show(p):
    return f"rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"

COMMANDS = ["add", "set", "del", "enable", "disable", "list", "show", "stats",
            "apply", "save", "explain", "check", "sockets", "abort-peer",
            "monitor", "version"]


def test_conventions(tmp):
    """Issue 15.9: --help per command, global -j, -V, one exit per state."""
    root = fake(tmp)
    for c in COMMANDS:
        p = run(root, c, "--help")
        ok(p.returncode == 0 and p.stdout.startswith(f"usage: tcptimeoctl {c}")
           and not p.stderr, f"{c} --help: its own usage on stdout, exit 0",
           f"rc={p.returncode} {p.stdout[:200]} {p.stderr}")
    p = run(root, "help", "apply")
    ok(p.returncode == 0 and "--dry-run" in p.stdout and "exit 0 in sync, 5" in p.stdout,
       "help apply: apply's usage with the dry-run exit codes", p.stdout)
    p = run(root, "apply", "--dry-run", "--help")
    ok(p.returncode == 0 and p.stdout.startswith("usage: tcptimeoctl apply"),
       "apply --dry-run --help: --help wins wherever it stands", p.stdout + p.stderr)
    run(root, "add", "g", "--dir", "in", "--idle", "7", "--user-timeout", "auto")
    for c in (["list"], ["show", "g"], ["stats"], ["version"]):
        a, b = run(root, "-j", *c), run(root, *c, "-j")
        ok(a.returncode == 0 and a.stdout == b.stdout and json.loads(a.stdout) is not None,
           f"tcptimeoctl -j {' '.join(c)} prints what '{' '.join(c)} -j' prints",
           f"{a.stdout} {a.stderr} / {b.stdout}")
    p = run(root, "-j", "add", "h", "--idle", "7")
    ok(p.returncode == 1 and "-j: 'add' has no JSON output" in p.stderr
       and not os.path.exists(rules_dir(root) + "/h"),
       "tcptimeoctl -j add: exit 1, nothing created", p.stderr)
    p = run(root, "--frobnicate", "list")
    ok(p.returncode == 1 and "unknown option '--frobnicate'" in p.stderr,
       "an unknown global option: exit 1 naming it", p.stderr)
    for v in (["-V"], ["--version"], ["version"]):
        p = run(root, *v)
        ok(p.returncode == 0 and p.stdout.splitlines() == ["tcptimeoctl 0.1.0", "module 0.1.0"]
           and not p.stderr, f"tcptimeoctl {v[0]}: CLI and module versions, no warning",
           p.stdout + p.stderr)
    with open(root + "/sys/kernel/tcptimeo/version", "w") as f:
        f.write("0.0.9\n")
    p = run(root, "-V")
    ok(p.returncode == 0 and "module 0.0.9" in p.stdout and
       "warning: module 0.0.9 differs from tcptimeoctl 0.1.0" in p.stderr,
       "a module of another version: -V prints it and warns", p.stdout + p.stderr)
    p = run(root, "apply", "--dry-run", "-", stdin=run(root, "save").stdout)
    ok(p.returncode == 0 and "warning: module 0.0.9 differs" in p.stderr,
       "... and apply warns too", p.stderr)
    p = run(root, "-j", "version")
    ok(p.returncode == 0 and json.loads(p.stdout) == {"cli": "0.1.0", "module": "0.0.9"},
       "version -j: {cli, module}", p.stdout)
    none = fake(tmp, module=False, configfs=False)
    p = run(none, "-j", "version")
    ok(p.returncode == 0 and json.loads(p.stdout) == {"cli": "0.1.0", "module": None},
       "version -j without the module: module null, exit 0", p.stdout + p.stderr)
    p = run(none, "stats", "--prometheus")
    m = parse_prometheus(p.stdout) if p.returncode == 0 else {}
    m = {k: v for f in m.values() for k, v in f["samples"].items()}
    ok(p.returncode == 0 and m == {("tcptimeo_up", ()): 0.0},
       "stats --prometheus without the module: tcptimeo_up 0 alone, exit 0",
       f"rc={p.returncode} {p.stdout} {p.stderr} {m}")
    p = run(root, "stats", "--prometheus")
    m = parse_prometheus(p.stdout) if p.returncode == 0 else {}
    m = {k: v for f in m.values() for k, v in f["samples"].items()}
    ok(m.get(("tcptimeo_up", ())) == 1.0, "stats --prometheus with the module: tcptimeo_up 1",
       p.stdout[:300])
    p = run(root, "-j", "show", "g")
    j = json.loads(p.stdout) if p.returncode == 0 else {}
    ok(isinstance(j.get("user_timeout"), int) and j.get("user_timeout_auto") is True,
       "show -j: user_timeout is a number, auto its own boolean", p.stdout)
    p = run(root, "add", "bare", "--dir", "out", "--user-timeout", "10")
    with open(rules_dir(root) + "/bare/line") as f:
        line = f.read()
    ok(p.returncode == 0 and "warning: --user-timeout 10 is 10 ms (a bare number is "
       "milliseconds); if seconds were meant, write 10s" in p.stderr
       and line == "priority 1000 dir out user-timeout 10ms\n",
       "add --user-timeout 10: warns that it is 10 ms; the line says 10ms", p.stderr + line)
    p = run(root, "add", "unit", "--dir", "out", "--user-timeout", "10s", "--idle", "90")
    ok(p.returncode == 0 and not p.stderr and
       "unit  1000 enabled  out         0  idle 90s user-timeout 10s" in run(root, "list").stdout,
       "add --user-timeout 10s: no warning; list prints the units", run(root, "list").stdout)
    p = run(root, "sockets", "--rule", "nosuch")
    ok(p.returncode == 1 and "--rule 'nosuch': no such rule" in p.stderr and not p.stdout,
       "sockets --rule NOSUCH: exit 1, no empty table", p.stdout + p.stderr)
    p = run(root, "sockets", "--rule", "g")
    ok(p.returncode == 0 and p.stdout.startswith("LOCAL"),
       "sockets --rule of a rule no socket carries: an empty table, exit 0", p.stdout + p.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="tcptimeoctl-test-")
    os.chmod(tmp, 0o755)
    try:
        test_no_module(tmp)
        test_commands(tmp)
        test_apply(tmp)
        test_explain(tmp)
        test_check(tmp)
        test_incident(tmp)
        test_monitor(tmp)
        test_rto_max(tmp)
        test_manpage(tmp)
        test_conventions(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
