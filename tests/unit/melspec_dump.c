/* melspec-dump: run libmusa's mel spectrogram over raw float32 mono samples.
 *
 *   melspec-dump --rate=44100 [--n-fft=2048] [--hop=512] [--win-length=0]
 *       [--window=hann|hamming|blackman] [--center=1] [--n-mels=128]
 *       [--fmin=0] [--fmax=0] [--scale=slaney|htk] [--norm=slaney|none]
 *       [--power=2] [--log=none|db|log1p] [--top-db=80] [--log-mult=1]
 *       [--chunk=4096] [--out=FILE] [FILE|-] [--next JOB...]
 *
 * Reads the whole input (a file, or stdin), feeds it to musa_melspec_process
 * in chunks of --chunk samples, finishes the stream and writes every frame
 * as n_mels raw float32 values (native endianness) to --out or stdout.
 * Several jobs, separated by --next, run one after the other in the same
 * process (each with its own options, from the defaults). A refused
 * configuration prints "error: <property>: <message>" on stderr and exits
 * with status 2. For tests/unit/test_melspec_numerics.py. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/melspec.h"

typedef struct
{
  FILE *out;
  int n_mels;
  int64_t frames;
  int failed;
} DumpState;

static void
on_frame (void *user, int64_t index, const float *mels, int n_mels)
{
  DumpState *st = user;

  if (index != st->frames || n_mels != st->n_mels) {
    fprintf (stderr, "error: frame %lld arrived as index %lld with %d mels\n",
        (long long) st->frames, (long long) index, n_mels);
    st->failed = 1;
  }
  if (fwrite (mels, sizeof (float), (size_t) n_mels, st->out) !=
      (size_t) n_mels)
    st->failed = 1;
  st->frames++;
}

static float *
read_all (FILE * f, size_t *n_samples)
{
  size_t cap = 1 << 16, len = 0, got;
  char *buf = malloc (cap);

  while (buf != NULL) {
    if (len == cap) {
      char *nb = realloc (buf, cap * 2);
      if (nb == NULL) {
        free (buf);
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    got = fread (buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  if (buf == NULL)
    return NULL;
  if (len % sizeof (float) != 0)
    fprintf (stderr, "warning: %zu trailing bytes ignored\n",
        len % sizeof (float));
  *n_samples = len / sizeof (float);
  return (float *) buf;
}

static int
parse_int (const char *key, const char *val, int *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (val, &end, 10);
  if (errno != 0 || *end != '\0' || end == val || v < -2147483647L
      || v > 2147483647L) {
    fprintf (stderr, "error: %s: not an integer: '%s'\n", key, val);
    return 0;
  }
  *out = (int) v;
  return 1;
}

static int
parse_double (const char *key, const char *val, double *out)
{
  char *end;

  errno = 0;
  *out = strtod (val, &end);
  if (errno != 0 || *end != '\0' || end == val) {
    fprintf (stderr, "error: %s: not a number: '%s'\n", key, val);
    return 0;
  }
  return 1;
}

static int
parse_choice (const char *key, const char *val, const char *const *names,
    int *out)
{
  int i;

  for (i = 0; names[i] != NULL; i++) {
    if (strcmp (val, names[i]) == 0) {
      *out = i;
      return 1;
    }
  }
  fprintf (stderr, "error: %s: unknown value '%s'\n", key, val);
  return 0;
}

/* One job: its arguments are argv[0..argc). 0 = done, 1 = I/O failure,
 * 2 = refused. */
