#!/usr/bin/env python3
# timeout: 120
"""docs/ABI.md and tcptimeo(4) describe exactly the files the module has.

Loads the module under test, creates one rule, lists the live configfs
rule attributes, every file under /sys/kernel/tcptimeo and
/proc/net/tcptimeo, and compares them with the `What:` entries of
docs/ABI.md, both ways: nothing undocumented, nothing documented that is
gone. For each entry also the access (read-only / write-only / read-write
from the file mode), the documented default against a fresh rule and a
fresh load, the /proc header's columns, and that docs/tcptimeo.4 names
every entry.
"""
import os
import re
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402

SRC = ttmod.SRC
ABI = os.path.join(SRC, "docs", "ABI.md")
MAN = os.path.join(SRC, "docs", "tcptimeo.4")
HDR = os.path.join(SRC, "include", "uapi", "tcptimeo.h")
RULE_PREFIXES = (".../rules/<name>/", "/sys/kernel/config/tcptimeo/rules/<name>/")
SYSFS = "/sys/kernel/tcptimeo/"
PROC = "/proc/net/tcptimeo"


def parse_abi(text):
    """{key: {"access": "ro"|"wo"|"rw", "default": str|None}} where key is
    ("rule", attr), ("sysfs", relpath) or ("proc", path)."""
    entries = {}
    blocks = re.split(r"\n(?=What:)", text)
    group = []
    for block in blocks:
        m = re.match(r"What:\s+(\S+)(.*)", block)
        if not m:
            continue
        path, rest = m.group(1), m.group(2)
        access = "ro" if "read-only" in rest else "wo" if "write-only" in rest else None
        if path.startswith(RULE_PREFIXES):
            attr = path.split("<name>/", 1)[1]
            key = ("rule", attr) if attr else None
        elif path.startswith(SYSFS):
            key = ("sysfs", path[len(SYSFS):])
        elif path == PROC:
            key = ("proc", path)
        else:
            key = ("unknown", path)
        body = block[m.end():]
        if key:
            group.append(key)
            entries[key] = {"access": access, "default": None}
        # A block with Values/Description closes the group of What: lines.
        if body.strip():
            head = body.split("Description:")[0]
            d = re.search(r"default\s+(\S+)", head)
            for k in group:
                if d:
                    entries[k]["default"] = "" if d.group(1) == "empty" else d.group(1)
                # Not marked read-/write-only: writable if it documents
                # Values to write, else there is nothing to write.
                if entries[k]["access"] is None:
                    entries[k]["access"] = "rw" if "Values:" in head else "ro"
            group = []
    return entries


def live_sysfs():
    found = {}
    for d, _dirs, files in os.walk(SYSFS):
        for f in files:
            p = os.path.join(d, f)
            found[os.path.relpath(p, SYSFS)] = os.stat(p).st_mode
    return found


def access_of(mode):
    r = bool(mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH))
    w = bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return "rw" if r and w else "ro" if r else "wo" if w else "none"


def main(t):
    doc = parse_abi(open(ABI).read())
    t.ok(len(doc) >= 20, f"docs/ABI.md has What: entries ({len(doc)})",
         diag=lambda: repr(doc))
    unknown = [k for k in doc if k[0] == "unknown"]
    t.ok(not unknown, "every What: path is under rules/<name>/, /sys/kernel/tcptimeo/ or /proc/net/tcptimeo",
         diag=repr(unknown))

    ttmod.load()
    rule = "docsync"
    err = ttmod.mkdir_rule(rule)
    if err:
        raise RuntimeError(f"mkdir rule {rule}: {ttmod.errname(err)}")
    try:
        rdir = os.path.join(ttmod.RULES, rule)
        live_rule = {a: os.stat(os.path.join(rdir, a)).st_mode for a in os.listdir(rdir)}
        doc_rule = {k[1] for k in doc if k[0] == "rule"}
        t.eq(sorted(set(live_rule) - doc_rule), [],
             "every live rule attribute is documented")
        t.eq(sorted(doc_rule - set(live_rule)), [],
             "every documented rule attribute exists")
        wrong = [(a, doc[("rule", a)]["access"], access_of(m)) for a, m in live_rule.items()
                 if ("rule", a) in doc and doc[("rule", a)]["access"] != access_of(m)]
        t.eq(wrong, [], "rule attributes: documented access == file mode")
        bad_def = []
        for a in sorted(live_rule):
            want = doc.get(("rule", a), {}).get("default")
            if want is None or access_of(live_rule[a]) == "wo":
                continue
            got = ttmod.read(os.path.join(rdir, a))
            if got != want:
                bad_def.append((a, want, got))
        t.eq(bad_def, [], "a fresh rule reads back the documented defaults")

        live = live_sysfs()
        doc_sys = {k[1] for k in doc if k[0] == "sysfs"}
        t.eq(sorted(set(live) - doc_sys), [], "every live /sys/kernel/tcptimeo file is documented")
        t.eq(sorted(doc_sys - set(live)), [], "every documented /sys/kernel/tcptimeo file exists")
        wrong = [(f, doc[("sysfs", f)]["access"], access_of(m)) for f, m in live.items()
                 if ("sysfs", f) in doc and doc[("sysfs", f)]["access"] != access_of(m)]
        t.eq(wrong, [], "sysfs: documented access == file mode")
        bad_def = []
        for f in sorted(live):
            want = doc.get(("sysfs", f), {}).get("default")
            if want is not None and access_of(live[f]) != "wo":
                got = ttmod.read(SYSFS + f)
                if got != want:
                    bad_def.append((f, want, got))
        t.eq(bad_def, [], "sysfs reads back the documented defaults after load")

        m = re.search(r'TCPTIMEO_VERSION\s+"([^"]+)"', open(HDR).read())
        t.eq(ttmod.read(SYSFS + "version"), m.group(1) if m else None,
             "version == TCPTIMEO_VERSION of include/uapi/tcptimeo.h")

        t.ok(("proc", PROC) in doc and os.path.exists(PROC),
             "/proc/net/tcptimeo exists and is documented")
        header = open(PROC).readline().split()
        abi_text = open(ABI).read()
        cols = re.search(r"the kernel will use:\s*\n(.*?)\n\s*local/remote are", abi_text, re.S)
        doc_cols = cols.group(1).split() if cols else None
        t.eq(header, doc_cols, "/proc/net/tcptimeo header == documented columns")

        man = open(MAN).read()
        man_text = re.sub(r"\\-", "-", re.sub(r"\\f[BIRP]", "", man))
        names = sorted({k[1].split("/")[-1] for k in doc if k[0] in ("rule", "sysfs")})
        missing = [n for n in names if not re.search(r"(^|[\s/])" + re.escape(n) + r"\b", man_text, re.M)]
        t.eq(missing, [], "docs/tcptimeo.4 names every documented attribute")
        t.ok(set(doc_cols or []) <= set(man_text.split()) if doc_cols else False,
             "docs/tcptimeo.4 lists the /proc/net/tcptimeo columns")
    finally:
        ttmod.rmdir_rule(rule)
        ttmod.unload(check=False)


if __name__ == "__main__":
    Tap.run(main, plan=15)
