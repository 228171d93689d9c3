#!/usr/bin/python3
"""Live radio end to end, all on 127.0.0.1, in bounded time (about a minute):

  Icecast (Debian icecast2) with a config written here (a free port, run as the current user;
  as root Icecast refuses to start unless <changeowner> names an unprivileged user, so the
  config then names nobody/nogroup and the work folder is made writable for it);
  a feeder: filesrc ! wavparse ! audioconvert ! lamemp3enc ! shout2send, streaming a playlist
  of three rendered songs of different families, 10 s each, in real time;
  a tagger: souphttpsrc is-live=true ! decodebin ! audioconvert ! [onsetbpm ! chromakey !, when
  they exist] knntag window=3 interval=1s, against an index learnt by knntag mode=learn from
  four rendered songs (the playlist's songs among them: this test checks the live plumbing;
  accuracy is measured by eval-knntag).

Checks: the `genre` tags and `knntag` messages follow the playlist (the majority label in the
settled part of each song is that song's family); when the server is stopped the tagging
pipeline reports it (an ERROR from souphttpsrc, or EOS, within 20 s: it does not hang) and
goes to NULL cleanly (knntag's whole-stream vote is posted when EOS comes); after the server
is restarted, a new tagging pipeline tags again (the documented recovery: the application
restarts the pipeline). Exit 77 (skip) only when icecast2 is not installed.
"""
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import wave

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402
from shared_data import make_set_or_skip  # noqa: E402

ICECAST = "/usr/bin/icecast2"
SONG_S = 10.0
WINDOW = 3
PASSWORD = "musa-test"
DEADLINE = time.monotonic() + 240  # whole test


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def icecast_config(work, port):
    root = os.geteuid() == 0
    security = ""
    if root:
        # Icecast will not run as root; it drops to this user after binding
        security = ("<security><chroot>0</chroot><changeowner><user>nobody</user>"
                    "<group>nogroup</group></changeowner></security>")
        os.chmod(work, 0o777)
    logdir = os.path.join(work, "log")
    os.makedirs(logdir, exist_ok=True)
    if root:
        os.chmod(logdir, 0o777)
    conf = f"""<icecast>
  <location>loopback</location><admin>test@localhost</admin>
  <limits><clients>10</clients><sources>2</sources><queue-size>524288</queue-size>
    <client-timeout>10</client-timeout><header-timeout>5</header-timeout>
    <source-timeout>5</source-timeout><burst-on-connect>0</burst-on-connect>
    <burst-size>0</burst-size></limits>
  <authentication><source-password>{PASSWORD}</source-password>
    <relay-password>{PASSWORD}</relay-password><admin-user>admin</admin-user>
    <admin-password>{PASSWORD}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
    <loglevel>3</loglevel></logging>
  {security}
</icecast>
"""
    path = os.path.join(work, "icecast.xml")
    with open(path, "w") as f:
        f.write(conf)
    if root:
        os.chmod(path, 0o644)
    return path


