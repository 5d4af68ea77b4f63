#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Run host unit test programs and print one kselftest-style TAP stream.

Each program prints "ok - what" / "not ok - what" (numbers optional) and
"#" diagnostics; this numbers the points across programs and prints the
plan. A program that exits non-zero without a "not ok" counts as one
failure. Exit status: 0 if every point passed.
"""
import re
import subprocess
import sys

POINT = re.compile(r"^(not ok|ok)\b(?:\s+\d+)?\s*(?:-\s*)?(.*)$")


def main(argv):
    lines, n, failed = [], 0, 0
    for cmd in argv[1:]:
        p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           errors="replace")
        saw_fail = False
        for line in p.stdout.splitlines():
            m = POINT.match(line)
            if m and not line.startswith("#"):
                n += 1
                if m.group(1) == "not ok":
                    failed += 1
                    saw_fail = True
                lines.append(f"{m.group(1)} {n} - {m.group(2)}")
            elif line.startswith("TAP version") or re.match(r"^1\.\.\d+", line):
                continue
            else:
                lines.append(line if line.startswith("#") else "# " + line)
        if p.returncode != 0 and not saw_fail:
            n += 1
            failed += 1
            lines.append(f"not ok {n} - {cmd} exited {p.returncode}")
    print("TAP version 13")
    print(f"1..{n}")
    for line in lines:
        print(line)
    print(f"# {n - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
