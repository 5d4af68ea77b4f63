#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Host tests of the tree itself and of make check's phases.

1. No Debian kernel release is written into a script, Makefile, test or
   default. Debian moves the ABI numbers every few weeks (6.1.0-56 became
   6.1.0-57): a literal release breaks the first machine that installs the
   next one. Kernels come from selftests/vm/kernels.conf through
   selftests/vm/kernels.sh. Allowed: the comments of kernels.conf, recorded
   results (bench/results/), prose of the docs (not their code blocks,
   which are commands to run) and the files of ALLOW, each with its reason.
2. kernels.sh installed lists the installed kernels of the matrix and
   exits 0 when a fetched series (5.10, 7.x) is not fetched yet: the
   default KVERS of every make target, on a machine before `make deps`.
3. make check's runner (selftests/vm/run.py) runs every phase even when an
   earlier one failed, counts each into the closing line and exits
   non-zero; a phase that cannot run is a failing point.
4. A test's verdict (run.py judge_test): exit 4 (KSFT_SKIP) after
   "1..0 # SKIP why" is a skip; exit 4 with points passed, or any other
   non-zero exit without a failing point, is a failure.
5. make clean removes the C tests' programs, which lib.mk builds next to
   their sources (selftests/NN-name), not only build/.
6. A missing prerequisite is a skip, never a pass: on this host (no
   tcptimeo module, no configfs), as kselftest's runner runs them (env -i,
   no TCPTIMEO_*), tests of every kind exit 4 (KSFT_SKIP) with nothing but
   skips; the packaging tests do so outside their phase.
7. lib/ksft_verdict.sh reads each of the runner's verdict lines, and no
   line of a test's own output, as a verdict.
8. A shell test's `undo` commands (lib/tt_common.sh, through both
   tap.sh) run however it ends (exit 1, the runner's TERM, a skip, a
   normal end), last first, and leave its exit status as it was.
9. vm/guest.sh's ksft_entry adds a test that make ksft-install leaves
   out (99-negative-control.sh, soak/90-soak.py) to the installed copy as
   an executable file at the path the runner runs, once.
10. The negative control (99-negative-control.sh), run as the runner
   runs it, fails its one point with TCPTIMEO_NEGATIVE_CONTROL=1 and
   skips it otherwise.

usage: test_tree.py [ROOT]       (prints "ok - ..." lines; ROOT: the tree,
                                  default this checkout)
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True      # run.py imported: no __pycache__ left

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
failed = 0

# A release as uname -r prints it: N.N[.N][-NN][+debNN]-FLAVOUR, or any
# N.N.N+debNN (backports and sid name theirs so).
FLAVOURS = r"(?:amd64|arm64|armmp(?:-lpae)?|686(?:-pae)?|cloud-(?:amd64|arm64)|rt-(?:amd64|arm64))"
RELEASE = re.compile(r"(?<![\w.])\d+\.\d+(?:\.\d+)?(?:-\d+)?(?:\+deb\d+)?-" + FLAVOURS +
                     r"(?![\w])|(?<![\w.])\d+\.\d+\.\d+\+deb\d+(?![\d])")

# path -> why its literals are fine
ALLOW = {
    "selftests/packaging/check-version.sh":
        "sample releases fed to dkms.conf's version regex, not kernels to use",
}
# Whole directories of recorded results.
ALLOW_DIRS = ("bench/results/",)
# Binary or generated files never hold a command.
SKIP_EXT = (".png", ".json", ".jsonl", ".gz", ".xz", ".svg")


def ok(cond, what, diag=None):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed += 1
        for line in str(diag or "").splitlines()[:40]:
            print("# " + line)
    return cond


def tree_files(root):
    p = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                        "--exclude-standard"], capture_output=True, text=True)
    if p.returncode == 0:
        return [f for f in p.stdout.splitlines() if os.path.isfile(os.path.join(root, f))]
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in (".git", "build", ".cache", "node_modules")]
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return out


def offending_lines(path, text):
    """(line number, line) of literals this file may not hold."""
    is_md = path.endswith(".md")
    conf = path == "selftests/vm/kernels.conf"
    fence = False
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        if is_md and line.lstrip().startswith("```"):
            fence = not fence
            continue
        if is_md and not fence and not line.startswith("    "):
            continue                    # prose and tables: recorded facts
        if conf and line.lstrip().startswith("#"):
            continue
        if RELEASE.search(line):
            bad.append((n, line.strip()))
    return bad


