#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host side of the VM test suite (make check, make check-vm, make demo).

For each kernel: boot /boot/vmlinuz-<kver> under QEMU TCG with the
initramfs of build/<kver>/ (selftests/vm/init), the host's root read-only
(an arm64 kernel: qemu-system-aarch64 with the arm64 root of kernels.sh
info's ROOT, see selftests/vm/README.md)
and a fresh writable results folder build/logs/<kver>/<run>/, in which the
guest runner (selftests/vm/guest.sh) leaves each test's TAP, stderr and
status and the whole kernel log. Stream the guest's output, judge every
test by the contract in selftests/README.md, scan the kernel log, and
print `N passed, N failed[, N skipped]` summed over all kernels (and the
host unit tests with --unit) as the last line. Exit status 0 only if
nothing failed and something ran.

    run.py [--step MAKE-TARGET ...] [--build] [--kvers "K ..."]
           [--tests "NN-name ..."] [--unit] [--host-suite MAKE-TARGET ...]
    run.py --negative-control        only 99-negative-control, first kernel
    run.py --demo [--kvers K]        demo mode on the newest kernel
    run.py --full ...                every kernel runs every test, also
                                     one whose kernels.conf line says
                                     tests=core (make check-arm64)

make check's phases, in this order, each run whatever the others did and
each counted into the closing line (a phase that cannot run at all is a
failing point with its reason, never silence):
  --step T       `make T` (make deps, ...): one point, by its exit status
  --build        per kernel, the module and the initramfs; the CLI; the
                 tests in C built and the suite installed (make
                 ksft-install, which the guests run with kselftest's
                 runner); for a foreign architecture's kernels (arm64)
                 the same cross-built, and its packages: a point each (a
                 kernel whose build failed fails its VM run too)
  --unit         the host unit tests (TAP)
  --host-suite T `make T` printing TAP (lint, packaging, install flow)
  the VM suite   on every kernel
--kvers words are releases or series of kernels.conf ("6.1"), resolved
after the steps; without --kvers, every series of the matrix must have an
installed kernel, and each one that has none is a failing point.

Environment: TCPTIMEO_NEGATIVE_CONTROL=1 is --negative-control; other
TCPTIMEO_* variables are passed on to the tests; TCPTIMEO_BOOT_LIMIT
(seconds to the first test, default 180), TCPTIMEO_TEST_GRACE (seconds
past a test's own timeout before the host stops the VM, default 60) and
TCPTIMEO_VM_CPUS (host CPUs the VMs may keep busy, default this
machine's: kernels whose VMs fit boot side by side; 1 boots them one
after another).
A kernel's SCALE (kernels.sh info; 4 for the debug kernel) multiplies
every limit, the tests' own included (the guest scales those), and is
passed to the tests as TCPTIMEO_TIME_SCALE. A test outside selftests/ is
named by its path below it (soak/90-soak.py). A kernel with kmemleak
also fails the run for any unreferenced object of the guest's final
scans (kmemleak.txt in the run's folder).
"""
import argparse
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SELFTESTS = os.path.join(TOP, "selftests")
BUILD = os.path.join(TOP, "build")
NEGATIVE = "99-negative-control"
KEEP_RUNS = 20                  # per kernel, in build/logs/<kver>/

TEST_FILE = re.compile(r"^\d\d-[A-Za-z0-9_.+-]+\.(sh|py)$")
# A test in C: selftests/NN-name.c, built on the host (make ksft-progs,
# selftests/Makefile's TEST_GEN_PROGS) into the program selftests/NN-name.
TEST_PROG = re.compile(r"^\d\d-[A-Za-z0-9_+-]+$")
TEST_C = re.compile(r"^(\d\d-[A-Za-z0-9_+-]+)\.c$")
POINT = re.compile(r"^(not ok|ok)\b(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")
SKIP = re.compile(r"#\s*skip\b", re.I)
KLINE = re.compile(r"^\[\s*\d+\.\d+\] ")
# What in a kernel log fails a run. (Loading an unsigned out-of-tree
# module only prints a taint notice, which matches none of these.)
BAD_KLOG = re.compile(
    r"BUG:|WARNING:|Oops|refcount_t|lockdep|KASAN|UBSAN:|Kernel panic|"
    r"general protection fault|Call Trace:|list_(add|del) corruption|"
    r"stack-protector|blocked for more than|rcu_\w+ (self-)?detected stall|"
    # the debug kernel's checkers (most also print BUG: or WARNING:)
    r"possible (circular|recursive) locking|possible \w+ ?\w* ?deadlock|"
    r"DEADLOCK|lock inversion|suspicious RCU usage|"
    r"sleeping function called from invalid context|ODEBUG|"
    r"unreferenced object|suspected memory leak|inconsistent lock state|"
    r"Objects remaining")
# Boot notices of the debug kernel that match the above and are no report.
BENIGN_KLOG = re.compile(
    r"RCU lockdep checking is enabled|kmemleak: Kernel memory leak detector|"
    r"ODEBUG: selftest passed|lockdep: .*selftest")
MARK = "@@tcptimeo-vm "
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[@-Z\\-_])")

BOOT_LIMIT = float(os.environ.get("TCPTIMEO_BOOT_LIMIT", "180"))
TEST_GRACE = float(os.environ.get("TCPTIMEO_TEST_GRACE", "60"))
POWEROFF_LIMIT = 30.0


RUNNING = []                    # QEMU processes to stop if we are stopped
LANE = threading.local()        # .buf: the output of the kernel run here
PRINT = threading.Lock()


def stop_vms(*_):
    for p in list(RUNNING):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    sys.exit("run.py: stopped")


def out(line=""):
    """A line of the report. In a lane (kernels booted side by side) it
    is kept, and printed with the rest of its kernel's lines when that
    kernel is done, so that no two kernels' TAP interleave."""
    buf = getattr(LANE, "buf", None)
    if buf is not None:
        buf.append(line)
    else:
        progress(line)


def progress(line):
    """A comment printed at once, also from a lane: how far a kernel got
    (a run stopped from outside still shows where each lane was)."""
    with PRINT:
        print(line, flush=True)


class Count:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    def line(self):
        s = f"{self.passed} passed, {self.failed} failed"
        return s + (f", {self.skipped} skipped" if self.skipped else "")


def parse_tap(text):
    """Count top-level points: (Count, points, plan or None)."""
    c, points, plan = Count(), 0, None
    for line in text.splitlines():
        m = POINT.match(line)
        if m:
            points += 1
            if m.group(1) == "not ok":
                c.failed += 1
            elif SKIP.search(m.group(2)):
                c.skipped += 1
            else:
                c.passed += 1
        elif plan is None:
            p = PLAN.match(line)
            if p:
                plan = int(p.group(1))
                if plan == 0 and SKIP.search(line):
                    c.skipped += 1          # "1..0 # SKIP why": skipped whole
    return c, points, plan


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def stem_of(test):
    """soak/90-soak.py -> 90-soak (the guest names it so)."""
    return os.path.basename(test).rsplit(".", 1)[0]


def discover():
    """The tests: NN-name.sh and NN-name.py; the programs NN-name (no
    extension, executable: built from NN-name.c); and, for an NN-name.c
    not built, its program all the same, so that it fails in the guest
    instead of being left out. Never the .c itself."""
    files = os.listdir(SELFTESTS)
    progs = {m.group(1) for m in map(TEST_C.match, files) if m}
    progs |= {f for f in files if TEST_PROG.match(f)
              and os.path.isfile(os.path.join(SELFTESTS, f))
              and os.access(os.path.join(SELFTESTS, f), os.X_OK)}
    return sorted([f for f in files if TEST_FILE.match(f)] + list(progs))


def select_tests(names):
    """TESTS words -> test files; a word is a file, a stem or its NN."""
    files = discover()
    if not names:
        return [f for f in files if not f.startswith(NEGATIVE)]
    chosen = []
    for w in names:
        if "/" in w:            # a test outside selftests/NN-*: its path
            if not os.path.isfile(os.path.join(SELFTESTS, w)):
                sys.exit(f"run.py: no test selftests/{w}")
            chosen.append(w)
            continue
        hit = [f for f in files if w in (f, f.rsplit(".", 1)[0])
               or f.startswith(w + "-")]
        if not hit:
            sys.exit(f"run.py: no test {w!r} in selftests/ "
                     f"(have: {' '.join(f.rsplit('.', 1)[0] for f in files)})")
        chosen += [f for f in hit if f not in chosen]
    return chosen


def resolve_kernels(words):
    """(kernel releases, [reasons a series has none]): the matrix when
    `words` is empty, else each word, a series resolved to its kernel."""
    if words:
        p = subprocess.run([os.path.join(HERE, "kernels.sh"), "resolve"] + words,
                           capture_output=True, text=True)
        missing = [line for line in p.stderr.splitlines() if line.strip()]
        if p.returncode != 0 and not missing:
            missing = [f"kernels.sh resolve exited {p.returncode}"]
        bad = {w for w in words if re.fullmatch(r"\d+\.(\d+|x)", w)}
        return [k for k in p.stdout.split() if k not in bad], missing
    p = subprocess.run([os.path.join(HERE, "kernels.sh"), "matrix"],
                       capture_output=True, text=True)
    kvers, missing = [], []
    for line in p.stdout.splitlines():
        series, kver = line.split()
        if kver == "-":
            missing.append(f"no kernel of series {series} of kernels.conf "
                           "is installed (make deps)")
        else:
            kvers.append(kver)
    if p.returncode != 0:
        missing.append(f"kernels.sh matrix exited {p.returncode}: {p.stderr.strip()}")
    return kvers, missing


def kernel_info(kver):
    """kernels.sh info: VMLINUZ, MODROOT, KDIR, BUILDER, SMP."""
    p = subprocess.run([os.path.join(HERE, "kernels.sh"), "info", kver],
                       capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)


def arch_of(info):
    """The kernel's architecture (kernels.conf arch=, default amd64)."""
    return info.get("ARCH") or "amd64"


def arch_build(arch):
    """Where the userspace programs of an architecture are built: build/
    for the host's (amd64), build/<arch>/ for a cross build (make
    tools-arm64 ksft-install-arm64)."""
    return BUILD if arch == "amd64" else os.path.join(BUILD, arch)


def info_or_none(kver):
    """kernels.sh info, or {} for a kernel it does not know."""
    try:
        return kernel_info(kver)
    except (subprocess.CalledProcessError, OSError):
        return {}


def boots(info):
    """False for a kernel only built against (kernels.sh info: no image);
    one kernels.sh does not know is booted, and fails there."""
    return bool(info.get("VMLINUZ")) or not info


def kernel_tests(kver, tests, named, full):
    """The tests one kernel runs: all of `tests`, unless none were named
    (TESTS) and the kernel's series says tests=core (kernels.conf: the
    arm64 guest in make check), then the ones of core.tests among them."""
    if named or full:
        return tests
    try:
        which = subprocess.run([os.path.join(HERE, "kernels.sh"), "opt", kver, "tests", "all"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        which = "all"
    if which == "all":
        return tests
    with open(os.path.join(HERE, f"{which}.tests")) as f:
        want = {w for line in f for w in line.split("#", 1)[0].split()}
    return [t for t in tests if stem_of(t) in want or t in want]


def vm_shape(info):
    """(guest CPUs, TCG threading) of a kernels.sh info: what QEMU is
    started with, and what the lanes count."""
    return info.get("SMP") or "2", info.get("TCG") or "multi"


class Run:
    """One boot of one kernel."""

    def __init__(self, kver, tests, mode, attempt):
        self.kver, self.tests, self.mode, self.attempt = kver, tests, mode, attempt
        self.info = kernel_info(kver)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = os.path.join(BUILD, "logs", kver)
        os.makedirs(base, exist_ok=True)
        self.dir = os.path.join(base, f"{stamp}-{mode}-{attempt}")
        n = 1
        while os.path.exists(self.dir):
            n += 1
            self.dir = os.path.join(base, f"{stamp}-{mode}-{attempt}.{n}")
        os.makedirs(self.dir)
        latest = os.path.join(base, "latest")
        try:
            if os.path.islink(latest):
                os.unlink(latest)
            os.symlink(os.path.basename(self.dir), latest)
        except OSError:
            pass
        self.prune(base)
        self.started = self.done = False
        self.boot_s = None
        self.why = None             # why the VM was stopped or died, if it was
        self.panicked = False
        self.current = None         # test running now (its stem)
        self.finished = []          # stems whose "end" marker came
        self.console_klines = []    # (test stem or None, kernel line)
        self.scale = float(self.info.get("SCALE") or 1)
        self.root = self.info.get("ROOT") or "/"     # the guest's root

    @staticmethod
    def prune(base):
        runs = sorted(d for d in os.listdir(base)
                      if d != "latest" and os.path.isdir(os.path.join(base, d)))
        for d in runs[:-KEEP_RUNS]:
            subprocess.run(["rm", "-rf", os.path.join(base, d)])

    def write_env(self):
        ab = arch_build(arch_of(self.info))
        env = {
            "TCPTIMEO_TIME_SCALE": f"{self.scale:g}",
            "TCPTIMEO_SRC": TOP,
            "TCPTIMEO_KO": os.path.join(BUILD, self.kver, "tcptimeo.ko"),
            "TCPTIMEO_CTL": os.path.join(ab, "tools", "tcptimeoctl"),
            "TCPTIMEO_BENCH_BIN": os.path.join(ab, "bench"),
            "KVER": self.kver,
        }
        for k, v in os.environ.items():
            if k.startswith("TCPTIMEO_") and k not in env and "\n" not in v:
                env[k] = v
        with open(os.path.join(self.dir, "run.env"), "w") as f:
            for k, v in sorted(env.items()):
                f.write(f"export {k}={shlex.quote(v)}\n")
            f.write(f"TT_MODE={self.mode}\n")
            f.write(f"TT_TIMEOUT_SCALE={max(1, round(self.scale))}\n")
            # a fetched amd64 kernel's modules, bound over the host's
            # /lib/modules; a guest on a root of its own has them there
            # (and DKMS must write there)
            modroot = "" if self.root != "/" else self.info.get("MODROOT", "")
            f.write(f"TT_MODROOT={shlex.quote(modroot)}\n")
            f.write(f"TT_TESTS={shlex.quote(' '.join(self.tests))}\n")
            f.write(f"TT_KSFT={shlex.quote(os.path.join(ab, 'kselftest'))}\n")

    def qemu_cmd(self):
        smp, tcg = vm_shape(self.info)
        accel = "tcg,thread=" + tcg
        append = ("loglevel=5 panic=1 log_buf_len=8M "
                  "softlockup_all_cpu_backtrace=1 softlockup_panic=1 "
                  "rdinit=/init mitigations=off")
        root = self.root
        if arch_of(self.info) == "arm64":
            # virt's PL011 is the console. -cpu max with the
            # implementation-defined pointer authentication: QEMU's
            # architected (QARMA) one costs TCG most of its time.
            machine = ["qemu-system-aarch64", "-M", "virt", "-cpu", "max,pauth-impdef=on"]
            append = "console=ttyAMA0 tt_root=own " + append
        else:
            machine = ["qemu-system-x86_64", "-cpu", "max"]
            append = "console=ttyS0 " + append
        cmd = machine + [
            "-accel", accel,
            "-smp", smp, "-m", "2048", "-nographic", "-no-reboot",
            "-nic", "none",
            "-kernel", self.info["VMLINUZ"],
            "-initrd", os.path.join(BUILD, self.kver, "initramfs.cpio.gz"),
            "-append", append,
            "-virtfs", f"local,path={root},mount_tag=root,security_model=none,"
                       "readonly=on,multidevs=remap",
            "-virtfs", f"local,path={self.dir},mount_tag=results,"
                       "security_model=none",
        ]
        if root != "/":
            # a root of the guest's own (init: tt_root=own): the source
            # tree, with the build output, at its own path
            cmd += ["-virtfs", f"local,path={TOP},mount_tag=src,security_model=none,"
                               "readonly=on,multidevs=remap"]
        return cmd

    def timeout_of(self, stem):
        return float(self.test_timeouts.get(stem, 300))

    def boot(self, on_end=None):
        """Run the VM to its end; stream the guest's output."""
        self.write_env()
        self.test_timeouts = {}
        cmd = self.qemu_cmd()
        with open(os.path.join(self.dir, "qemu.cmd"), "w") as f:
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        console = open(os.path.join(self.dir, "console.log"), "w")
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        RUNNING.append(p)
        lines = queue.Queue()

        def reader():
            for raw in p.stdout:
                lines.put(raw.decode(errors="replace").rstrip("\r\n").replace("\r", ""))
            lines.put(None)
        threading.Thread(target=reader, daemon=True).start()

        sc = self.scale
        deadline = t0 + BOOT_LIMIT * sc
        limit_what = f"no test started within {BOOT_LIMIT * sc:.0f} s of boot"
        while True:
            try:
                line = lines.get(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
            except queue.Empty:
                line = ""
                if time.monotonic() > deadline:
                    self.why = limit_what
                    os.killpg(p.pid, signal.SIGKILL)
                    # drain what is left
                    while lines.get() is not None:
                        pass
                    break
                continue
            if line is None:
                break
            console.write(line + "\n")
            console.flush()
            line = ANSI.sub("", line)
            if MARK in line:
                line = line[line.index(MARK):]
            if "Kernel panic" in line:
                self.panicked = True
            if line.startswith(MARK):
                word = line[len(MARK):].split()
                what = word[0] if word else ""
                if what == "start":
                    self.started = True
                    self.boot_s = time.monotonic() - t0
                    out(f"# {self.kver}: booted in {self.boot_s:.1f} s"
                        + (f" (attempt {self.attempt})" if self.attempt > 1 else ""))
                    deadline = time.monotonic() + 60 * sc
                    limit_what = "the guest runner stalled before the first test"
                elif what == "begin" and len(word) >= 3:
                    self.current = word[1]
                    self.test_timeouts[word[1]] = float(word[2])
                    out(f"# ---- {self.kver}: {word[1]} (timeout {word[2]} s)")
                    deadline = time.monotonic() + float(word[2]) + TEST_GRACE * sc
                    limit_what = (f"{word[1]} ran past its {word[2]} s timeout "
                                  f"+ {TEST_GRACE * sc:.0f} s; the guest did not stop it")
                elif what == "end" and len(word) >= 2:
                    self.finished.append(word[1])
                    self.current = None
                    deadline = time.monotonic() + 60 * sc
                    limit_what = f"the guest runner stalled after {word[1]}"
                    if on_end:
                        on_end(word[1])
                elif what == "wait" and len(word) >= 2:
                    # "wait SECONDS WHAT": the guest does something long
                    # between tests (kmemleak scans)
                    out(f"# {self.kver}: {' '.join(word[2:])}")
                    deadline = time.monotonic() + float(word[1]) * sc
                    limit_what = f"the guest stalled in: {' '.join(word[2:])}"
                elif what == "done":
                    self.done = True
                    deadline = time.monotonic() + POWEROFF_LIMIT * sc
                    limit_what = "the guest did not power off"
                elif what.startswith("boot-failed"):
                    out(f"# {self.kver}: {line[len(MARK):]}")
                continue
            if KLINE.match(line):
                self.console_klines.append((self.current, line))
                if self.started and not self.done:
                    out(f"# console: {line}")
                continue
            if self.started:
                out(line)
        p.wait()
        RUNNING.remove(p)
        console.close()
        self.write_kernel_log()
        self.total_s = time.monotonic() - t0
        if self.why and self.done:
            out(f"# {self.kver}: {self.why} (all tests had finished; not a failure)")
            self.why = None
        elif not self.why and not self.done:
            self.why = ("the guest panicked" if self.panicked
                        else f"QEMU exited (status {p.returncode}) before the tests finished")
        return self

    def write_kernel_log(self):
        """kmsg.raw (the guest's /dev/kmsg records) -> kernel.log, as dmesg."""
        raw = os.path.join(self.dir, "kmsg.raw")
        if not os.path.exists(raw):
            return
        seen = set()
        with open(os.path.join(self.dir, "kernel.log"), "w") as f:
            for rec in read(raw).splitlines():
                if rec.startswith(" "):         # a record's KEY=value lines
                    continue
                head, sep, msg = rec.partition(";")
                fields = head.split(",")
                if not sep or len(fields) < 3 or not fields[1].isdigit():
                    continue
                if fields[1] in seen:
                    continue
                seen.add(fields[1])
                usec = int(fields[2]) if fields[2].isdigit() else 0
                f.write(f"[{usec // 1000000:5d}.{usec % 1000000:06d}] {msg}\n")
        os.unlink(raw)

    def boot_tail(self, n=25):
        text = read(os.path.join(self.dir, "console.log")).splitlines()
        return text[-n:]

    def kernel_problems(self):
        """{test stem or None (boot/between tests): [bad kernel log lines]}."""
        found = {}
        cur = None
        for line in read(os.path.join(self.dir, "kernel.log")).splitlines():
            m = re.search(r"tcptimeo-vm: (begin|end) (\S+)", line)
            if m:
                cur = m.group(2) if m.group(1) == "begin" else None
                continue
            if ("tcptimeo-vm:" not in line and BAD_KLOG.search(line)
                    and not BENIGN_KLOG.search(line)):
                found.setdefault(cur, []).append(line)
        for cur, line in self.console_klines:
            if (BAD_KLOG.search(line) and not BENIGN_KLOG.search(line)
                    and line not in found.get(cur, [])):
                found.setdefault(cur, []).append(line)
        return found

    def report_after(self, bad, n=40):
        """A bad line kernel_problems() found and the n lines after it
        (the report's RIP and call trace), from kernel.log or, when the
        guest could not write that (a CPU stuck), the console."""
        for lines in (read(os.path.join(self.dir, "kernel.log")).splitlines(),
                      [line for _, line in self.console_klines]):
            if bad in lines:
                i = lines.index(bad)
                return lines[i:i + 1 + n]
        return [bad]

    def kmemleak(self):
        """The guest's final kmemleak report: (unreferenced objects, text)."""
        text = read(os.path.join(self.dir, "kmemleak.txt"))
        return len(re.findall(r"^unreferenced object", text, re.M)), text


def judge_test(run, stem):
    """(Count, [failure reasons]) of one finished or unfinished test."""
    d = run.dir
    tap = read(os.path.join(d, stem + ".tap"))
    c, points, plan = parse_tap(tap)
    status = dict(line.split("=", 1) for line in
                  read(os.path.join(d, stem + ".status")).splitlines() if "=" in line)
    why = []
    if not status:
        why.append("did not finish" + (f" ({run.why})" if run.why else ""))
    else:
        rc = int(status.get("rc", "255") or 255)
        if rc in (124, 137):
            why.append(f"timed out after {status.get('timeout', '?')} s")
        elif rc == 4 and c.failed == 0 and c.skipped > 0 and c.passed == 0:
            pass                        # KSFT_SKIP: skipped, and said so
        elif rc != 0 and c.failed == 0:
            why.append(f"exited {rc} without a failing point")
        if plan is not None and points < plan:
            why.append(f"printed {points} of {plan} planned points")
        elif plan is not None and points > plan:
            why.append(f"printed {points} points, planned {plan}")
        elif plan is None and points == 0:
            why.append("printed no TAP")
        if status.get("cleanup"):
            why.append(f"cleanup after it failed: {status['cleanup']}")
    if why:
        c.failed += 1
    return c, why


def run_kernel(kver, tests, mode="tests"):
    """Boot (with one retry if the VM died before the first test); Count."""
    total = Count()
    ko = os.path.join(BUILD, kver, "tcptimeo.ko")
    initrd = os.path.join(BUILD, kver, "initramfs.cpio.gz")
    for need, how in ((kernel_info(kver)["VMLINUZ"], "make deps"), (ko, f"make KVER={kver}"),
                      (initrd, f"make {os.path.relpath(initrd, TOP)}")):
        if not os.path.exists(need):
            out(f"not ok - {kver}: {need} is missing ({how})")
            total.failed += 1
            return total, None
    out(f"# ===== {kver}: {len(tests)} test(s): {' '.join(stem_of(t) for t in tests)}")
    counted = {}

    def on_end(stem):
        c, why = judge_test(run, stem)
        counted[stem] = (c, why)
        for w in why:
            out(f"not ok - {kver} {stem}: {w}")
        out(f"# {kver} {stem}: {c.line()}")
        if getattr(LANE, "buf", None) is not None:
            progress(f"# progress: {kver} {stem}: {c.line()}"
                     + (f" ({'; '.join(why)})" if why else "")
                     + f", {time.monotonic() - LANE.t0:.0f} s into the kernel")

    for attempt in (1, 2):
        run = Run(kver, tests, mode, attempt)
        run.boot(on_end if mode == "tests" else None)
        if run.started or attempt == 2:
            break
        out(f"# {kver}: the VM died before the first test started ({run.why}); "
            f"retrying once. Console tail ({run.dir}/console.log):")
        for line in run.boot_tail():
            out(f"#   {line}")

    if not run.started:
        out(f"not ok - {kver}: the VM did not start the tests twice ({run.why}); "
            f"console: {run.dir}/console.log")
        for line in run.boot_tail():
            out(f"#   {line}")
        total.failed += 1
        return total, run

    if mode == "demo":
        rc = read(os.path.join(run.dir, "demo.rc"), "1").strip() or "1"
        if rc != "0" or run.why:
            out(f"# demo failed (exit {rc}{'; ' + run.why if run.why else ''})")
            total.failed += 1
        else:
            total.passed += 1
        return total, run

    # A VM that stopped before its last test (a test wedged the guest, or
    # it panicked) is booted once more for the tests it never started, so
    # that one hang costs one test, not the rest of the kernel's suite.
    boot_tests, resumed = tests, False
    while True:
        pending = [t for t in boot_tests if stem_of(t) not in counted
                   and stem_of(t) != run.current
                   and not os.path.exists(os.path.join(run.dir, stem_of(t) + ".tap"))]
        resume = bool(run.why and pending and not resumed)
        for t in boot_tests:
            stem = stem_of(t)
            if stem in counted or (resume and t in pending):
                continue
            c, why = judge_test(run, stem)
            if stem != run.current and not os.path.exists(os.path.join(run.dir, stem + ".tap")):
                why = ["not run: the VM stopped before it"]
                c = Count()
                c.failed = 1
            counted[stem] = (c, why)
            for w in why:
                out(f"not ok - {kver} {stem}: {w}")
        total.failed += judge_boot(run)
        if not resume:
            break
        out(f"# {kver}: the VM stopped ({run.why}); booting again for the "
            f"{len(pending)} test(s) it did not start")
        boot_tests, resumed = pending, True
        run = Run(kver, pending, mode, 1)
        run.boot(on_end)
        if not run.started:
            for t in pending:
                counted[stem_of(t)] = (Count(), [])
                counted[stem_of(t)][0].failed = 1
                out(f"not ok - {kver} {stem_of(t)}: not run: the VM stopped "
                    f"before it, and the boot for the rest did not start ({run.why})")
            total.failed += 1
            break

    for t in tests:
        total.add(counted[stem_of(t)][0])
    out(f"# {kver}: {total.line()}; boot {run.boot_s or 0:.1f} s, whole VM run "
        f"{run.total_s:.0f} s; logs in {os.path.relpath(run.dir, TOP)}/")
    return total, run


def host_threads(kver):
    """Host CPUs one VM of kver keeps busy: its vCPUs, or one thread for
    all of them on single-threaded TCG."""
    try:
        info = kernel_info(kver)
    except (subprocess.CalledProcessError, OSError):
        return 1
    smp, tcg = vm_shape(info)
    return 1 if tcg == "single" else int(smp)


def vm_cpus():
    """CPUs the VMs may use: TCPTIMEO_VM_CPUS, or this machine's."""
    want = os.environ.get("TCPTIMEO_VM_CPUS", "")
    if want:
        if not want.isdigit() or int(want) < 1:
            sys.exit(f"run.py: TCPTIMEO_VM_CPUS={want!r}: a whole number >= 1")
        return int(want)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run_kernels(kvers, tests):
    """Each kernel's suite (tests: kver -> its tests); yields (kver, Count,
    Run) as each one ends.

    Kernels boot side by side as long as their VMs' host threads
    (host_threads) fit in vm_cpus(), in matrix order; one that does not
    fit waits for a lane, and one always runs. A guest on
    single-threaded TCG keeps one host CPU busy, so two of them on two
    CPUs each take about as long as alone (00-load and 13-fill-force:
    6.1 37 s vs 36 s, 6.12 30 s vs 28 s; the pair 38 s vs 64 s). A
    lane's lines are printed as one block when its kernel is done, with
    live "# progress:" comments meanwhile."""
    cpus = vm_cpus()
    cost = {k: min(host_threads(k), cpus) for k in kvers}
    if len(kvers) < 2 or cost and sum(sorted(cost.values())[:2]) > cpus:
        for kver in kvers:
            c, run = run_kernel(kver, tests[kver])
            yield kver, c, run
        return
    out(f"# VM suite: {len(kvers)} kernels, booted side by side on {cpus} CPUs "
        "(TCPTIMEO_VM_CPUS); each kernel's report follows when it is done")
    done = queue.Queue()

    def lane(kver):
        LANE.buf, LANE.t0 = [], time.monotonic()
        try:
            c, run = run_kernel(kver, tests[kver])
        except Exception as e:          # a harness bug: a failing point
            c, run = Count(), None
            c.failed = 1
            LANE.buf.append(f"not ok - {kver}: the VM harness failed: {e!r}")
        done.put((kver, c, run, LANE.buf))

    pending, busy, running = list(kvers), 0, 0
    while pending or running:
        while pending and (running == 0 or busy + cost[pending[0]] <= cpus):
            kver = pending.pop(0)
            busy += cost[kver]
            running += 1
            progress(f"# progress: {kver}: booting")
            threading.Thread(target=lane, args=(kver,), daemon=True).start()
        kver, c, run, lines = done.get()
        busy -= cost[kver]
        running -= 1
        for line in lines:
            out(line)
        yield kver, c, run


def judge_boot(run):
    """What one boot's kernel log, kmemleak and end say; failures counted."""
    kver, failed = run.kver, 0
    problems = run.kernel_problems()
    for stem, lines in problems.items():
        where = stem or "boot or between tests"
        out(f"not ok - {kver}: kernel log shows problems during {where} "
            f"(see {run.dir}/kernel.log)")
        for line in lines[:20]:
            out(f"#   {line}")
        out("#   the first report in full:")
        for line in run.report_after(lines[0]):
            out(f"#   | {line}")
        failed += 1
    leaks, text = run.kmemleak()
    if leaks:
        out(f"not ok - {kver}: kmemleak: {leaks} unreferenced object(s) after "
            f"the tests (see {run.dir}/kmemleak.txt)")
        for line in text.splitlines()[:40]:
            out(f"#   {line}")
        failed += 1
    elif os.path.exists(os.path.join(run.dir, "kmemleak.txt")):
        out(f"# {kver}: kmemleak: no unreferenced object after the tests")
    if run.why:
        out(f"not ok - {kver}: {run.why}")
        failed += 1
    elif run.panicked:
        out(f"not ok - {kver}: the guest panicked")
        failed += 1
    return failed


def run_logged(name, cmd, log, prefix=""):
    """Run a shell command in TOP, its output streamed (each line after
    `prefix`) and saved in `log`: (exit status, its lines)."""
    out(f"# ===== {name}: {cmd}")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        p = subprocess.Popen(cmd, shell=True, cwd=TOP, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace")
        text = []
        for line in p.stdout:
            f.write(line)
            text.append(line.rstrip("\n"))
            out(prefix + text[-1])
        return p.wait(), text


def run_host_suite(name, cmd, log):
    """A host-side TAP suite (a shell command): streamed, saved, counted."""
    rc, text = run_logged(name, cmd, log)
    c, points, plan = parse_tap("\n".join(text))
    if rc != 0 and c.failed == 0:
        out(f"not ok - {name}: exited {rc} without a failing point")
        c.failed += 1
    elif points == 0 and c.skipped == 0:
        out(f"not ok - {name}: printed no test point")
        c.failed += 1
    out(f"# {name}: {c.line()}")
    return c


def run_step(name, cmd, log):
    """A command counted by its exit status alone: one point. Its output
    is saved and streamed as diagnostics."""
    t0 = time.monotonic()
    rc, text = run_logged(name, cmd, log, prefix="# ")
    tail = text[-20:]
    c = Count()
    took = time.monotonic() - t0
    if rc == 0:
        out(f"ok - {name} ({took:.0f} s)")
        c.passed += 1
    else:
        out(f"not ok - {name}: exited {rc} after {took:.0f} s "
            f"(log {os.path.relpath(log, TOP)}); its last lines:")
        for line in tail:
            out(f"#   {line}")
        c.failed += 1
    return c


def make_cmd(target, kvers=None):
    cmd = f"make -s --no-print-directory {shlex.quote(target)}"
    if kvers is not None:
        cmd += f" KVERS={shlex.quote(' '.join(kvers))}"
    return cmd


def run_build(kvers):
    """The module and the VM's initramfs per kernel, then the CLI, and the
    suite (its tests in C built) installed as kernel CI installs it, which
    the VMs run through kselftest's runner."""
    total = Count()
    arches = []
    for k in kvers:
        # absolute: the Makefile's pattern rules are $(B)/%/...
        ko = os.path.join(BUILD, k, "tcptimeo.ko")
        initrd = os.path.join(BUILD, k, "initramfs.cpio.gz")
        info = info_or_none(k)
        arch = arch_of(info)
        if arch not in arches:
            arches.append(arch)
        if boots(info):
            total.add(run_step(f"build {k}: module and initramfs",
                               make_cmd(ko, [k]) + " " + shlex.quote(initrd),
                               os.path.join(BUILD, "logs", f"build-{k}.log")))
        else:
            total.add(run_step(f"build {k}: module (built against only, not booted)",
                               make_cmd(ko, [k]),
                               os.path.join(BUILD, "logs", f"build-{k}.log")))
    total.add(run_step("build tcptimeoctl", make_cmd("tools"),
                       os.path.join(BUILD, "logs", "build-tools.log")))
    total.add(run_step("build the tests in C and install the suite "
                       "(make -C selftests install)", make_cmd("ksft-install"),
                       os.path.join(BUILD, "logs", "build-ksft-install.log")))
    for arch in arches:
        if arch == "amd64":
            continue
        total.add(run_step(f"build tcptimeoctl and the tests' programs for {arch}",
                           make_cmd(f"tools-{arch}"),
                           os.path.join(BUILD, "logs", f"build-tools-{arch}.log")))
        total.add(run_step(f"build the tests in C for {arch} and install the suite",
                           make_cmd(f"ksft-install-{arch}"),
                           os.path.join(BUILD, "logs", f"build-ksft-install-{arch}.log")))
        # what 47-dkms-node installs in the guest, as on a node
        total.add(run_step(f"build the {arch} packages (make deb-{arch})",
                           make_cmd(f"deb-{arch}"),
                           os.path.join(BUILD, "logs", f"build-deb-{arch}.log")))
    return total


def run_unit():
    """make -C selftests/unit check (TAP), saved in build/logs/unit.tap."""
    if not os.path.exists(os.path.join(SELFTESTS, "unit", "Makefile")):
        return Count()
    return run_host_suite("host unit tests",
                          "make -s --no-print-directory -C selftests/unit check",
                          os.path.join(BUILD, "logs", "unit.tap"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", action="append", default=[], metavar="TARGET",
                    help="a make target run first and counted by its exit "
                         "status (make: CHECK_STEPS)")
    ap.add_argument("--build", action="store_true",
                    help="build each kernel's module and initramfs and the CLI "
                         "after the steps")
    ap.add_argument("--kvers", default=os.environ.get("KVERS", ""))
    ap.add_argument("--tests", default=os.environ.get("TESTS", ""))
    ap.add_argument("--unit", action="store_true", help="run the host unit tests first")
    ap.add_argument("--host-suite", action="append", default=[], metavar="TARGET",
                    help="a make target printing TAP, run and counted after "
                         "the unit tests (make: CHECK_HOST_SUITES)")
    ap.add_argument("--negative-control", action="store_true",
                    default=os.environ.get("TCPTIMEO_NEGATIVE_CONTROL", "") not in ("", "0"))
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--full", action="store_true",
                    help="every kernel runs the whole suite, also one whose "
                         "kernels.conf line says tests=core (make check-arm64)")
    a = ap.parse_args()
    # QEMU runs in its own session: take it down with us.
    signal.signal(signal.SIGTERM, stop_vms)
    signal.signal(signal.SIGINT, stop_vms)
    signal.signal(signal.SIGHUP, stop_vms)

    if a.negative_control:
        os.environ["TCPTIMEO_NEGATIVE_CONTROL"] = "1"
        tests = select_tests([NEGATIVE])
    else:
        tests = select_tests(a.tests.split())

    total = Count()
    # In the negative control only failures of the steps and the build
    # count: its closing line must stay "0 passed, 1 failed".
    for target in a.step:
        c = run_step(f"make {target}", make_cmd(target),
                     os.path.join(BUILD, "logs", f"step-{target}.log"))
        if a.negative_control:
            c.passed = 0
        total.add(c)

    if a.step or a.build:
        kvers, missing = resolve_kernels(a.kvers.split())
        for why in missing:
            out(f"not ok - {why}")
            total.failed += 1
    else:
        kvers = a.kvers.split() or resolve_kernels([])[0]
    if not kvers:
        out("not ok - no kernel of selftests/vm/kernels.conf is installed (make deps)")
        total.failed += 1
    if a.build and (kvers or not a.demo):
        c = run_build(kvers)
        if a.negative_control:
            c.passed = 0
        total.add(c)

    if a.demo:
        if not kvers:
            return 1
        kver = sorted(kvers, key=lambda k: [int(x) if x.isdigit() else x
                                            for x in re.split(r"(\d+)", k)])[-1]
        c, _ = run_kernel(kver, [], mode="demo")
        return 0 if c.failed == 0 and total.failed == 0 else 1

    if a.negative_control:
        kvers = kvers[:1]
        if kvers:
            out(f"# negative control: only {NEGATIVE} on {kvers[0]}; it must fail")
    else:
        if a.unit:
            total.add(run_unit())
        for target in a.host_suite:
            total.add(run_host_suite(f"make {target}", make_cmd(target, kvers),
                                     os.path.join(BUILD, "logs", f"{target}.tap")))
    t0 = time.monotonic()
    booted = []
    vm_kvers = []
    for kver in kvers:
        if boots(info_or_none(kver)):
            vm_kvers.append(kver)
        else:
            out(f"# {kver}: built against only (kernels.conf: no image to boot): no VM suite")
    per = {k: kernel_tests(k, tests, bool(a.tests.split()) or a.negative_control, a.full)
           for k in vm_kvers}
    for kver, c, run in run_kernels(vm_kvers, per):
        total.add(c)
        if run and run.boot_s is not None:
            booted.append(f"{kver} {run.boot_s:.1f} s")
    out(f"# VM suite: {time.monotonic() - t0:.0f} s; one boot to the first test: "
        + (", ".join(booted) or "none"))
    out(total.line())
    return 0 if total.failed == 0 and (total.passed + total.skipped) > 0 else 1

if __name__ == "__main__":
    sys.exit(main())