static int
run_job (int argc, char **argv)
{
  static const char *const windows[] = { "hann", "hamming", "blackman", NULL };
  static const char *const scales[] = { "slaney", "htk", NULL };
  static const char *const norms[] = { "slaney", "none", NULL };
  static const char *const logs[] = { "none", "db", "log1p", NULL };
  MusaMelspecConfig cfg;
  MusaMelspec *ms;
  MusaError err;
  DumpState st;
  const char *path = "-", *out_path = NULL;
  float *x;
  size_t n = 0, pos;
  int i, rate = 0, chunk = 4096, choice, ok = 1;
  FILE *in, *out;

  /* the rate is needed first for the defaults */
  for (i = 0; i < argc; i++)
    if (strncmp (argv[i], "--rate=", 7) == 0)
      ok = parse_int ("rate", argv[i] + 7, &rate);
  if (!ok || rate <= 0) {
    fprintf (stderr, "error: rate: --rate=HZ is required\n");
    return 2;
  }
  musa_melspec_config_default (&cfg, rate);

  for (i = 0; i < argc && ok; i++) {
    const char *a = argv[i], *eq;
    char key[32];
    size_t klen;

    if (strncmp (a, "--", 2) != 0) {
      path = a;
      continue;
    }
    eq = strchr (a, '=');
    klen = eq ? (size_t) (eq - a - 2) : 0;
    if (eq == NULL || klen == 0 || klen >= sizeof (key)) {
      fprintf (stderr, "error: expected --key=value, got '%s'\n", a);
      return 2;
    }
    memcpy (key, a + 2, klen);
    key[klen] = '\0';
    eq++;
    if (strcmp (key, "rate") == 0)
      continue;
    else if (strcmp (key, "n-fft") == 0)
      ok = parse_int (key, eq, &cfg.stft.n_fft);
    else if (strcmp (key, "hop") == 0 || strcmp (key, "hop-length") == 0)
      ok = parse_int (key, eq, &cfg.stft.hop);
    else if (strcmp (key, "win-length") == 0)
      ok = parse_int (key, eq, &cfg.stft.win_length);
    else if (strcmp (key, "window") == 0) {
      ok = parse_choice (key, eq, windows, &choice);
      cfg.stft.window = (MusaWindowType) choice;
    } else if (strcmp (key, "center") == 0)
      ok = parse_int (key, eq, &cfg.stft.center);
    else if (strcmp (key, "n-mels") == 0)
      ok = parse_int (key, eq, &cfg.n_mels);
    else if (strcmp (key, "fmin") == 0)
      ok = parse_double (key, eq, &cfg.fmin);
    else if (strcmp (key, "fmax") == 0)
      ok = parse_double (key, eq, &cfg.fmax);
    else if (strcmp (key, "scale") == 0 || strcmp (key, "mel-scale") == 0) {
      ok = parse_choice (key, eq, scales, &choice);
      cfg.scale = (MusaMelScale) choice;
    } else if (strcmp (key, "norm") == 0) {
      ok = parse_choice (key, eq, norms, &choice);
      cfg.norm = (MusaMelNorm) choice;
    } else if (strcmp (key, "power") == 0)
      ok = parse_double (key, eq, &cfg.power);
    else if (strcmp (key, "log") == 0) {
      ok = parse_choice (key, eq, logs, &choice);
      cfg.log = (MusaMelLog) choice;
    } else if (strcmp (key, "top-db") == 0)
      ok = parse_double (key, eq, &cfg.top_db);
    else if (strcmp (key, "log-mult") == 0)
      ok = parse_double (key, eq, &cfg.log_mult);
    else if (strcmp (key, "chunk") == 0)
      ok = parse_int (key, eq, &chunk);
    else if (strcmp (key, "out") == 0)
      out_path = eq;
    else {
      fprintf (stderr, "error: unknown option --%s\n", key);
      return 2;
    }
  }
  if (!ok)
    return 2;
  if (chunk < 1) {
    fprintf (stderr, "error: chunk: must be at least 1, got %d\n", chunk);
    return 2;
  }

  musa_error_clear (&err);
  ms = musa_melspec_new (&cfg, &err);
  if (ms == NULL) {
    fprintf (stderr, "error: %s: %s\n", err.property, err.message);
    return 2;
  }

  in = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
  if (in == NULL) {
    fprintf (stderr, "error: cannot open %s: %s\n", path, strerror (errno));
    musa_melspec_free (ms);
    return 1;
  }
  x = read_all (in, &n);
  if (in != stdin)
    fclose (in);
  if (x == NULL) {
    fprintf (stderr, "error: out of memory reading the input\n");
    musa_melspec_free (ms);
    return 1;
  }

  out = out_path ? fopen (out_path, "wb") : stdout;
  if (out == NULL) {
    fprintf (stderr, "error: cannot write %s: %s\n", out_path,
        strerror (errno));
    free (x);
    musa_melspec_free (ms);
    return 1;
  }
  st.out = out;
  st.n_mels = cfg.n_mels;
  st.frames = 0;
  st.failed = 0;
  for (pos = 0; pos < n; pos += (size_t) chunk) {
    size_t len = n - pos < (size_t) chunk ? n - pos : (size_t) chunk;
    musa_melspec_process (ms, x + pos, len, on_frame, &st);
  }
  musa_melspec_finish (ms, on_frame, &st);
  if (fflush (out) != 0)
    st.failed = 1;
  if (out != stdout && fclose (out) != 0)
    st.failed = 1;

  free (x);
  musa_melspec_free (ms);
  return st.failed ? 1 : 0;
}

int
main (int argc, char **argv)
{
  int first = 1, i, status;

  if (argc < 2) {
    fprintf (stderr, "usage: %s --rate=HZ [--key=value ...] [--out=FILE] "
        "[FILE|-] [--next ...]\n", argv[0]);
    return 2;
  }
  for (i = 1; i <= argc; i++) {
    if (i == argc || strcmp (argv[i], "--next") == 0) {
      status = run_job (i - first, argv + first);
      if (status != 0)
        return status;
      first = i + 1;
    }
  }
  return 0;
}
