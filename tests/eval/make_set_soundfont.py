#!/usr/bin/python3
"""../shared/data/make_set.py with another General MIDI soundfont: the same songs (same
seed: grooves, tempi, keys, note onsets, beats), played by other instrument samples.

    /usr/bin/python3 tests/eval/make_set_soundfont.py SOUNDFONT [make_set.py options]
    # e.g. /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 (musescore-general-soundfont-small)
    #      /usr/share/sounds/sf2/TimGM6mb.sf2 (timgm6mb-soundfont)

make_set.py names its soundfont in a module constant; this loads it as a module, replaces
that constant and runs its main(), so the renderer itself is not copied.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("MUSA_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    soundfont = sys.argv[1]
    if not os.path.isfile(soundfont):
        sys.exit(f"make_set_soundfont: {soundfont} is not a file")
    path = os.path.join(SHARED, "data", "make_set.py")
    spec = importlib.util.spec_from_file_location("make_set", path)
    make_set = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_set)
    if not hasattr(make_set, "SF2"):
        sys.exit(f"make_set_soundfont: {path} no longer names its soundfont in SF2")
    make_set.SF2 = soundfont
    sys.argv = [path] + sys.argv[2:]
    make_set.main()


if __name__ == "__main__":
    main()