def check_literals():
    # The pattern itself, on samples built so that this file holds none.
    hits = ["6.1.0-" + "57-amd64", "5.10.0-" + "32-amd64", "6.12.95" + "+deb12-amd64",
            "7.2.13" + "+deb14-amd64", "6.1.0-" + "57-cloud-amd64", "6.12.95" + "+deb12",
            "linux-image-6.1.0-" + "57-amd64"]
    misses = ["6.1", "7.x", "linux-source-6.12", "1:7.2+dfsg-7", "0.1.0",
              "qemu 7.2", "127.0.0.1", "10.77.0.1:32808", "6.1.192"]
    ok(all(RELEASE.search(h) for h in hits) and not any(RELEASE.search(m) for m in misses),
       "the release pattern matches Debian kernel releases and nothing else",
       diag=f"missed: {[h for h in hits if not RELEASE.search(h)]}; "
            f"wrongly matched: {[m for m in misses if RELEASE.search(m)]}")
    found = []
    for f in sorted(tree_files(ROOT)):
        if f in ALLOW or f.startswith(ALLOW_DIRS) or f.endswith(SKIP_EXT):
            continue
        try:
            with open(os.path.join(ROOT, f), errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if "\0" in text:
            continue
        found += [f"{f}:{n}: {line}" for n, line in offending_lines(f, text)]
    ok(not found, "no kernel release is written into a script, Makefile, test, "
       "default or runnable doc example (they come from selftests/vm/kernels.conf)",
       diag="\n".join(found))


def check_installed():
    """kernels.sh installed with a series that is not fetched: the apt
    series' kernels still come out, and it exits 0."""
    ks = os.path.join(ROOT, "selftests", "vm", "kernels.sh")
    conf = os.path.join(ROOT, "selftests", "vm", "kernels.conf")
    with open(conf) as f:
        apt = [line for line in f if line.split() and not line.startswith("#")
               and line.split()[1] != "fetch"]

    def run(lines):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tt-kconf-{os.getpid()}")
        with open(path, "w") as f:
            f.writelines(lines)
        try:
            env = dict(os.environ, TCPTIMEO_KERNELS_CONF=path)
            return subprocess.run(["bash", ks, "installed"], capture_output=True,
                                  text=True, env=env, timeout=120)
        finally:
            os.unlink(path)
    want = run(apt)
    got = run(["0.1 fetch\n"] + apt + ["0.2 fetch\n"])
    ok(got.returncode == 0 and want.returncode == 0 and got.stdout == want.stdout,
       "kernels.sh installed: a series not fetched yet is left out, the "
       "installed ones are listed, exit 0",
       diag=f"without: exit {want.returncode} {want.stdout!r}; with: exit "
            f"{got.returncode} {got.stdout!r} {got.stderr[-500:]!r}")


def check_phases():
    """run.py with a passing step, a failing step, a failing host suite and
    a kernel that is not there: all run, all counted, exit non-zero."""
    run = os.path.join(ROOT, "selftests", "vm", "run.py")
    cmd = [sys.executable, run, "--step", "tools", "--step", "tt-no-such-target",
           "--host-suite", "tt-no-such-suite", "--kvers", "tt-no-such-kernel",
           "--tests", "00-load"]
    env = {k: v for k, v in os.environ.items() if k not in ("KVERS", "TESTS", "MAKEFLAGS")}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    lines = p.stdout.splitlines()
    last = lines[-1] if lines else ""
    ok(p.returncode == 1 and last == "1 passed, 3 failed",
       "make check's runner: a failing step, a failing host suite and a missing "
       "kernel are each counted; the closing line sums all phases; exit 1",
       diag=f"exit {p.returncode}, last line {last!r}\n" + p.stderr[-2000:])

    def idx(pat):
        return next((i for i, line in enumerate(lines) if re.match(pat, line)), -1)
    order = [idx(r"ok - make tools"), idx(r"not ok - make tt-no-such-target: exited"),
             idx(r"not ok - make tt-no-such-suite: exited"),
             idx(r"not ok - tt-no-such-kernel: .* is missing")]
    ok(all(i >= 0 for i in order) and order == sorted(order),
       "make check's runner: phases run in order, each after a failing one",
       diag="\n".join(lines[-30:]))


def check_verdicts():
    """judge_test on results written as the guest runner writes them."""
    import importlib.util
    import tempfile
    import types
    spec = importlib.util.spec_from_file_location(
        "tt_vm_run", os.path.join(ROOT, "selftests", "vm", "run.py"))
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    cases = [  # (tap, rc, failed?)
        ("TAP version 13\n1..0 # SKIP no tree\n", 4, False),
        ("TAP version 13\n1..1\nok 1 - a\n", 0, False),
        ("TAP version 13\n1..1\nok 1 - a\n", 4, True),
        ("TAP version 13\n1..0 # SKIP no tree\n", 3, True),
        ("TAP version 13\n1..1\nok 1 - a\n", 124, True),
    ]
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for i, (tap, rc, want) in enumerate(cases):
            with open(os.path.join(d, f"t{i}.tap"), "w") as f:
                f.write(tap)
            with open(os.path.join(d, f"t{i}.status"), "w") as f:
                f.write(f"rc={rc}\ntimeout=300\nelapsed_ms=1\ncleanup=\n")
            c, why = run.judge_test(types.SimpleNamespace(dir=d, why=""), f"t{i}")
            if (c.failed > 0) != want:
                bad.append(f"{tap!r} rc {rc}: failed {c.failed} {why}")
    ok(not bad, "a test's verdict: exit 4 after '1..0 # SKIP' is a skip; exit 4 "
       "with passing points, a skip-all with exit 3 and a timeout are failures",
       diag="\n".join(bad))


def check_clean():
    """make clean in a copy of the tree with a built C test and build
    output: both are gone, the sources stay."""
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        files = [f for f in tree_files(ROOT) if os.path.isfile(os.path.join(ROOT, f))]
        for f in files:
            os.makedirs(os.path.join(tmp, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(tmp, f))
        csrc = sorted(f for f in files if re.fullmatch(r"selftests/\d\d-[^/]+\.c", f))
        progs = [os.path.join(tmp, f[:-2]) for f in csrc]
        os.makedirs(os.path.join(tmp, "build", "tools"), exist_ok=True)
        for p in progs + [os.path.join(tmp, "build", "tools", "x")]:
            with open(p, "w") as f:
                f.write("built\n")
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
        p = subprocess.run(["make", "-s", "-C", tmp, "clean"], capture_output=True,
                           text=True, env=env, timeout=300)
        left = [q[len(tmp) + 1:] for q in progs + [os.path.join(tmp, "build", "tools", "x")]
                if os.path.exists(q)]
        kept = all(os.path.exists(os.path.join(tmp, f)) for f in csrc)
        ok(p.returncode == 0 and csrc and not left and kept,
           f"make clean: the C tests' programs ({len(csrc)}) and build output are "
           "removed, their sources kept",
           diag=f"exit {p.returncode}, left {left}, sources kept {kept}\n{p.stderr[-1000:]}")


def check_skips():
    """Tests with nothing to test exit 4 with skips only (docstring, 6)."""
    import tempfile
    host = subprocess.run(["sh", "-c", "modinfo tcptimeo || grep -q ' configfs ' /proc/mounts"],
                          capture_output=True)
    if host.returncode == 0:
        print("ok - missing prerequisites skip # SKIP this host has tcptimeo or configfs")
        return
    sel = os.path.join(ROOT, "selftests")
    tests = ["00-load.sh", "10-stamp-options.py", "14-bad-input.py", "20-half-open-client.py",
             "30-cli-commands.py", "44-k8s-node-init.sh", "45-k8s-upgrade.sh"]
    phase = ["40-dkms-modprobe.sh", "41-deb-install.sh", "42-install-removed.sh",
             "46-deb-kselftest.sh"]
    tests += [c for c in ("10-stamp-options-c", "14-bad-input-c")
              if os.access(os.path.join(sel, c), os.X_OK)]
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in tests + phase:
            env = {"PATH": os.environ["PATH"], "HOME": "/root", "LANG": "C.UTF-8"}
            if t in phase:
                env["TCPTIMEO_SRC"] = tmp      # a tree with no build/pkgtest/phase
            p = subprocess.run([os.path.join(sel, t)], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=120)
            pts = [ln for ln in p.stdout.splitlines() if re.match(r"(not )?ok \d", ln)]
            skips = [ln for ln in pts if ln.startswith("ok ") and "# SKIP" in ln]
            whole = re.search(r"^1\.\.0 # SKIP", p.stdout, re.M)
            if p.returncode != 4 or len(skips) != len(pts) or not (pts or whole):
                bad.append(f"{t}: exit {p.returncode}, {len(pts)} points, {len(skips)} "
                           f"skipped: {(p.stdout + p.stderr)[-300:]}")
    ok(not bad, f"missing prerequisites: {len(tests + phase)} tests of every kind exit 4 "
       "(KSFT_SKIP) with skips only, none passes or fails", diag="\n".join(bad))


def check_ksft_verdict():
    """lib/ksft_verdict.sh on the runner's lines (docstring, 7)."""
    cases = [
        ("ok 1 selftests: tcptimeo: 00-load.sh", "0 tcptimeo: 00-load.sh"),
        ("ok 12 selftests: tcptimeo: 40-dkms-modprobe.sh # SKIP", "4 tcptimeo: 40-dkms-modprobe.sh"),
        ("not ok 3 selftests: tcptimeo: 20-half-open-client.py # TIMEOUT 300 seconds",
         "124 tcptimeo: 20-half-open-client.py"),
        ("not ok 4 selftests: tcptimeo: 14-bad-input-c # exit=1", "1 tcptimeo: 14-bad-input-c"),
        ("not ok 5 selftests: tcptimeo: 13-fill-force.py", "1 tcptimeo: 13-fill-force.py"),
        ("# ok 1 selftests: tcptimeo: quoted output", "-"),
        ("# not ok 2 - a point of the test", "-"),
        ("ok 2 - a point, not a verdict", "-"),
        ("TAP version 13", "-"),
    ]
    lib = os.path.join(ROOT, "selftests", "lib", "ksft_verdict.sh")
    script = ('. "$1"; shift; for l in "$@"; do '
              'if ksft_verdict "$l"; then echo "$KSFT_RC $KSFT_TEST"; else echo -; fi; done')
    p = subprocess.run(["bash", "-c", script, "-", lib] + [c for c, _ in cases],
                       capture_output=True, text=True, timeout=30)
    got = p.stdout.splitlines()
    bad = [f"{c!r}: want {w!r}, got {g!r}" for (c, w), g in
           zip(cases, got + [None] * len(cases)) if g != w]
    ok(p.returncode == 0 and not bad, "lib/ksft_verdict.sh: the runner's ok/SKIP/TIMEOUT/exit= "
       "verdicts and nothing else", diag="\n".join(bad) + p.stderr)


def check_shell_undo():
    """undo in lib/tt_common.sh (docstring, 8)."""
    import tempfile
    ends = {"fail": ("exit 1", 1), "term": ("kill -TERM $$; sleep 5", 143),
            "skip": ("tap_skip_all why", 4), "done": ("tap_plan 1; ok a; tap_done", 0)}
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for lib in ("lib/tap.sh", "packaging/tap.sh"):
            for name, (end, want) in ends.items():
                mark = os.path.join(tmp, f"{lib.replace('/', '_')}.{name}")
                script = (f'. "{os.path.join(ROOT, "selftests", lib)}"\n'
                          f'undo "echo second >>{mark}"\n'
                          f'undo "echo first >>{mark}"\n{end}\n')
                p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                   timeout=30)
                got = open(mark).read().split() if os.path.exists(mark) else []
                if p.returncode != want or got != ["first", "second"]:
                    bad.append(f"{lib} {name}: exit {p.returncode} (want {want}), undo ran {got}")
    ok(not bad, "shell tests: undo runs last first on exit 1, TERM, a skip and a normal end, "
       "exit status kept", diag="\n".join(bad))


def check_ksft_entry():
    """ksft_entry in vm/guest.sh (docstring, 9)."""
    import tempfile
    guest = open(os.path.join(ROOT, "selftests", "vm", "guest.sh")).read()
    m = re.search(r"^ksft_entry\(\) \{\n.*?^\}\n", guest, re.S | re.M)
    if not m:
        ok(False, "vm/guest.sh: ksft_entry found", diag="no ksft_entry() { ... } in it")
        return
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        ksft = os.path.join(tmp, "ksft")
        os.makedirs(os.path.join(ksft, "tcptimeo"))
        with open(os.path.join(ksft, "kselftest-list.txt"), "w") as f:
            f.write("tcptimeo:00-load.sh\n")
        for t in ("99-negative-control.sh", "soak/90-soak.py", "00-load.sh"):
            script = m.group(0) + 'ksft_entry "$1"; ksft_entry "$1" >/dev/null'
            p = subprocess.run(["bash", "-c", script, "-", t], capture_output=True, text=True,
                               timeout=30, env=dict(os.environ, ksft=ksft, TCPTIMEO_SRC=ROOT))
            dst = os.path.join(ksft, "tcptimeo", t)
            if p.returncode != 0 or p.stdout != f"tcptimeo:{t}\n":
                bad.append(f"{t}: exit {p.returncode}, printed {p.stdout!r} {p.stderr!r}")
            elif t != "00-load.sh" and not (os.path.isfile(dst) and os.access(dst, os.X_OK)):
                bad.append(f"{t}: {dst} is not an executable file")
        lines = open(os.path.join(ksft, "kselftest-list.txt")).read().split()
        if sorted(lines) != sorted(["tcptimeo:00-load.sh", "tcptimeo:99-negative-control.sh",
                                    "tcptimeo:soak/90-soak.py"]):
            bad.append(f"kselftest-list.txt: {lines}")
    ok(not bad, "vm/guest.sh ksft_entry: a test left out of the installed suite is added once, "
       "as an executable file where the runner runs it", diag="\n".join(bad))


def check_negative_control():
    """99-negative-control.sh (docstring, 10)."""
    t = os.path.join(ROOT, "selftests", "99-negative-control.sh")
    bad = []
    for val, want_rc, want in (("1", 1, "not ok 1 - negative control"), ("0", 0, "# SKIP")):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TCPTIMEO_NEGATIVE_CONTROL": val}
        p = subprocess.run([t], capture_output=True, text=True, timeout=30, env=env,
                           cwd=os.path.dirname(t))
        if p.returncode != want_rc or want not in p.stdout or p.stderr:
            bad.append(f"TCPTIMEO_NEGATIVE_CONTROL={val}: exit {p.returncode} (want {want_rc}), "
                       f"stdout {p.stdout!r}, stderr {p.stderr!r}")
    ok(not bad, "99-negative-control.sh: its point fails with TCPTIMEO_NEGATIVE_CONTROL=1 "
       "and is skipped without", diag="\n".join(bad))


def check_arch():
    """kernels.sh and run.py with an arm64 series beside an amd64 one of
    the same version (fake releases, a fake fetch cache): the arm64
    kernel belongs to its own series (not to the amd64 "0.2" its release
    starts with), info names its architecture, root and cross builder, a
    fetched kernel without an image is not booted, `installed ARCH` and
    `list ARCH` filter, and tests=core gives core.tests unless TESTS or
    --full say otherwise."""
    import importlib.util
    import shutil
    import tempfile
    ks = os.path.join(ROOT, "selftests", "vm", "kernels.sh")
    tmp = tempfile.mkdtemp(prefix="tt-arch-")
    try:
        conf = os.path.join(tmp, "kernels.conf")
        with open(conf, "w") as f:
            f.write("0.2 tt-no-such-suite\n0.3 fetch smp=1\n"
                    "arm64-0.2 fetch arch=arm64 tests=core\narm64-0.1 fetch arch=arm64\n")
        for series, line in (("arm64-0.2", "0.2.1-fake-arm64 /r/boot/vmlinuz /r cross:/k2"),
                             ("arm64-0.1", "0.1.1-fake-arm64 - /r cross:/k1")):
            os.makedirs(os.path.join(tmp, "cache", series))
            with open(os.path.join(tmp, "cache", series, "ready"), "w") as f:
                f.write(line + "\n")
        env = dict(os.environ, TCPTIMEO_KERNELS_CONF=conf,
                   TCPTIMEO_KCACHE=os.path.join(tmp, "cache"))

        def ksh(*args):
            p = subprocess.run(["bash", ks] + list(args), capture_output=True,
                               text=True, env=env, timeout=60)
            return p.stdout.strip()
        ok(ksh("series", "0.2.1-fake-arm64") == "arm64-0.2",
           "kernels.sh series: a fetched arm64 kernel is its own series, not the "
           "amd64 series its release starts with",
           diag=ksh("series", "0.2.1-fake-arm64"))
        info = dict(line.split("=", 1) for line in ksh("info", "0.2.1-fake-arm64").splitlines())
        want = {"VMLINUZ": "/r/boot/vmlinuz", "ARCH": "arm64", "ROOT": "/r",
                "BUILDER": "cross", "KDIR": "/k2", "MODROOT": "/r"}
        ok(all(info.get(k) == v for k, v in want.items()),
           "kernels.sh info: an arm64 kernel's image, architecture, root and cross builder",
           diag=repr(info))
        info1 = dict(line.split("=", 1) for line in ksh("info", "0.1.1-fake-arm64").splitlines())
        ok(info1.get("VMLINUZ") == "" and info1.get("BUILDER") == "cross",
           "kernels.sh info: a fetched kernel without an image has an empty VMLINUZ "
           "(built against, never booted)", diag=repr(info1))
        info0 = dict(line.split("=", 1) for line in ksh("info", "0.2.7-fake-amd64").splitlines())
        ok(info0.get("ARCH") == "amd64" and info0.get("ROOT") == "/",
           "kernels.sh info: an amd64 kernel runs on the host's root", diag=repr(info0))
        ok(ksh("installed", "arm64").split() == ["0.2.1-fake-arm64", "0.1.1-fake-arm64"]
           and ksh("list", "arm64").split() == ["arm64-0.2", "arm64-0.1"]
           and ksh("list").split() == ["0.2", "0.3", "arm64-0.2", "arm64-0.1"]
           and ksh("installed", "amd64") == "",
           "kernels.sh installed ARCH and list ARCH: only that architecture's series",
           diag=f"{ksh('installed', 'arm64')!r} {ksh('list', 'arm64')!r} {ksh('list')!r}")

        spec = importlib.util.spec_from_file_location(
            "tt_vm_run_arch", os.path.join(ROOT, "selftests", "vm", "run.py"))
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
        saved = {k: os.environ.get(k) for k in ("TCPTIMEO_KERNELS_CONF", "TCPTIMEO_KCACHE")}
        os.environ.update(TCPTIMEO_KERNELS_CONF=conf, TCPTIMEO_KCACHE=os.path.join(tmp, "cache"))
        try:
            tests = run.select_tests([])
            with open(os.path.join(ROOT, "selftests", "vm", "core.tests")) as f:
                core = {line.split()[0] for line in f if line.strip() and not line.startswith("#")}
            got = run.kernel_tests("0.2.1-fake-arm64", tests, False, False)
            ok({run.stem_of(t) for t in got} == core and len(got) < len(tests),
               "run.py: tests=core runs core.tests (each of them a test of selftests/)",
               diag=f"core {sorted(core)}, got {got}")
            ok(run.kernel_tests("0.2.1-fake-arm64", tests, False, True) == tests
               and run.kernel_tests("0.2.1-fake-arm64", tests[:2], True, False) == tests[:2]
               and run.kernel_tests("0.2.7-fake-amd64", tests, False, False) == tests,
               "run.py: --full and TESTS override tests=core; other kernels run all")
            ok(not run.boots(run.info_or_none("0.1.1-fake-arm64"))
               and run.boots(run.info_or_none("0.2.1-fake-arm64")),
               "run.py: a kernel without an image is not booted")
            r = run.Run.__new__(run.Run)
            r.info, r.kver, r.dir, r.root = info, "0.2.1-fake-arm64", tmp, info["ROOT"]
            cmd = r.qemu_cmd()
            ok(cmd[0] == "qemu-system-aarch64" and "virt" in cmd
               and "tt_root=own" in cmd[cmd.index("-append") + 1]
               and any(a.startswith("local,path=/r,mount_tag=root,") for a in cmd)
               and any(f"path={run.TOP},mount_tag=src," in a for a in cmd),
               "run.py: an arm64 kernel boots qemu-system-aarch64 -M virt on its own root, "
               "the source tree as 9p tag src", diag=" ".join(cmd))
            r.tests, r.mode, r.scale = [], "tests", 1.0
            r.write_env()
            with open(os.path.join(tmp, "run.env")) as f:
                env_text = f.read()
            ok("TT_MODROOT=''\n" in env_text
               and f"TCPTIMEO_CTL={os.path.join(run.BUILD, 'arm64', 'tools', 'tcptimeoctl')}\n" in env_text
               and f"TT_KSFT={os.path.join(run.BUILD, 'arm64', 'kselftest')}\n" in env_text,
               "run.py: the arm64 guest's run.env names the arm64 programs and binds no "
               "modules over its root's own /lib/modules (DKMS writes there)", diag=env_text)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        shutil.rmtree(tmp)


def main():
    check_literals()
    check_installed()
    check_arch()
    check_phases()
    check_verdicts()
    check_clean()
    check_skips()
    check_ksft_verdict()
    check_shell_undo()
    check_ksft_entry()
    check_negative_control()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