def start_icecast(conf, port):
    proc = subprocess.Popen([ICECAST, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    t = time.monotonic()
    while time.monotonic() - t < 10:
        if proc.poll() is not None:
            fail(f"icecast2 exited: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    fail("icecast2 did not listen within 10 s")


def stop_icecast(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def make_playlist(songs, out):
    with wave.open(out, "wb") as w:
        for i, path in enumerate(songs):
            with wave.open(path, "rb") as r:
                if i == 0:
                    w.setparams(r.getparams())
                w.writeframes(r.readframes(int(SONG_S * r.getframerate())))


def pipeline(desc):
    p = Gst.parse_launch(desc)
    if p.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        fail(f"cannot start: {desc}")
    return p


def poll(p, seconds, on_msg):
    """Handle bus messages of @p for @seconds (or until on_msg returns True)."""
    bus = p.get_bus()
    end = min(time.monotonic() + seconds, DEADLINE)
    while time.monotonic() < end:
        m = bus.timed_pop(50 * Gst.MSECOND)
        if m is not None and on_msg(m):
            return True
    if time.monotonic() >= DEADLINE:
        fail("the test ran out of its time budget")
    return False


def main():
    if not os.path.exists(ICECAST):
        print("SKIP: icecast2 is not installed (apt-get install icecast2)")
        return 77
    Gst.init(None)
    for e in ("shout2send", "lamemp3enc", "souphttpsrc", "knntag", "wavparse"):
        if Gst.ElementFactory.find(e) is None:
            fail(f"GStreamer element {e} is missing")
    make_set = make_set_or_skip()
    work = tempfile.mkdtemp(prefix="musa-radio-")
    icecast = None
    try:
        # four songs; seed 12 gives country, ballad, country, rock
        songs_dir = os.path.join(work, "songs")
        subprocess.run(["/usr/bin/python3", make_set, "--n",
                        "4", "--seed", "12", "--seconds", "10", "--out", songs_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows = list(csv.DictReader(open(os.path.join(songs_dir, "labels.csv"))))
        playlist, families = [], []
        for r in rows:
            if r["family"] not in families and float(r["seconds"]) >= SONG_S:
                playlist.append(os.path.join(songs_dir, r["file"]))
                families.append(r["family"])
        playlist, families = playlist[:3], families[:3]
        if len(playlist) < 3:
            fail(f"the rendered set has fewer than three families: {rows}")
        index = os.path.join(work, "radio.knn")
        for r in rows:  # knntag mode=learn, one song at a time
            learn = pipeline(f'filesrc location="{os.path.join(songs_dir, r["file"])}" ! '
                             "decodebin ! audioconvert ! knntag mode=learn "
                             f'label={r["family"]} window={WINDOW} location="{index}" ! '
                             "fakesink sync=false")
            m = learn.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS |
                                                   Gst.MessageType.ERROR)
            if m is None or m.type != Gst.MessageType.EOS:
                fail(f"learning {r['file']} failed")
            learn.set_state(Gst.State.NULL)
        radio = os.path.join(work, "playlist.wav")
        make_playlist(playlist, radio)
        print(f"playlist: {', '.join(families)} ({SONG_S:.0f} s each)", flush=True)

        port = free_port()
        conf = icecast_config(work, port)
        icecast = start_icecast(conf, port)
        feed_desc = (f'filesrc location="{radio}" ! wavparse ! audioconvert ! '
                     "lamemp3enc target=bitrate bitrate=128 cbr=true ! "
                     f"shout2send ip=127.0.0.1 port={port} mount=/radio password={PASSWORD} "
                     "sync=true")
        # the other musa analysis elements ride along when they exist
        others = "".join(f"{e} ! " for e in ("onsetbpm", "chromakey")
                         if Gst.ElementFactory.find(e) is not None)
        tag_desc = (f"souphttpsrc location=http://127.0.0.1:{port}/radio is-live=true "
                    f"timeout=5 retries=1 ! decodebin ! audioconvert ! {others}"
                    f'knntag location="{index}" window={WINDOW} interval=1000000000 ! '
                    "fakesink sync=false")

        # --- the playlist, tagged live ---
        feeder = pipeline(feed_desc)
        t0 = time.monotonic()
        time.sleep(0.5)
        tagger = pipeline(tag_desc)
        votes, genres = [], []

        def on_tag_msg(m):
            if m.type == Gst.MessageType.ERROR:
                fail(f"tagger error while the server runs: {m.parse_error()[0].message}")
            if m.type == Gst.MessageType.ELEMENT and m.get_structure().get_name() == "knntag":
                s = m.get_structure()
                if not s.get_value("final"):
                    votes.append((time.monotonic() - t0, s.get_value("label")))
            if m.type == Gst.MessageType.TAG:
                ok, g = m.parse_tag().get_string(Gst.TAG_GENRE)
                if ok:
                    genres.append((time.monotonic() - t0, g))
            return False

        def feeder_ok():
            m = feeder.get_bus().pop_filtered(Gst.MessageType.ERROR)
            if m is not None:
                fail(f"feeder error: {m.parse_error()[0].message}")

        # run to 2.5 songs; then the server goes down in the middle of song 3
        while time.monotonic() - t0 < 2.8 * SONG_S:
            poll(tagger, 0.5, on_tag_msg)
            feeder_ok()
        print("votes (s, label):", " ".join(f"{t:.0f}:{lab}" for t, lab in votes), flush=True)
        print("genre tags:", " ".join(f"{t:.0f}:{g}" for t, g in genres), flush=True)
        for k, fam in enumerate(families):
            settled = [lab for t, lab in votes
                       if k * SONG_S + WINDOW + 1.5 <= t <= min((k + 1) * SONG_S, 2.8 * SONG_S)]
            if not settled:
                fail(f"no vote during song {k + 1} ({fam})")
            top = max(set(settled), key=settled.count)
            print(f"song {k + 1} ({fam}): {len(settled)} settled votes, majority {top}",
                  flush=True)
            if top != fam:
                fail(f"song {k + 1} is {fam}, the tags say {top}")
        if len({g for _, g in genres}) < 3:
            fail(f"the genre tag did not follow the three songs: {genres}")

        # --- the server stops: the tagger must report it and stop cleanly ---
        stop_icecast(icecast)
        icecast = None
        t_stop = time.monotonic()
        ended = []

        final = []

        def on_end(m):
            if m.type == Gst.MessageType.ELEMENT and m.get_structure().get_name() == "knntag" \
                    and m.get_structure().get_value("final"):
                final.append(m.get_structure().get_value("label"))
            if m.type == Gst.MessageType.ERROR:
                ended.append(("error", m.parse_error()[0].message))
                return True
            if m.type == Gst.MessageType.EOS:
                ended.append(("eos", ""))
                return True
            return False
        poll(tagger, 20, on_end)
        if not ended:
            fail("the tagging pipeline did not report the lost server within 20 s")
        print(f"server stopped: tagger reported {ended[0][0]} after "
              f"{time.monotonic() - t_stop:.1f} s ({ended[0][1]})", flush=True)
        if ended[0][0] == "eos" and not final:
            fail("EOS came without knntag's whole-stream vote")
        if final:
            print(f"whole-stream vote at EOS: {final[0]}", flush=True)
        if tagger.set_state(Gst.State.NULL) == Gst.StateChangeReturn.FAILURE:
            fail("the tagging pipeline did not go to NULL")
        feeder.set_state(Gst.State.NULL)

        # --- restart: server, feeder, and a new tagging pipeline tag again ---
        icecast = start_icecast(conf, port)
        feeder = pipeline(feed_desc)
        t0 = time.monotonic()
        time.sleep(0.5)
        tagger = pipeline(tag_desc)
        votes.clear()
        genres.clear()
        while time.monotonic() - t0 < SONG_S and not genres:
            poll(tagger, 0.5, on_tag_msg)
            feeder_ok()
        if not genres:
            fail("no genre tag within one song after the restart")
        print(f"after the restart: genre {genres[0][1]} at {genres[0][0]:.1f} s", flush=True)
        tagger.set_state(Gst.State.NULL)
        feeder.set_state(Gst.State.NULL)
        print("PASS")
        return 0
    finally:
        if icecast is not None:
            stop_icecast(icecast)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
