#!/usr/bin/env python3
"""Every function of the installed headers, called with every pointer
argument NULL (numbers: 4, or 1.0), must return instead of crashing.

The calls are generated from the headers themselves, so a function added
later is covered without anyone writing its call; each runs in a forked
child, and the ones that die by a signal are listed. (test_api.c checks what
each call returns; this checks that none of them crashes at all.)

Usage: null_calls.py CC LIBMUSA SRCDIR HEADER...
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile


def prototypes(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = "\n".join(l for l in text.split("\n")
                     if not l.lstrip().startswith("#"))
    for decl in text.split(";"):
        m = re.search(r"\b(musa_[a-z0-9_]+)\s*\(([^()]*)\)", decl)
        if m and "typedef" not in decl:
            yield m.group(1), m.group(2)


def argument(a):
    a = " ".join(a.split())
    if "*" in a:
        return "NULL"
    if a.startswith(("double", "float")):
        return "1.0"
    return "4"


def main():
    cc, lib, srcdir, headers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    calls, seen = [], set()
    for h in headers:
        for name, args in prototypes(h):
            if name in seen:
                continue
            seen.add(name)
            vals = [argument(a) for a in args.split(",")
                    if a.strip() not in ("void", "", "...")]
            calls.append("%s (%s)" % (name, ", ".join(vals)))
    includes = "".join('#include "%s"\n' % os.path.relpath(h, srcdir)
                       for h in headers)
    body = "".join("  TRY (%s);\n" % c for c in calls)
    src = """#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
%s
static int crashed;
#define TRY(call) do { \\
    int st_; \\
    pid_t p_ = fork (); \\
    if (p_ == 0) { \\
      (void) (call); \\
      _exit (0); \\
    } \\
    waitpid (p_, &st_, 0); \\
    if (!WIFEXITED (st_)) { \\
      crashed++; \\
      printf ("crashed: %%s\\n", #call); \\
    } \\
  } while (0)

int
main (void)
{
%s  printf ("%%d of %d functions crashed with NULL pointers\\n", crashed);
  return crashed > 0;
}
""" % (includes, body, len(calls))
    with tempfile.TemporaryDirectory() as tmp:
        c = os.path.join(tmp, "null_calls.c")
        exe = os.path.join(tmp, "null_calls")
        open(c, "w").write(src)
        cmd = shlex.split(cc) + ["-std=gnu11", "-w", "-I" + srcdir, c, "-o",
                                 exe, lib, "-Wl,-rpath," + os.path.dirname(lib),
                                 "-lm"]
        subprocess.run(cmd, check=True)
        return subprocess.run([exe]).returncode


if __name__ == "__main__":
    sys.exit(main())
