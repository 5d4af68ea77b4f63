#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Which .debs does deploy/kubernetes/Dockerfile install for one
platform? Docker cannot run on the test machines, so this replays the
Dockerfile's file operations against a build context offline, the way
BuildKit does them for `--platform linux/ARCH`:

- the automatic platform ARGs (TARGETARCH, TARGETOS, TARGETPLATFORM,
  TARGETVARIANT) are visible in FROM, but inside the stage only after an
  `ARG NAME` there; ARGs before the first FROM are FROM's only; ARG and
  ENV values are substituted into COPY/ADD/ENV/ARG/WORKDIR ($VAR,
  ${VAR}, ${VAR:-word}, ${VAR:+word}) and given to RUN's shell (emulated
  by the same substitution);
- COPY/ADD SRC... DEST: a directory source copies its contents, a
  missing source is an error (as in BuildKit), globs as filepath.Match;
- RUN: every word naming a *.deb path is expanded (sh globbing) against
  the files COPY put into the image; a pattern that matches nothing is
  reported (apt-get would be handed the literal pattern and fail).

    dockerfile-debs.py DOCKERFILE CONTEXT ARCH

prints one "deb<TAB>IMAGE-PATH<TAB>CONTEXT-PATH" line per .deb the RUN
lines install, and "error<TAB>..." lines, exit 1, for what would fail.
Only what this project's Dockerfile uses is emulated: one stage, no
COPY --from, no .dockerignore; anything else is an error, not a guess.
"""
import fnmatch
import os
import posixpath
import re
import shlex
import sys

PLATFORM_ARGS = ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT")


def instructions(text):
    """(keyword, argument string) per instruction: continuation lines
    joined, comment lines dropped (also inside a continuation, as the
    Dockerfile parser does)."""
    out, cur = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            kw, _, rest = cur.strip().partition(" ")
            out.append((kw.upper(), rest.strip()))
        cur = ""
    if cur.strip():
        kw, _, rest = cur.strip().partition(" ")
        out.append((kw.upper(), rest.strip()))
    return out


def subst(s, env):
    def one(m):
        name = m.group(1) or m.group(2)
        op, word = m.group(3), m.group(4)
        val = env.get(name, "")
        if op == ":-":
            return val or subst(word, env)
        if op == ":+":
            return subst(word, env) if val else ""
        return val
    return re.sub(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\})", one, s)


def kv_pairs(rest):
    """ARG/ENV NAME[=VALUE] ... (and the legacy ENV NAME VALUE)."""
    words = shlex.split(rest)
    if len(words) >= 2 and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2] if "=" in w else None) for w in words]


def main(dockerfile, ctx, arch):
    errors, image, debs = [], {}, []
    platform = {"TARGETPLATFORM": f"linux/{arch}", "TARGETOS": "linux",
                "TARGETARCH": arch, "TARGETVARIANT": ""}
    global_args, env, stages = dict(platform), {}, 0
    for kw, rest in instructions(open(dockerfile).read()):
        if kw == "FROM":
            stages += 1
            if stages > 1:
                errors.append("more than one stage: not emulated")
            env = {}
            continue
        if kw == "ARG":
            for name, val in kv_pairs(rest):
                scope = env if stages else global_args
                if val is not None:
                    scope[name] = subst(val, env if stages else global_args)
                elif stages:
                    # Declared without a value: the platform's, or a
                    # global ARG's default.
                    env[name] = global_args.get(name, platform.get(name, ""))
                else:
                    global_args.setdefault(name, "")
            continue
        if not stages:
            errors.append(f"{kw} before FROM")
            continue
        if kw == "ENV":
            for name, val in kv_pairs(rest):
                env[name] = subst(val or "", env)
        elif kw in ("COPY", "ADD"):
            words = [subst(w, env) for w in shlex.split(rest)]
            opts = [w for w in words if w.startswith("--")]
            words = [w for w in words if not w.startswith("--")]
            if any(o.startswith("--from") for o in opts):
                errors.append(f"{kw} {rest}: --from not emulated")
                continue
            *srcs, dest = words
            for src in srcs:
                rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
                if rel.startswith(".."):
                    errors.append(f"{kw} {src}: outside the build context")
                    continue
                hits = [h for h in sorted(glob_ctx(ctx, rel))]
                if not hits:
                    errors.append(f"{kw} {src} (TARGETARCH={arch}): no such file or directory in the build context")
                for h in hits:
                    p = os.path.join(ctx, h)
                    if os.path.isdir(p):
                        for root, _, files in os.walk(p):
                            for f in files:
                                r = os.path.relpath(os.path.join(root, f), p)
                                image[posixpath.normpath(posixpath.join(dest, r))] = os.path.relpath(os.path.join(root, f), ctx)
                    else:
                        to = posixpath.join(dest, posixpath.basename(h)) if dest.endswith("/") or len(srcs) > 1 else dest
                        image[posixpath.normpath(to)] = h
        elif kw == "RUN":
            # sh's quote removal, roughly: "a"b is the word ab.
            cmd = subst(rest, env).replace('"', "").replace("'", "")
            for word in re.findall(r"[^\s;&|(){}<>]*\.deb\b", cmd):
                if not word.startswith("/"):
                    continue
                hits = sorted(p for p in image if fnmatch.fnmatchcase(p, word) and
                              p.count("/") == word.count("/"))
                if not hits:
                    errors.append(f"RUN: {word} (TARGETARCH={arch}) matches no file in the image")
                for h in hits:
                    if (h, image[h]) not in debs:
                        debs.append((h, image[h]))
    if not stages:
        errors.append("no FROM")
    for h, c in debs:
        print(f"deb\t{h}\t{c}")
    for e in errors:
        print(f"error\t{e}")
    return 1 if errors or not debs else 0


def glob_ctx(ctx, rel):
    """Context paths matching rel (a path or pattern, relative)."""
    if rel == ".":
        return ["."]
    parts, found = rel.split("/"), [""]
    for part in parts:
        nxt = []
        for base in found:
            d = os.path.join(ctx, base) if base else ctx
            if not os.path.isdir(d):
                continue
            names = [part] if not any(c in part for c in "*?[") else \
                [n for n in os.listdir(d) if fnmatch.fnmatchcase(n, part)]
            nxt += [posixpath.join(base, n) if base else n for n in names
                    if os.path.exists(os.path.join(d, n))]
        found = nxt
    return found


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
