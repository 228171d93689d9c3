"""Where the pipeline tests find ../shared/data/make_set.py (the labelled-song renderer).

MUSA_SHARED (set by meson to <source>/../shared) or ../shared beside the checkout. A test
that renders songs calls make_set_or_skip(): without the renderer or its tools (mma,
fluidsynth) it exits 77, which meson counts as a skip, and says what is missing.
"""
import os
import shutil
import sys


def make_set_or_skip():
    shared = os.environ.get("MUSA_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "..", "..", "..", "shared"))
    make_set = os.path.join(shared, "data", "make_set.py")
    missing = [t for t in ("mma", "fluidsynth") if not shutil.which(t)]
    if not os.path.exists(make_set):
        missing.append(make_set + " (set MUSA_SHARED to the shared folder)")
    if missing:
        print("SKIP: needs " + ", ".join(missing))
        sys.exit(77)
    return make_set
