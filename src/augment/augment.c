/* libmusa — randomised, reproducible augmentation chains (musaugment). */
#include "augment/augment.h"
#include "core/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the natural table --------------------------------------------------- */

typedef enum
{
  PT_DOUBLE,                    /* double field of MusaFxParams */
  PT_INT,                       /* int field */
  PT_ENUM,                      /* enum field (choices) */
  PT_LOCAL                      /* stretch rate / pitch semitones */
} ParamType;

typedef struct
{
  const char *name;
  ParamType type;
  size_t offset;
  double lo, hi;                /* natural range */
  double min, max;              /* accepted in a spec */
  int log;                      /* draw log-uniformly */
  int integer;                  /* round the draw */
  const char *const *choices;
  int n_choices;
} ParamDesc;

typedef struct
{
  const char *name;
  int kind;
  double prob;                  /* default probability in the default chain */
  int n_params;
  ParamDesc params[MUSA_AUG_MAX_PARAMS];
} KindDesc;

#define OFF(field) offsetof (MusaFxParams, p.field)

static const char *const eq_shapes[] = {
  "lowshelf", "highshelf", "peak", "highpass", "lowpass"
};

static const int eq_shape_values[] = {
  MUSA_EQ_LOW_SHELF, MUSA_EQ_HIGH_SHELF, MUSA_EQ_PEAK, MUSA_EQ_HIGH_PASS,
  MUSA_EQ_LOW_PASS
};

static const char *const dist_modes[] = { "tanh", "clip", "bitcrush" };

static const int dist_mode_values[] = {
  MUSA_DIST_TANH, MUSA_DIST_CLIP, MUSA_DIST_BITCRUSH
};

static const char *const noise_colours[] = { "white", "pink" };
static const int noise_colour_values[] = { MUSA_NOISE_WHITE, MUSA_NOISE_PINK };

/* EQ frequency ranges by shape when the spec does not fix "freq". */
static const double eq_freq_by_shape[5][2] = {
  {60.0, 300.0},                /* lowshelf */
  {3000.0, 10000.0},            /* highshelf */
  {200.0, 5000.0},              /* peak */
  {20.0, 150.0},                /* highpass */
  {8000.0, 16000.0},            /* lowpass (4-6 kHz muffled a mix: the top
                                 * octaves 12-22 dB down) */
};

/* Effect probabilities of the default chain and the natural ranges. */
static const KindDesc kinds[] = {
  {"gain", MUSA_FX_GAIN, 0.5, 1, {
          {"db", PT_DOUBLE, OFF (gain.db), -6, 6, -60, 24, 0, 0, NULL, 0}}},
  {"eq", MUSA_FX_EQ, 0.5, 4, {
              {"shape", PT_ENUM, OFF (eq.shape), 0, 4, 0, 4, 0, 1, eq_shapes,
                  5},
              {"freq", PT_DOUBLE, OFF (eq.freq_hz), 20, 16000, 10, 96000, 1, 0,
                  NULL, 0},
              {"gain", PT_DOUBLE, OFF (eq.gain_db), -6, 6, -24, 24, 0, 0, NULL,
                  0},
          {"q", PT_DOUBLE, OFF (eq.q), 0.5, 2, 0.1, 20, 1, 0, NULL, 0}}},
  {"compressor", MUSA_FX_COMPRESSOR, 0.3, 7, {
              {"threshold", PT_DOUBLE, OFF (compressor.threshold_db), -30, -10,
                  -80, 0, 0, 0, NULL, 0},
              {"ratio", PT_DOUBLE, OFF (compressor.ratio), 1.5, 6, 1, 100, 1, 0,
                  NULL, 0},
              {"knee", PT_DOUBLE, OFF (compressor.knee_db), 0, 12, 0, 24, 0, 0,
                  NULL, 0},
              {"attack", PT_DOUBLE, OFF (compressor.attack_ms), 1, 30, 0.01,
                    1000,
                  1, 0, NULL, 0},
              {"release", PT_DOUBLE, OFF (compressor.release_ms), 50, 300, 1,
                  5000, 1, 0, NULL, 0},
              {"makeup", PT_DOUBLE, OFF (compressor.makeup_db), 0, 2, -24, 48,
                    0,
                  0, NULL, 0},
              {"auto", PT_DOUBLE, OFF (compressor.auto_makeup), 1, 1, 0, 1, 0,
              0, NULL, 0}}},
  {"limiter", MUSA_FX_LIMITER, 0.2, 3, {
              {"ceiling", PT_DOUBLE, OFF (limiter.ceiling_db), -6, -0.5, -60, 0,
                  0, 0, NULL, 0},
              {"lookahead", PT_DOUBLE, OFF (limiter.lookahead_ms), 1, 5, 0.1,
                    100, 0,
                  0, NULL, 0},
              {"release", PT_DOUBLE, OFF (limiter.release_ms), 20, 200, 1, 5000,
              1, 0, NULL, 0}}},
  {"distortion", MUSA_FX_DISTORTION, 0.1, 4, {
              {"mode", PT_ENUM, OFF (distortion.mode), 0, 2, 0, 2, 0, 1,
                  dist_modes, 3},
              {"drive", PT_DOUBLE, OFF (distortion.drive_db), 0, 24, 0, 60, 0,
                    0,
                  NULL, 0},
              {"mix", PT_DOUBLE, OFF (distortion.mix), 0.1, 0.5, 0, 1, 0, 0,
                    NULL,
                  0},
              {"bits", PT_INT, OFF (distortion.bits), 6, 12, 1, 24, 0, 1, NULL,
              0}}},
  {"reverb", MUSA_FX_REVERB, 0.3, 4, {
              {"room", PT_DOUBLE, OFF (reverb.room_size), 0.2, 0.8, 0, 1, 0, 0,
                  NULL, 0},
              {"damping", PT_DOUBLE, OFF (reverb.damping), 0.2, 0.7, 0, 1, 0, 0,
                  NULL, 0},
              {"wet", PT_DOUBLE, OFF (reverb.wet), 0.05, 0.35, 0, 1, 0, 0, NULL,
                  0},
              {"predelay", PT_DOUBLE, OFF (reverb.predelay_ms), 0, 40, 0, 500,
                    0,
              0, NULL, 0}}},
  {"echo", MUSA_FX_ECHO, 0.1, 3, {
              {"delay", PT_DOUBLE, OFF (echo.delay_ms), 60, 500, 1, 5000, 1, 0,
                  NULL, 0},
              {"feedback", PT_DOUBLE, OFF (echo.feedback), 0, 0.5, 0, 0.95, 0,
                  0, NULL, 0},
          {"mix", PT_DOUBLE, OFF (echo.mix), 0.05, 0.35, 0, 1, 0, 0, NULL, 0}}},
  {"chorus", MUSA_FX_CHORUS, 0.15, 4, {
              {"rate", PT_DOUBLE, OFF (chorus.rate_hz), 0.1, 1, 0.01, 20, 1, 0,
                  NULL, 0},
              {"depth", PT_DOUBLE, OFF (chorus.depth_ms), 1, 4, 0, 50, 0, 0,
                    NULL,
                  0},
              {"delay", PT_DOUBLE, OFF (chorus.delay_ms), 5, 20, 0, 100, 0, 0,
                  NULL, 0},
              {"mix", PT_DOUBLE, OFF (chorus.mix), 0.2, 0.5, 0, 1, 0, 0, NULL,
              0}}},
  {"noise", MUSA_FX_NOISE, 0.15, 2, {
              {"colour", PT_ENUM, OFF (noise.colour), 0, 1, 0, 1, 0, 1,
                  noise_colours, 2},
              {"snr", PT_DOUBLE, OFF (noise.snr_db), 20, 50, -20, 120, 0, 0,
                    NULL,
              0}}},
  {"stretch", MUSA_AUG_STRETCH, 0.25, 1, {
          {"rate", PT_LOCAL, 0, 0.8, 1.25, 0.5, 2, 1, 0, NULL, 0}}},
  {"pitch", MUSA_AUG_PITCH, 0.25, 1, {
          {"semitones", PT_LOCAL, 0, -2, 2, -12, 12, 0, 1, NULL, 0}}},
};

#define N_KINDS ((int) (sizeof (kinds) / sizeof (kinds[0])))

static const KindDesc *
kind_desc (int kind)
{
  int i;

  for (i = 0; i < N_KINDS; i++)
    if (kinds[i].kind == kind)
      return &kinds[i];
  return NULL;
}

const char *
musa_augment_kind_name (int kind)
{
  const KindDesc *k = kind_desc (kind);

  return k ? k->name : NULL;
}

/* ---- locale-independent numbers ------------------------------------------ */

static void
fmt_num (char *buf, size_t len, double v)
{
  char *c;

  if (fabs (v) < 5e-13)
    v = 0.0;
  /* whole numbers (noise seeds, semitones, bits) in full: %.6g printed a
   * noise seed of 2181521356641492 as 2.18152e+15, which cannot make the
   * noise again; below 2^53 every whole number is exact in a double */
  if (v == floor (v) && fabs (v) < 9007199254740992.0)
    snprintf (buf, len, "%.0f", v);
  else
    snprintf (buf, len, "%.6g", v);
  for (c = buf; *c; c++)
    if (*c == ',')
      *c = '.';
}

/* The shortest %g (6 to 17 digits) that reads back as @v exactly, for the
 * canonical spec (a spec must re-parse to the same draws: %.6g made
 * rate=1.0000004 rate=1, and a probability of 1e-13 0). */
static void
fmt_num_exact (char *buf, size_t len, double v)
{
  int prec;
  char *c;

  for (prec = 6; prec < 17; prec++) {
    snprintf (buf, len, "%.*g", prec, v);
    if (strtod (buf, NULL) == v)
      break;
  }
  if (prec == 17)
    snprintf (buf, len, "%.17g", v);
  for (c = buf; *c; c++)
    if (*c == ',')
      *c = '.';
}

/* Appends to a bounded buffer; keeps counting when truncated. */
typedef struct
{
  char *buf;
  size_t len, pos;
} Out;

static void
out_printf (Out * o, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (o->pos < o->len ? o->buf + o->pos : NULL,
      o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
  va_end (ap);
  if (n > 0)
    o->pos += (size_t) n;
}

static void
out_num (Out * o, double v)
{
  char tmp[48];

  fmt_num (tmp, sizeof (tmp), v);
  out_printf (o, "%s", tmp);
}

static void
out_num_exact (Out * o, double v)
{
  char tmp[48];

  fmt_num_exact (tmp, sizeof (tmp), v);
  out_printf (o, "%s", tmp);
}

/* ---- chain --------------------------------------------------------------- */

typedef struct
{
  int set;                      /* named in the spec */
  double lo, hi;                /* numbers (lo == hi: fixed) */
  unsigned choice_mask;         /* choices allowed (enums) */
} ParamSpec;

typedef struct
{
  const KindDesc *desc;
  double prob;
  ParamSpec ps[MUSA_AUG_MAX_PARAMS];
} ChainItem;

struct MusaAugmentChain
{
  int n;
  ChainItem items[MUSA_AUG_N_KINDS];
};

typedef struct
{
  const char *s;
  size_t pos;
  MusaError *err;
} Lexer;

static int
lex_fail (Lexer * lx, const char *fmt, ...)
{
  char msg[200];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof (msg), fmt, ap);
  va_end (ap);
  return musa_error_set (lx->err, MUSA_ERR_INVALID, "chain",
      "position %zu: %s", lx->pos, msg);
}

static void
lex_space (Lexer * lx)
{
  while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t'
      || lx->s[lx->pos] == '\n' || lx->s[lx->pos] == '\r')
    lx->pos++;
}

static int
is_word_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
      || c == '-' || (c >= '0' && c <= '9');
}

/* A word [a-zA-Z_][a-zA-Z0-9_-]* into @w (lower case). */
static int
lex_word (Lexer * lx, char *w, size_t wlen)
{
  size_t n = 0;
  char c;

  lex_space (lx);
  c = lx->s[lx->pos];
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
    return 0;
  while (is_word_char (lx->s[lx->pos])) {
    c = lx->s[lx->pos];
    if (c >= 'A' && c <= 'Z')
      c = (char) (c - 'A' + 'a');
    if (n + 1 < wlen)
      w[n++] = c;
    lx->pos++;
  }
  w[n] = '\0';
  return 1;
}

/* A decimal number, locale-independent (exact for short decimals). */
static int
lex_number (Lexer * lx, double *v)
{
  const char *s = lx->s;
  size_t p;
  int neg = 0, digits = 0, frac = 0, exp = 0, eneg = 0, edig = 0;
  uint64_t mant = 0;
  double val;

  lex_space (lx);
  p = lx->pos;
  if (s[p] == '+' || s[p] == '-')
    neg = s[p++] == '-';
  while (s[p] >= '0' && s[p] <= '9') {
    if (mant < 100000000000000000ULL)
      mant = mant * 10 + (uint64_t) (s[p] - '0');
    else
      exp++;
    p++;
    digits++;
  }
  /* a '.' starts a fraction only if a digit follows ("1..2" is a range) */
  if (s[p] == '.' && s[p + 1] >= '0' && s[p + 1] <= '9') {
    p++;
    while (s[p] >= '0' && s[p] <= '9') {
      if (mant < 100000000000000000ULL) {
        mant = mant * 10 + (uint64_t) (s[p] - '0');
        frac++;
      }
      p++;
      digits++;
    }
  }
  if (digits == 0)
    return 0;
  if (s[p] == 'e' || s[p] == 'E') {
    size_t q = p + 1;
    int e = 0;

    if (s[q] == '+' || s[q] == '-')
      eneg = s[q++] == '-';
    while (s[q] >= '0' && s[q] <= '9') {
      if (e < 1000)
        e = e * 10 + (s[q] - '0');
      q++;
      edig++;
    }
    if (edig > 0) {
      exp += eneg ? -e : e;
      p = q;
    }
  }
  exp -= frac;
  val = (double) mant;
  if (exp < 0) {
    if (exp >= -22)
      val /= pow (10.0, -exp);
    else
      val *= pow (10.0, exp);
  } else if (exp > 0) {
    val *= pow (10.0, exp);
  }
  *v = neg ? -val : val;
  lx->pos = p;
  return 1;
}

static int
lex_peek (Lexer * lx, char c)
{
  lex_space (lx);
  return lx->s[lx->pos] == c;
}

/* The unit suffix of a parameter's fx.h field name ("freq" -> "hz" for
 * freq_hz), NULL when the field has none. */
static const char *
param_unit (int kind, const char *name)
{
  static const struct
  {
    int kind;
    const char *name, *unit;
  } units[] = {
    {MUSA_FX_EQ, "freq", "hz"}, {MUSA_FX_EQ, "gain", "db"},
    {MUSA_FX_COMPRESSOR, "threshold", "db"},
    {MUSA_FX_COMPRESSOR, "knee", "db"},
    {MUSA_FX_COMPRESSOR, "attack", "ms"},
    {MUSA_FX_COMPRESSOR, "release", "ms"},
    {MUSA_FX_COMPRESSOR, "makeup", "db"},
    {MUSA_FX_LIMITER, "ceiling", "db"},
    {MUSA_FX_LIMITER, "lookahead", "ms"},
    {MUSA_FX_LIMITER, "release", "ms"},
    {MUSA_FX_DISTORTION, "drive", "db"},
    {MUSA_FX_REVERB, "room", "size"},
    {MUSA_FX_REVERB, "predelay", "ms"},
    {MUSA_FX_ECHO, "delay", "ms"},
    {MUSA_FX_CHORUS, "rate", "hz"}, {MUSA_FX_CHORUS, "depth", "ms"},
    {MUSA_FX_CHORUS, "delay", "ms"},
    {MUSA_FX_NOISE, "snr", "db"},
  };
  size_t i;

  for (i = 0; i < sizeof (units) / sizeof (units[0]); i++)
    if (units[i].kind == kind && strcmp (units[i].name, name) == 0)
      return units[i].unit;
  return NULL;
}

static const ParamDesc *
find_param (const KindDesc * k, const char *name, int *index)
{
  int i;

  for (i = 0; i < k->n_params; i++) {
    if (strcmp (k->params[i].name, name) == 0) {
      *index = i;
      return &k->params[i];
    }
  }
  /* accepted aliases: the fx.h field names with their units (only the
   * parameter's own unit: "delay_hz" is not the echo's delay) */
  for (i = 0; i < k->n_params; i++) {
    size_t n = strlen (k->params[i].name);
    const char *unit = param_unit (k->kind, k->params[i].name);

    if (unit != NULL && strncmp (k->params[i].name, name, n) == 0
        && (name[n] == '_' || name[n] == '-')
        && strcmp (name + n + 1, unit) == 0) {
      *index = i;
      return &k->params[i];
    }
  }
  return NULL;
}

static int
parse_param (Lexer * lx, ChainItem * it)
{
  char name[32], word[32];
  const ParamDesc *pd;
  ParamSpec *ps;
  size_t start;
  int idx = 0, i;

  lex_space (lx);
  start = lx->pos;
  if (!lex_word (lx, name, sizeof (name)))
    return lex_fail (lx, "expected a parameter name of '%s'", it->desc->name);
  pd = find_param (it->desc, name, &idx);
  if (pd == NULL) {
    char known[160];
    Out o = { known, sizeof (known), 0 };

    for (i = 0; i < it->desc->n_params; i++)
      out_printf (&o, "%s%s", i ? ", " : "", it->desc->params[i].name);
    lx->pos = start;
    return lex_fail (lx, "'%s' has no parameter '%s' (known: %s)",
        it->desc->name, name, known);
  }
  ps = &it->ps[idx];
  if (ps->set) {
    lx->pos = start;
    return lex_fail (lx, "parameter '%s' given twice", name);
  }
  if (!lex_peek (lx, '='))
    return lex_fail (lx, "expected '=' after '%s'", name);
  lx->pos++;
  lex_space (lx);
  start = lx->pos;
  if (pd->type == PT_ENUM) {
    ps->choice_mask = 0;
    do {
      if (ps->choice_mask)
        lx->pos++;              /* the '|' */
      lex_space (lx);
      start = lx->pos;
      if (!lex_word (lx, word, sizeof (word)))
        return lex_fail (lx, "expected a value of '%s'", name);
      for (i = 0; i < pd->n_choices; i++)
        if (strcmp (pd->choices[i], word) == 0)
          break;
      if (i == pd->n_choices) {
        char known[160];
        Out o = { known, sizeof (known), 0 };
        int j;

        for (j = 0; j < pd->n_choices; j++)
          out_printf (&o, "%s%s", j ? "|" : "", pd->choices[j]);
        lx->pos = start;
        return lex_fail (lx, "'%s' is not a value of '%s' (%s)", word, name,
            known);
      }
      ps->choice_mask |= 1u << i;
    } while (lex_peek (lx, '|'));
  } else {
    double lo, hi;

    if (!lex_number (lx, &lo))
      return lex_fail (lx, "expected a number for '%s'", name);
    hi = lo;
    lex_space (lx);
    if (lx->s[lx->pos] == '.' && lx->s[lx->pos + 1] == '.') {
      lx->pos += 2;
      if (!lex_number (lx, &hi))
        return lex_fail (lx, "expected a number after '..'");
    }
    if (!(lo >= pd->min && lo <= pd->max && hi >= pd->min && hi <= pd->max)) {
      char a[32], b[32];

      lx->pos = start;
      fmt_num (a, sizeof (a), pd->min);
      fmt_num (b, sizeof (b), pd->max);
      return lex_fail (lx, "'%s' of '%s' must lie in %s..%s", name,
          it->desc->name, a, b);
    }
    if (hi < lo) {
      lx->pos = start;
      return lex_fail (lx, "range of '%s' is reversed", name);
    }
    if (pd->integer && (lo != floor (lo) || hi != floor (hi))) {
      /* semitones and bit depths are whole numbers: a fraction would be
       * reported but not applied (bits) or a range could hold no draw */
      lx->pos = start;
      return lex_fail (lx, "'%s' of '%s' takes whole numbers", name,
          it->desc->name);
    }
    if (pd->log && lo <= 0.0 && hi > lo) {
      lx->pos = start;
      return lex_fail (lx, "range of '%s' must be positive", name);
    }
    ps->lo = lo;
    ps->hi = hi;
  }
  ps->set = 1;
  return MUSA_OK;
}

static void
chain_add_default (MusaAugmentChain * c, const KindDesc * k, double prob)
{
  ChainItem *it = &c->items[c->n++];

  memset (it, 0, sizeof (*it));
  it->desc = k;
  it->prob = prob;
}

/* stretch and pitch last, keeping the written order otherwise */
static void
chain_sort (MusaAugmentChain * c)
{
  ChainItem tmp[MUSA_AUG_N_KINDS];
  int i, n = 0;

  for (i = 0; i < c->n; i++)
    if (c->items[i].desc->kind < (int) MUSA_FX_N_TYPES)
      tmp[n++] = c->items[i];
  for (i = 0; i < c->n; i++)
    if (c->items[i].desc->kind >= (int) MUSA_FX_N_TYPES)
      tmp[n++] = c->items[i];
  memcpy (c->items, tmp, sizeof (ChainItem) * (size_t) n);
}

MusaAugmentChain *
musa_augment_chain_parse (const char *spec, MusaError * err)
{
  MusaAugmentChain *c;
  Lexer lx = { spec ? spec : "", 0, err };
  size_t save;
  char w[32];
  int i;

  c = calloc (1, sizeof (*c));
  if (c == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, "chain", "out of memory");
    return NULL;
  }
  lex_space (&lx);
  save = lx.pos;
  if (lx.s[lx.pos] == '\0' || (lex_word (&lx, w, sizeof (w))
          && (strcmp (w, "default") == 0 || strcmp (w, "none") == 0)
          && (lex_space (&lx), lx.s[lx.pos] == '\0'))) {
    if (lx.s[save] == '\0' || strcmp (w, "default") == 0)
      for (i = 0; i < N_KINDS; i++)
        chain_add_default (c, &kinds[i], kinds[i].prob);
    return c;
  }
  lx.pos = save;
  for (;;) {
    const KindDesc *k = NULL;
    ChainItem *it;
    size_t start;

    lex_space (&lx);
    start = lx.pos;
    if (!lex_word (&lx, w, sizeof (w))) {
      lex_fail (&lx, "expected an effect name (gain, eq, compressor, "
          "limiter, distortion, reverb, echo, chorus, noise, stretch, pitch)");
      goto fail;
    }
    for (i = 0; i < N_KINDS; i++)
      if (strcmp (kinds[i].name, w) == 0)
        k = &kinds[i];
    if (k == NULL) {
      lx.pos = start;
      lex_fail (&lx, "unknown effect '%s' (gain, eq, compressor, limiter, "
          "distortion, reverb, echo, chorus, noise, stretch, pitch)", w);
      goto fail;
    }
    for (i = 0; i < c->n; i++) {
      if (c->items[i].desc == k) {
        lx.pos = start;
        lex_fail (&lx, "effect '%s' given twice", w);
        goto fail;
      }
    }
    chain_add_default (c, k, k->prob);
    it = &c->items[c->n - 1];
    if (lex_peek (&lx, ':')) {
      lx.pos++;
      lex_space (&lx);
      start = lx.pos;
      if (!lex_number (&lx, &it->prob)) {
        lex_fail (&lx, "expected a probability after ':'");
        goto fail;
      }
      if (!(it->prob >= 0.0 && it->prob <= 1.0)) {
        lx.pos = start;
        lex_fail (&lx, "probability of '%s' must lie in 0..1", w);
        goto fail;
      }
    }
    if (lex_peek (&lx, '(')) {
      lx.pos++;
      if (lex_peek (&lx, ')')) {
        lx.pos++;
      } else {
        for (;;) {
          if (parse_param (&lx, it) != MUSA_OK)
            goto fail;
          if (lex_peek (&lx, ',') || lex_peek (&lx, ';')) {
            lx.pos++;
            continue;
          }
          if (lex_peek (&lx, ')')) {
            lx.pos++;
            break;
          }
          lex_fail (&lx, "expected ',' or ')' in the parameters of '%s'",
              k->name);
          goto fail;
        }
      }
    }
    if (lex_peek (&lx, ',')) {
      lx.pos++;
      continue;
    }
    lex_space (&lx);
    if (lx.s[lx.pos] == '\0')
      break;
    lex_fail (&lx, "expected ',', ':', '(' or the end of the chain");
    goto fail;
  }
  chain_sort (c);
  return c;

fail:
  free (c);
  return NULL;
}

void
musa_augment_chain_free (MusaAugmentChain * chain)
{
  free (chain);
}

int
musa_augment_chain_n_items (const MusaAugmentChain * chain)
{
  return chain ? chain->n : 0;
}

/* effective range of a numeric parameter */
static void
param_range (const ChainItem * it, int i, double *lo, double *hi)
{
  if (it->ps[i].set) {
    *lo = it->ps[i].lo;
    *hi = it->ps[i].hi;
  } else {
    *lo = it->desc->params[i].lo;
    *hi = it->desc->params[i].hi;
  }
}

double
musa_augment_chain_min_rate (const MusaAugmentChain * chain)
{
  int i;

  for (i = 0; chain && i < chain->n; i++) {
    if (chain->items[i].desc->kind == MUSA_AUG_STRETCH
        && chain->items[i].prob > 0.0) {
      double lo, hi;

      param_range (&chain->items[i], 0, &lo, &hi);
      return lo < 1.0 ? lo : 1.0;
    }
  }
  return 1.0;
}

static int
depends_on_choice (int kind, const char *name)
{
  if (kind == MUSA_FX_EQ)
    return strcmp (name, "shape") != 0;
  if (kind == MUSA_FX_DISTORTION)
    return strcmp (name, "drive") == 0 || strcmp (name, "bits") == 0;
  return 0;
}

int
musa_augment_chain_to_string (const MusaAugmentChain * chain, char *buf,
    size_t len)
{
  Out o = { buf, buf ? len : 0, 0 };
  int i, j, c;

  if (o.len > 0)
    buf[0] = '\0';
  if (chain == NULL)
    return MUSA_ERR_INVALID;
  if (chain->n == 0)
    out_printf (&o, "none");
  for (i = 0; i < chain->n; i++) {
    const ChainItem *it = &chain->items[i];

    int n = 0;

    out_printf (&o, "%s%s:", i ? "," : "", it->desc->name);
    out_num_exact (&o, it->prob);
    out_printf (&o, "(");
    for (j = 0; j < it->desc->n_params; j++) {
      const ParamDesc *pd = &it->desc->params[j];

      /* natural ranges that depend on a choice (EQ shape, distortion
       * mode) stay implicit so that the spec re-parses to the same chain */
      if (!it->ps[j].set && depends_on_choice (it->desc->kind, pd->name))
        continue;
      out_printf (&o, "%s%s=", n++ ? "," : "", pd->name);
      if (pd->type == PT_ENUM) {
        unsigned mask = it->ps[j].set ? it->ps[j].choice_mask
            : (1u << pd->n_choices) - 1;
        int first = 1;

        for (c = 0; c < pd->n_choices; c++) {
          if (mask & (1u << c)) {
            out_printf (&o, "%s%s", first ? "" : "|", pd->choices[c]);
            first = 0;
          }
        }
      } else {
        double lo, hi;

        param_range (it, j, &lo, &hi);
        out_num_exact (&o, lo);
        if (hi != lo) {
          out_printf (&o, "..");
          out_num_exact (&o, hi);
        }
      }
    }
    out_printf (&o, ")");
  }
  return (int) o.pos;
}

int
musa_augment_natural_table (char *buf, size_t len)
{
  Out o = { buf, buf ? len : 0, 0 };
  int i, j, c;

  if (o.len > 0)
    buf[0] = '\0';
  for (i = 0; i < N_KINDS; i++) {
    for (j = 0; j < kinds[i].n_params; j++) {
      const ParamDesc *pd = &kinds[i].params[j];

      out_printf (&o, "%s %s ", kinds[i].name, pd->name);
      if (pd->type == PT_ENUM) {
        for (c = 0; c < pd->n_choices; c++)
          out_printf (&o, "%s%s", c ? "|" : "", pd->choices[c]);
      } else {
        out_num (&o, pd->lo);
        out_printf (&o, "..");
        out_num (&o, pd->hi);
        out_printf (&o, "%s%s", pd->log ? " log" : "",
            pd->integer ? " integer" : "");
      }
      out_printf (&o, " (p=");
      out_num (&o, kinds[i].prob);
      out_printf (&o, ")\n");
    }
  }
  return (int) o.pos;
}

/* ---- draw ---------------------------------------------------------------- */

static double
draw_number (MusaRng * rng, const ParamDesc * pd, double lo, double hi)
{
  double u = musa_rng_uniform (rng), v;

  if (hi == lo)
    return lo;
  if (pd->integer) {
    double a = ceil (lo), b = floor (hi);

    if (b < a)
      return lo;
    v = a + floor (u * (b - a + 1.0));
    return v > b ? b : v;
  }
  if (pd->log && lo > 0.0)
    v = lo * pow (hi / lo, u);
  else
    v = lo + (hi - lo) * u;
  return v;
}

static void
set_field (MusaFxParams * fx, const ParamDesc * pd, double v, int choice)
{
  char *base = (char *) fx;

  switch (pd->type) {
    case PT_DOUBLE:
      *(double *) (base + pd->offset) = v;
      break;
    case PT_INT:
      *(int *) (base + pd->offset) = (int) v;
      break;
    case PT_ENUM:{
      int value = choice;

      if (pd->choices == eq_shapes)
        value = eq_shape_values[choice];
      else if (pd->choices == dist_modes)
        value = dist_mode_values[choice];
      else if (pd->choices == noise_colours)
        value = noise_colour_values[choice];
      memcpy (base + pd->offset, &value, sizeof (int));
      break;
    }
    case PT_LOCAL:
      break;
  }
}

/* How far an effect moves the audio, 0 (inaudible) .. 1 (strong). */
static double
severity (const MusaAugmentEffect * e, const MusaFxParams * fx,
    double rate, double semitones)
{
  double s = 0.0;

  switch (e->kind) {
    case MUSA_FX_GAIN:
      s = fabs (fx->p.gain.db) / 12.0;
      break;
    case MUSA_FX_EQ:
      if (fx->p.eq.shape == MUSA_EQ_HIGH_PASS)
        s = log2 (fx->p.eq.freq_hz / 20.0) / 5.0;
      else if (fx->p.eq.shape == MUSA_EQ_LOW_PASS)
        s = log2 (16000.0 / fx->p.eq.freq_hz) / 4.0;
      else
        s = fabs (fx->p.eq.gain_db) / 12.0;
      break;
    case MUSA_FX_COMPRESSOR:
      s = (1.0 - 1.0 / fx->p.compressor.ratio) *
          (-fx->p.compressor.threshold_db / 30.0);
      break;
    case MUSA_FX_LIMITER:
      s = -fx->p.limiter.ceiling_db / 6.0;
      break;
    case MUSA_FX_DISTORTION:
      if (fx->p.distortion.mode == MUSA_DIST_BITCRUSH)
        s = fx->p.distortion.mix * (16.0 - fx->p.distortion.bits) / 12.0;
      else
        s = fx->p.distortion.mix * fx->p.distortion.drive_db / 24.0;
      break;
    case MUSA_FX_REVERB:
      s = 2.0 * fx->p.reverb.wet * fx->p.reverb.room_size;
      break;
    case MUSA_FX_ECHO:
      s = fx->p.echo.mix * (1.0 + fx->p.echo.feedback);
      break;
    case MUSA_FX_CHORUS:
      s = fx->p.chorus.mix * fx->p.chorus.depth_ms / 5.0;
      break;
    case MUSA_FX_NOISE:
      s = (50.0 - fx->p.noise.snr_db) / 40.0;
      break;
    default:
      if (e->kind == MUSA_AUG_STRETCH)
        s = fabs (log2 (rate)) / log2 (1.25);
      else if (e->kind == MUSA_AUG_PITCH)
        s = fabs (semitones) / 4.0;
      break;
  }
  if (!(s > 0.0))
    s = 0.0;
  return s > 1.0 ? 1.0 : s;
}

int
musa_augment_draw (const MusaAugmentChain * chain, double probability,
    uint64_t seed, uint64_t stream_hash, uint64_t segment, int sample_rate,
    MusaAugmentDraw * d, MusaError * err)
{
  MusaRng rng;
  double u[MUSA_AUG_N_KINDS], best = INFINITY;
  int take[MUSA_AUG_N_KINDS];
  int i, j, n_taken = 0, best_i = -1;
  uint64_t key;

  if (chain == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, "chain", "no chain");
  if (d == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no draw to fill");
  if (!(probability >= 0.0 && probability <= 1.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "probability",
        "probability must lie in 0..1");
  if (sample_rate < 8000 || sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "sample-rate",
        "sample rate %d outside 8000..192000", sample_rate);
  memset (d, 0, sizeof (*d));
  d->seed = seed;
  d->stream_hash = stream_hash;
  d->segment = segment;
  d->rate = 1.0;
  d->semitones = 0.0;
  d->key_shift = 0.0;
  d->tempo_factor = 1.0;
  d->duration_factor = 1.0;
  d->weight = 1.0;

  key = musa_rng_key (seed, stream_hash, segment);
  musa_rng_init (&rng, key);
  d->applied = musa_rng_uniform (&rng) < probability;
  if (!d->applied || chain->n == 0) {
    d->applied = 0;
    return MUSA_OK;
  }
  /* which effects: one variate each, from the effect's own sub-stream */
  for (i = 0; i < chain->n; i++) {
    const ChainItem *it = &chain->items[i];

    musa_rng_init (&rng, musa_rng_key (key, 1 + (uint64_t) it->desc->kind, 0));
    u[i] = musa_rng_uniform (&rng);
    take[i] = u[i] < it->prob;
    n_taken += take[i];
    if (it->prob > 0.0 && u[i] / it->prob < best) {
      best = u[i] / it->prob;
      best_i = i;
    }
  }
  if (n_taken == 0 && best_i >= 0)
    take[best_i] = 1;
  if (n_taken == 0 && best_i < 0) {
    /* every effect has probability 0: nothing can come up */
    d->applied = 0;
    return MUSA_OK;
  }

  for (i = 0; i < chain->n; i++) {
    const ChainItem *it = &chain->items[i];
    const KindDesc *k = it->desc;
    MusaAugmentEffect *e;
    MusaFxParams *fx = NULL;
    int shape = -1, mode = -1;

    if (!take[i])
      continue;
    e = &d->effects[d->n_effects++];
    e->kind = k->kind;
    e->name = k->name;
    e->n_params = k->n_params;
    if (k->kind < (int) MUSA_FX_N_TYPES) {
      fx = &d->fx[d->n_fx++];
      memset (fx, 0, sizeof (*fx));
      fx->type = (MusaFxType) k->kind;
    }
    musa_rng_init (&rng, musa_rng_key (key, 1 + (uint64_t) k->kind, 1));
    for (j = 0; j < k->n_params; j++) {
      const ParamDesc *pd = &k->params[j];
      MusaAugmentParam *pa = &e->params[j];
      double lo, hi, v;

      pa->name = pd->name;
      if (pd->type == PT_ENUM) {
        unsigned mask = it->ps[j].set ? it->ps[j].choice_mask
            : (1u << pd->n_choices) - 1;
        int n = 0, c, pick;

        for (c = 0; c < pd->n_choices; c++)
          n += (mask >> c) & 1;
        pick = (int) floor (musa_rng_uniform (&rng) * n);
        if (pick >= n)
          pick = n - 1;
        for (c = 0; c < pd->n_choices; c++) {
          if (mask & (1u << c)) {
            if (pick-- == 0)
              break;
          }
        }
        pa->value = c;
        pa->choice = pd->choices[c];
        if (pd->choices == eq_shapes)
          shape = c;
        if (pd->choices == dist_modes)
          mode = dist_mode_values[c];
        set_field (fx, pd, c, c);
        continue;
      }
      param_range (it, j, &lo, &hi);
      if (k->kind == MUSA_FX_EQ && strcmp (pd->name, "freq") == 0
          && !it->ps[j].set && shape >= 0) {
        lo = eq_freq_by_shape[shape][0];
        hi = eq_freq_by_shape[shape][1];
      }
      if (k->kind == MUSA_FX_EQ && shape >= 0 && !it->ps[j].set
          && eq_shape_values[shape] != MUSA_EQ_PEAK) {
        /* natural: Q 0.707 off the peak shape; passes take no gain */
        if (strcmp (pd->name, "q") == 0)
          lo = hi = 0.707;
        else if (strcmp (pd->name, "gain") == 0
            && (eq_shape_values[shape] == MUSA_EQ_HIGH_PASS
                || eq_shape_values[shape] == MUSA_EQ_LOW_PASS))
          lo = hi = 0.0;
      }
      if (k->kind == MUSA_FX_DISTORTION && !it->ps[j].set
          && ((mode == MUSA_DIST_BITCRUSH && strcmp (pd->name, "drive") == 0)
              || (mode != MUSA_DIST_BITCRUSH
                  && strcmp (pd->name, "bits") == 0))) {
        /* natural: bit-crush without drive; bits only for bit-crush */
        lo = hi = strcmp (pd->name, "bits") == 0 ? 16 : 0;
      }
      if (k->kind == MUSA_AUG_PITCH && hi > lo) {
        /* a drawn shift is never 0: draw among the non-zero values (also
         * when the range starts or ends at 0) */
        double a = ceil (lo), b = floor (hi);
        double uu = musa_rng_uniform (&rng);
        double zero = a <= 0.0 && b >= 0.0 ? 1.0 : 0.0;
        double n = b - a + 1.0 - zero;  /* number of non-zero integers */

        v = a + floor (uu * n);
        if (v > a + n - 1.0)
          v = a + n - 1.0;
        if (zero > 0.0 && v >= 0.0)
          v += 1.0;
      } else {
        v = draw_number (&rng, pd, lo, hi);
      }
      /* keep frequencies below 0.45 x rate */
      if (k->kind == MUSA_FX_EQ && strcmp (pd->name, "freq") == 0
          && v > 0.45 * sample_rate)
        v = 0.45 * sample_rate;
      pa->value = v;
      pa->choice = NULL;
      if (k->kind == MUSA_AUG_STRETCH)
        d->rate = v;
      else if (k->kind == MUSA_AUG_PITCH)
        d->semitones = v;
      else
        set_field (fx, pd, v, 0);
    }
    /* the provenance names only parameters that act: no gain for the
     * EQ passes, no bit depth for tanh/clip distortion */
    if ((k->kind == MUSA_FX_EQ && (fx->p.eq.shape == MUSA_EQ_HIGH_PASS
                || fx->p.eq.shape == MUSA_EQ_LOW_PASS))
        || (k->kind == MUSA_FX_DISTORTION
            && fx->p.distortion.mode != MUSA_DIST_BITCRUSH)) {
      const char *drop = k->kind == MUSA_FX_EQ ? "gain" : "bits";
      int m = 0;

      for (j = 0; j < e->n_params; j++)
        if (strcmp (e->params[j].name, drop) != 0)
          e->params[m++] = e->params[j];
      e->n_params = m;
    }
    if (k->kind == MUSA_FX_NOISE) {
      fx->p.noise.seed = musa_rng_next (&rng);
      e->params[e->n_params].name = "seed";
      e->params[e->n_params].value = (double) (fx->p.noise.seed >> 11);
      e->params[e->n_params].choice = NULL;
      fx->p.noise.seed >>= 11;  /* exactly representable in the provenance */
      e->n_params++;
    }
  }

  /* labels and weight */
  d->key_shift = d->semitones;
  d->tempo_factor = d->rate;
  d->duration_factor = 1.0 / d->rate;
  {
    int f = 0;

    for (i = 0; i < d->n_effects; i++) {
      const MusaFxParams *fx = NULL;

      if (d->effects[i].kind < (int) MUSA_FX_N_TYPES)
        fx = &d->fx[f++];
      d->weight *= 1.0 - 0.3 * severity (&d->effects[i], fx, d->rate,
          d->semitones);
    }
  }
  for (i = 0; i < d->n_fx; i++) {
    if (musa_fx_params_check (&d->fx[i], sample_rate, err) != MUSA_OK)
      return err ? err->code : MUSA_ERR_INVALID;
  }
  return MUSA_OK;
}

/* A draw's counts within its arrays (a draw filled in by hand, not by
 * musa_augment_draw: n_fx = 1000 read past fx[16]) */
static int
draw_counts_ok (const MusaAugmentDraw * d)
{
  int i;

  if (d->n_fx < 0 || d->n_fx > MUSA_AUG_MAX_EFFECTS || d->n_effects < 0
      || d->n_effects > MUSA_AUG_MAX_EFFECTS)
    return 0;
  for (i = 0; i < d->n_effects; i++)
    if (d->effects[i].n_params < 0
        || d->effects[i].n_params > MUSA_AUG_MAX_PARAMS)
      return 0;
  return 1;
}

int
musa_augment_draw_is_identity (const MusaAugmentDraw * d)
{
  int i;

  if (d == NULL || !draw_counts_ok (d))
    return 0;
  if (!d->applied)
    return 1;
  for (i = 0; i < d->n_fx; i++)
    if (!musa_fx_is_identity (&d->fx[i]))
      return 0;
  return d->rate == 1.0 && d->semitones == 0.0;
}

/* A key needs quotes when empty or with spaces, control characters, quotes
 * or backslashes (the line is split at spaces). */
static int
key_needs_quotes (const char *key)
{
  const unsigned char *c;

  if (*key == '\0')
    return 1;
  for (c = (const unsigned char *) key; *c; c++)
    if (*c <= ' ' || *c == 0x7f || *c == '"' || *c == '\\')
      return 1;
  return 0;
}

int
musa_augment_draw_describe (const MusaAugmentDraw * d, char *buf, size_t len)
{
  return musa_augment_draw_describe_key (d, NULL, buf, len);
}

int
musa_augment_draw_describe_key (const MusaAugmentDraw * d, const char *key,
    char *buf, size_t len)
{
  Out o = { buf, buf ? len : 0, 0 };
  int i, j;

  if (o.len > 0)
    buf[0] = '\0';
  if (d == NULL || !draw_counts_ok (d))
    return MUSA_ERR_INVALID;
  out_printf (&o, "applied=%d seed=%llu ", d->applied,
      (unsigned long long) d->seed);
  if (key && key_needs_quotes (key)) {
    const char *c;

    out_printf (&o, "stream-id=\"");
    for (c = key; *c; c++)
      out_printf (&o, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
    out_printf (&o, "\" ");
  } else if (key) {
    out_printf (&o, "stream-id=%s ", key);
  }
  out_printf (&o, "segment=%llu weight=", (unsigned long long) d->segment);
  out_num (&o, d->weight);
  out_printf (&o, " key+=");
  out_num (&o, d->key_shift);
  out_printf (&o, " tempo*=");
  out_num (&o, d->tempo_factor);
  out_printf (&o, " duration*=");
  out_num (&o, d->duration_factor);
  out_printf (&o, " effects=");
  if (d->n_effects == 0)
    out_printf (&o, "none");
  for (i = 0; i < d->n_effects; i++) {
    const MusaAugmentEffect *e = &d->effects[i];

    out_printf (&o, "%s%s(", i ? ";" : "", e->name);
    for (j = 0; j < e->n_params; j++) {
      out_printf (&o, "%s%s=", j ? "," : "", e->params[j].name);
      if (e->params[j].choice)
        out_printf (&o, "%s", e->params[j].choice);
      else
        out_num (&o, e->params[j].value);
    }
    out_printf (&o, ")");
  }
  return (int) o.pos;
}

/* ---- processor ----------------------------------------------------------- */

/* The output limiter: an applied draw's output, after the effects and the
 * stretcher, goes through a look-ahead peak limiter (fx/limiter.c: true-peak
 * detection, guaranteed ceiling), as a DAW's master bus would, so that it
 * never passes full scale: gain up to +6 dB, a low shelf, an echo or a
 * stretch on a loud master took 8 of 90 augmented songs to peaks of
 * 1.06-1.75, and the stretcher, always last, raises peaks past a chain
 * limiter's ceiling. Where no true peak passes the ceiling its gain is
 * exactly 1 (the output is the input, delayed); streams and segments a draw
 * leaves alone do not go through it. Its delay is dropped from the front and
 * drained at the end, so the output lines up with the input; it adds
 * look-ahead + 3 frames of latency. (Before, a memoryless soft clip above
 * -0.26 dBFS: a tone 6 dB over came out with its harmonics and noise at
 * -13.7 dB of the tone; now -150 dB.) */
#define OUT_LIMIT_CEILING_DB -0.1
#define OUT_LIMIT_LOOKAHEAD_MS 2.0
#define OUT_LIMIT_RELEASE_MS 50.0

struct MusaAugmentProc
{
  int rate, channels;
  size_t max_block;
  int n_fx;
  MusaFx *fx[MUSA_AUG_MAX_EFFECTS];
  int64_t fx_latency, fx_tail;
  MusaStretch *st;
  double st_rate;
  MusaFx *out_lim;              /* output limiter (applied draws) */
  int64_t out_lim_latency;
  float *buf;                   /* max_block x channels */
  /* state */
  int64_t trim_left;            /* look-ahead frames still to drop */
  int64_t drain_left;           /* zero frames still to feed at finish */
  int stretch_done;
  int64_t out_trim_left;        /* output limiter's delay still to drop */
  int64_t out_drain_left;       /* its zero frames still to feed, -1 before */
};

void
musa_augment_proc_free (MusaAugmentProc * p)
{
  int i;

  if (p == NULL)
    return;
  for (i = 0; i < p->n_fx; i++)
    musa_fx_free (p->fx[i]);
  if (p->st)
    musa_stretch_free (p->st);
  musa_fx_free (p->out_lim);
  free (p->buf);
  free (p);
}

void
musa_augment_proc_reset (MusaAugmentProc * p)
{
  int i;

  if (p == NULL)
    return;
  for (i = 0; i < p->n_fx; i++)
    musa_fx_reset (p->fx[i]);
  if (p->st)
    musa_stretch_reset (p->st);
  musa_fx_reset (p->out_lim);
  p->trim_left = p->fx_latency;
  p->drain_left = -1;
  p->stretch_done = 0;
  p->out_trim_left = p->out_lim_latency;
  p->out_drain_left = -1;
}

MusaAugmentProc *
musa_augment_proc_new (const MusaAugmentDraw * d, int sample_rate,
    int channels, size_t max_block, MusaError * err)
{
  MusaAugmentProc *p;
  int i, rings = 0;

  if (d == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, NULL, "no draw");
    return NULL;
  }
  if (sample_rate < 8000 || sample_rate > 192000) {
    musa_error_set (err, MUSA_ERR_INVALID, "sample-rate",
        "sample rate %d outside 8000..192000", sample_rate);
    return NULL;
  }
  if (channels < 1 || channels > 8) {
    musa_error_set (err, MUSA_ERR_INVALID, "channels",
        "%d channels outside 1..8", channels);
    return NULL;
  }
  if (max_block == 0 || max_block > (1u << 24)) {
    musa_error_set (err, MUSA_ERR_INVALID, "max-block",
        "block size %zu outside 1..16777216", max_block);
    return NULL;
  }
  if (!draw_counts_ok (d)) {
    musa_error_set (err, MUSA_ERR_INVALID, "draw",
        "draw with %d effects / %d DSP effects, outside 0..%d", d->n_effects,
        d->n_fx, MUSA_AUG_MAX_EFFECTS);
    return NULL;
  }
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    goto nomem;
  p->rate = sample_rate;
  p->channels = channels;
  p->max_block = max_block;
  p->st_rate = 1.0;
  p->buf = malloc (sizeof (float) * max_block * (size_t) channels);
  if (p->buf == NULL)
    goto nomem;
  if (d->applied) {
    MusaStretchConfig sc;

    for (i = 0; i < d->n_fx; i++) {
      MusaFx *fx;

      if (musa_fx_is_identity (&d->fx[i]))
        continue;
      fx = musa_fx_new (&d->fx[i], sample_rate, channels, err);
      if (fx == NULL) {
        musa_augment_proc_free (p);
        return NULL;
      }
      p->fx[p->n_fx++] = fx;
      p->fx_latency += musa_fx_latency (fx);
      p->fx_tail += musa_fx_tail (fx);
      rings |= d->fx[i].type == MUSA_FX_REVERB || d->fx[i].type == MUSA_FX_ECHO;
    }
    /* the stream grows by the reverb's and echo's tails only (through the
     * effects after them); an EQ's ring or the chorus's delay line after
     * the last sample is inaudible, and draining them made a draw with
     * duration factor 1 longer than its input (1077 frames for a
     * high-pass) */
    if (!rings)
      p->fx_tail = 0;
    sc.sample_rate = sample_rate;
    sc.channels = channels;
    sc.rate = d->rate;
    sc.semitones = d->semitones;
    if (!musa_stretch_is_identity (&sc)) {
      p->st = musa_stretch_new (&sc, err);
      if (p->st == NULL) {
        musa_augment_proc_free (p);
        return NULL;
      }
      p->st_rate = d->rate;
    }
    if (p->n_fx > 0 || p->st != NULL) {
      MusaFxParams lp;

      memset (&lp, 0, sizeof (lp));
      lp.type = MUSA_FX_LIMITER;
      lp.p.limiter.ceiling_db = OUT_LIMIT_CEILING_DB;
      lp.p.limiter.lookahead_ms = OUT_LIMIT_LOOKAHEAD_MS;
      lp.p.limiter.release_ms = OUT_LIMIT_RELEASE_MS;
      p->out_lim = musa_fx_new (&lp, sample_rate, channels, err);
      if (p->out_lim == NULL) {
        musa_augment_proc_free (p);
        return NULL;
      }
      p->out_lim_latency = musa_fx_latency (p->out_lim);
    }
  }
  musa_augment_proc_reset (p);
  return p;

nomem:
  musa_augment_proc_free (p);
  musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  return NULL;
}

size_t
musa_augment_proc_max_output (const MusaAugmentProc * p, size_t in_frames)
{
  size_t n;

  if (p == NULL)
    return 0;
  n = in_frames > p->max_block ? in_frames : p->max_block;
  if (p->st) {
    size_t a = musa_stretch_max_output (p->st, n);
    size_t b = musa_stretch_max_output (p->st, 0);

    return a > b ? a : b;
  }
  return n;
}

int64_t
musa_augment_proc_latency (const MusaAugmentProc * p)
{
  if (p == NULL)
    return 0;
  /* (the output limiter's delay is in output frames: input frames x rate,
   * rounded up) */
  return p->fx_latency + (p->st ? musa_stretch_latency (p->st) : 0) +
      (int64_t) ceil ((double) p->out_lim_latency * p->st_rate);
}

int64_t
musa_augment_proc_tail (const MusaAugmentProc * p)
{
  return p ? p->fx_tail : 0;
}

/* Limits the @n frames at @out in place and drops the limiter's delay
 * from the front; returns the frames kept (at @out). */
static size_t
out_limit (MusaAugmentProc * p, float *out, size_t n)
{
  const size_t ch = (size_t) p->channels;
  size_t skip;

  musa_fx_process (p->out_lim, out, n);
  skip = (size_t) p->out_trim_left < n ? (size_t) p->out_trim_left : n;
  if (skip > 0) {
    memmove (out, out + skip * ch, sizeof (float) * (n - skip) * ch);
    p->out_trim_left -= (int64_t) skip;
  }
  return n - skip;
}

/* effects over p->buf (n frames), drop the look-ahead, then the stretcher;
 * an @out_cap too small is refused before anything changes, so that the
 * call can be repeated with a larger buffer */
static int
proc_run (MusaAugmentProc * p, size_t n, float *out, size_t out_cap,
    size_t *produced)
{
  const int ch = p->channels;
  size_t skip = 0;
  int i, ret;

  if (p->trim_left > 0)
    skip = (size_t) p->trim_left < n ? (size_t) p->trim_left : n;
  if (out_cap < (p->st ? musa_stretch_max_output (p->st, n - skip) : n - skip))
    return MUSA_ERR_INVALID;
  for (i = 0; i < p->n_fx; i++)
    musa_fx_process (p->fx[i], p->buf, n);
  p->trim_left -= (int64_t) skip;
  n -= skip;
  if (p->st) {
    ret = musa_stretch_process (p->st, p->buf + skip * (size_t) ch, n, out,
        out_cap, produced);
    if (ret == MUSA_OK)
      *produced = out_limit (p, out, *produced);
    return ret;
  }
  memcpy (out, p->buf + skip * (size_t) ch, sizeof (float) * n * (size_t) ch);
  *produced = out_limit (p, out, n);
  return MUSA_OK;
}

int
musa_augment_proc_process (MusaAugmentProc * p, const float *in,
    size_t in_frames, float *out, size_t out_cap, size_t *produced)
{
  if (produced)
    *produced = 0;
  if (p == NULL || produced == NULL || (in == NULL && in_frames > 0)
      || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  if (in_frames > p->max_block || p->drain_left >= 0)
    return MUSA_ERR_STATE;
  if (in_frames == 0)
    return MUSA_OK;
  if (p->n_fx == 0 && p->st == NULL) {
    if (in_frames > out_cap)
      return MUSA_ERR_INVALID;
    memcpy (out, in, sizeof (float) * in_frames * (size_t) p->channels);
    *produced = in_frames;
    return MUSA_OK;
  }
  memcpy (p->buf, in, sizeof (float) * in_frames * (size_t) p->channels);
  return proc_run (p, in_frames, out, out_cap, produced);
}

int
musa_augment_proc_finish (MusaAugmentProc * p, float *out, size_t out_cap,
    size_t *produced)
{
  int64_t left;

  if (produced)
    *produced = 0;
  if (p == NULL || produced == NULL || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  /* feed silence through the effects: look-ahead and tails (the count
   * moves only once a call went through: a refused one changes nothing) */
  left = p->drain_left >= 0 ? p->drain_left :
      p->fx_tail > p->fx_latency ? p->fx_tail : p->fx_latency;
  while (left > 0) {
    size_t n = (size_t) left < p->max_block ? (size_t) left : p->max_block;
    int ret;

    memset (p->buf, 0, sizeof (float) * n * (size_t) p->channels);
    ret = proc_run (p, n, out, out_cap, produced);
    if (ret != MUSA_OK)
      return ret;
    left -= (int64_t) n;
    p->drain_left = left;
    if (*produced > 0)
      return MUSA_OK;
  }
  p->drain_left = 0;
  while (p->st && !p->stretch_done) {
    size_t got;
    int ret = musa_stretch_finish (p->st, out, out_cap, &got);

    if (ret != MUSA_OK)
      return ret;
    if (got == 0)
      p->stretch_done = 1;
    else if ((*produced = out_limit (p, out, got)) > 0)
      return MUSA_OK;
  }
  /* the output limiter's delay line */
  if (p->out_lim && p->out_drain_left < 0)
    p->out_drain_left = p->out_lim_latency;
  while (p->out_drain_left > 0) {
    size_t n = (size_t) p->out_drain_left < p->max_block ?
        (size_t) p->out_drain_left : p->max_block;

    if (n > out_cap)
      return MUSA_ERR_INVALID;
    memset (out, 0, sizeof (float) * n * (size_t) p->channels);
    p->out_drain_left -= (int64_t) n;
    if ((*produced = out_limit (p, out, n)) > 0)
      return MUSA_OK;
  }
  return MUSA_OK;
}

/* ---- session ------------------------------------------------------------- */

#define MAX_STRETCH_RATE 2.0

struct MusaAugmentSession
{
  MusaAugmentSessionConfig cfg;
  MusaAugmentChain chain;       /* the session's copy: cfg.chain points here */
  size_t xf_in;                 /* input frames the old draw runs past a join */
  uint64_t pos;                 /* absolute input position */
  uint64_t seg_index, seg_end;
  int started;
  MusaAugmentDraw draw;
  MusaAugmentProc *cur;
  uint64_t cur_in;              /* input frames fed to cur */
  uint64_t cur_out;             /* output frames cur produced */
  /* join: the previous processor finishing its overlap */
  MusaAugmentProc *old;
  double old_rate;
  size_t old_feed_left;
  uint64_t old_nominal, old_out;
  float *xf;                    /* old's frames [nominal, nominal + C) */
  size_t xf_n, xf_cap;
  float *hold;                  /* cur's output held during the overlap */
  size_t hold_n, hold_cap;
  float *tmp;                   /* old's output */
  size_t tmp_cap;
  int finished;                 /* finish called: no more input */
};

static int
ensure (float **b, size_t *cap, size_t need)
{
  float *n;

  if (need <= *cap)
    return MUSA_OK;
  n = realloc (*b, sizeof (float) * need);
  if (n == NULL)
    return MUSA_ERR_NOMEM;
  *b = n;
  *cap = need;
  return MUSA_OK;
}

MusaAugmentSession *
musa_augment_session_new (const MusaAugmentSessionConfig * cfg, MusaError * err)
{
  MusaAugmentSession *s;

  if (cfg == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
    return NULL;
  }
  if (cfg->chain == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, "chain", "no chain");
    return NULL;
  }
  if (!(cfg->probability >= 0.0 && cfg->probability <= 1.0)) {
    musa_error_set (err, MUSA_ERR_INVALID, "probability",
        "probability must lie in 0..1");
    return NULL;
  }
  if (cfg->sample_rate < 8000 || cfg->sample_rate > 192000
      || cfg->channels < 1 || cfg->channels > 8) {
    musa_error_set (err, MUSA_ERR_INVALID, cfg->channels < 1
        || cfg->channels > 8 ? "channels" : "sample-rate",
        "unsupported format: %d Hz, %d channels", cfg->sample_rate,
        cfg->channels);
    return NULL;
  }
  /* the processors' limit, checked here rather than at the first draw */
  if (cfg->max_block == 0 || cfg->max_block > (1u << 24)) {
    musa_error_set (err, MUSA_ERR_INVALID, "max-block",
        "block size %zu outside 1..16777216", cfg->max_block);
    return NULL;
  }
  /* (positions are counted in uint64: a first frame near its end, far
   * beyond any stream, overflowed the segment ends and stalled the join) */
  if (cfg->first_frame > ((uint64_t) 1 << 62)
      || cfg->segment_frames > ((uint64_t) 1 << 40)) {
    musa_error_set (err, MUSA_ERR_INVALID, cfg->first_frame >
        ((uint64_t) 1 << 62) ? "first-frame" : "segment-frames",
        "first frame %llu or segment of %llu frames out of range",
        (unsigned long long) cfg->first_frame,
        (unsigned long long) cfg->segment_frames);
    return NULL;
  }
  s = calloc (1, sizeof (*s));
  if (s == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
    return NULL;
  }
  s->cfg = *cfg;
  /* a copy: the caller may change or free its chain while the session
   * lives (a chain set while playing applies from the next session) */
  s->chain = *cfg->chain;
  s->cfg.chain = &s->chain;
  if (cfg->segment_frames == 0)
    s->cfg.crossfade_frames = 0;
  if (s->cfg.segment_frames > 0 && s->cfg.crossfade_frames * 2 >
      s->cfg.segment_frames)
    s->cfg.crossfade_frames = (size_t) (s->cfg.segment_frames / 2);
  /* (segment mode without a crossfade still joins: the previous draw
   * drains the frames it holds, its look-ahead, up to the join; it was
   * freed with them, 91 frames lost at every join, and of 1-frame segments
   * 1 frame came out of 44100) */
  s->xf_in = s->cfg.crossfade_frames ?
      (size_t) ceil (s->cfg.crossfade_frames * MAX_STRETCH_RATE) + 4 :
      s->cfg.segment_frames > 0 ? 1 : 0;
  if (s->cfg.segment_frames > 0 && s->xf_in > s->cfg.segment_frames)
    s->xf_in = (size_t) s->cfg.segment_frames;
  s->pos = cfg->first_frame;
  if (cfg->segment_frames > 0) {
    s->seg_index = cfg->first_frame / cfg->segment_frames;
    s->seg_end = s->seg_index * cfg->segment_frames;    /* next draw here */
  } else {
    s->seg_index = 0;
    s->seg_end = cfg->first_frame;
  }
  return s;
}

void
musa_augment_session_free (MusaAugmentSession * s)
{
  if (s == NULL)
    return;
  musa_augment_proc_free (s->cur);
  musa_augment_proc_free (s->old);
  free (s->xf);
  free (s->hold);
  free (s->tmp);
  free (s);
}

size_t
musa_augment_session_room (const MusaAugmentSession * s)
{
  uint64_t room;

  if (s == NULL || s->finished)
    return 0;
  room = s->cfg.max_block;
  if (!s->started || s->pos >= s->seg_end)
    return 0;
  if (s->seg_end - s->pos < room)
    room = s->seg_end - s->pos;
  if (s->old && s->old_feed_left < room)
    room = s->old_feed_left;
  return (size_t) room;
}

const MusaAugmentDraw *
musa_augment_session_draw (const MusaAugmentSession * s)
{
  return s && s->started ? &s->draw : NULL;
}

static int finish_old (MusaAugmentSession * s, float *out, size_t out_cap,
    size_t *produced);

const MusaAugmentDraw *
musa_augment_session_next_draw (MusaAugmentSession * s, MusaError * err)
{
  MusaAugmentDraw d;
  MusaAugmentProc *p;
  uint64_t index;

  if (s == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, NULL, "no session");
    return NULL;
  }
  if (s->finished) {
    musa_error_set (err, MUSA_ERR_STATE, "", "the stream has ended");
    return NULL;
  }
  if (s->started && s->cfg.segment_frames == 0) {
    musa_error_set (err, MUSA_ERR_STATE, "", "one draw per stream");
    return NULL;
  }
  if (s->old != NULL) {
    musa_error_set (err, MUSA_ERR_STATE, "", "join still in progress");
    return NULL;
  }
  index = s->started ? s->seg_index + 1 : s->seg_index;
  if (musa_augment_draw (s->cfg.chain, s->cfg.probability, s->cfg.seed,
          s->cfg.stream_hash, index, s->cfg.sample_rate, &d, err) != MUSA_OK)
    return NULL;
  p = musa_augment_proc_new (&d, s->cfg.sample_rate, s->cfg.channels,
      s->cfg.max_block, err);
  if (p == NULL)
    return NULL;
  if (s->started && s->xf_in > 0) {
    size_t ch = (size_t) s->cfg.channels;
    size_t feed = s->xf_in + (size_t) musa_augment_proc_latency (p);
    size_t hold_need, tmp_need = musa_augment_proc_max_output (s->cur,
        s->cfg.max_block) * ch;
    size_t xf_need = s->cfg.crossfade_frames * ch;

    /* the join ends within the new segment (a segment shorter than the
     * look-ahead or the stretcher's delay: the previous draw drains the
     * rest of its overlap from silence, the fade is shorter) */
    if (feed > s->cfg.segment_frames)
      feed = (size_t) s->cfg.segment_frames;
    hold_need = ((size_t) ceil (feed / d.rate) + 64 +
        musa_augment_proc_max_output (p, s->cfg.max_block)) * ch;

    if (ensure (&s->hold, &s->hold_cap, hold_need) != MUSA_OK
        || ensure (&s->tmp, &s->tmp_cap, tmp_need) != MUSA_OK
        || ensure (&s->xf, &s->xf_cap, xf_need) != MUSA_OK) {
      musa_augment_proc_free (p);
      musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
      return NULL;
    }
    s->old = s->cur;
    s->old_rate = s->draw.rate;
    s->old_feed_left = feed;
    s->old_nominal = (uint64_t) llround (s->cur_in / s->draw.rate);
    s->old_out = s->cur_out;
    s->xf_n = 0;
    s->hold_n = 0;
  } else {
    musa_augment_proc_free (s->cur);
  }
  s->cur = p;
  s->cur_in = 0;
  s->cur_out = 0;
  s->draw = d;
  if (s->started)
    s->seg_index++;
  s->started = 1;
  if (s->cfg.segment_frames > 0)
    s->seg_end = (s->seg_index + 1) * s->cfg.segment_frames;
  else
    s->seg_end = UINT64_MAX;
  return &s->draw;
}

size_t
musa_augment_session_max_output (const MusaAugmentSession * s, size_t in_frames)
{
  size_t n = 0;

  if (s == NULL)
    return 0;
  if (s->cur)
    n += musa_augment_proc_max_output (s->cur, in_frames);
  if (s->old) {
    n += 2 * musa_augment_proc_max_output (s->old, s->cfg.max_block);
    n += s->hold_cap / (size_t) s->cfg.channels;
    n += (size_t) ceil ((musa_augment_proc_latency (s->old) +
            (double) s->cfg.max_block) / s->old_rate) + 64;
  }
  return n;
}

int64_t
musa_augment_session_latency (const MusaAugmentSession * s)
{
  int64_t l;

  if (s == NULL)
    return 0;
  l = s->cur ? musa_augment_proc_latency (s->cur) : 0;
  if (s->cfg.segment_frames > 0)
    l += (int64_t) s->xf_in;
  return l;
}

size_t
musa_augment_session_join_pending (const MusaAugmentSession * s)
{
  if (s == NULL || s->old == NULL || s->old_out >= s->old_nominal)
    return 0;
  return (size_t) (s->old_nominal - s->old_out);
}

/* Output of the previous draw: up to its nominal length to @out, the next C
 * frames to the crossfade buffer, the rest (its tail past the join) dropped. */
static int
route_old (MusaAugmentSession * s, const float *src, size_t n, float *out,
    size_t out_cap, size_t *w)
{
  const size_t ch = (size_t) s->cfg.channels;
  size_t k;

  if (s->old_out < s->old_nominal) {
    k = s->old_nominal - s->old_out < n ? s->old_nominal - s->old_out : n;
    if (*w + k > out_cap)
      return MUSA_ERR_STATE;
    memcpy (out + *w * ch, src, sizeof (float) * k * ch);
    *w += k;
    s->old_out += k;
    src += k * ch;
    n -= k;
  }
  if (n > 0 && s->xf_n < s->cfg.crossfade_frames) {
    k = s->cfg.crossfade_frames - s->xf_n < n ?
        s->cfg.crossfade_frames - s->xf_n : n;
    memcpy (s->xf + s->xf_n * ch, src, sizeof (float) * k * ch);
    s->xf_n += k;
  }
  s->old_out += n;
  return MUSA_OK;
}

/* Ends a join: drains the previous draw, fades the held output of the new one
 * in over the previous one's frames past the join, and emits it. */
static int
finish_old (MusaAugmentSession * s, float *out, size_t out_cap,
    size_t *produced)
{
  const size_t ch = (size_t) s->cfg.channels;
  size_t got, c, i, k;
  int ret;

  do {
    ret = musa_augment_proc_finish (s->old, s->tmp, s->tmp_cap / ch, &got);
    if (ret == MUSA_OK)
      ret = route_old (s, s->tmp, got, out, out_cap, produced);
    if (ret != MUSA_OK)
      return ret;
  } while (got > 0);
  c = s->xf_n < s->hold_n ? s->xf_n : s->hold_n;
  for (i = 0; i < c; i++) {
    float g = (float) (0.5 - 0.5 * cos (M_PI * (i + 0.5) / (double) c));

    /* old + g (new - old): exactly the signal where both draws leave it
     * alone (g new + (1 - g) old rounds off it) */
    for (k = 0; k < ch; k++)
      s->hold[i * ch + k] = s->xf[i * ch + k] +
          g * (s->hold[i * ch + k] - s->xf[i * ch + k]);
  }
  if (*produced + s->hold_n > out_cap)
    return MUSA_ERR_STATE;
  memcpy (out + *produced * ch, s->hold, sizeof (float) * s->hold_n * ch);
  *produced += s->hold_n;
  s->hold_n = 0;
  s->xf_n = 0;
  musa_augment_proc_free (s->old);
  s->old = NULL;
  return MUSA_OK;
}

/* output of the current draw: held during a join, else straight out */
static int
run_cur (MusaAugmentSession * s, const float *in, size_t n, float *out,
    size_t out_cap, size_t *w)
{
  const size_t ch = (size_t) s->cfg.channels;
  size_t got = 0;
  int ret;

  if (s->old) {
    if (in)
      ret = musa_augment_proc_process (s->cur, in, n,
          s->hold + s->hold_n * ch, s->hold_cap / ch - s->hold_n, &got);
    else
      ret = musa_augment_proc_finish (s->cur, s->hold + s->hold_n * ch,
          s->hold_cap / ch - s->hold_n, &got);
    s->hold_n += got;
  } else {
    if (in)
      ret = musa_augment_proc_process (s->cur, in, n, out + *w * ch,
          out_cap - *w, &got);
    else
      ret = musa_augment_proc_finish (s->cur, out + *w * ch, out_cap - *w,
          &got);
    *w += got;
  }
  s->cur_out += got;
  return ret;
}

int
musa_augment_session_process (MusaAugmentSession * s, const float *in,
    size_t in_frames, float *out, size_t out_cap, size_t *produced)
{
  int ret;

  if (produced)
    *produced = 0;
  if (s == NULL || produced == NULL || (in == NULL && in_frames > 0)
      || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  if (s->finished)
    return MUSA_ERR_STATE;
  if (in_frames == 0)
    return MUSA_OK;
  if (in_frames > musa_augment_session_room (s))
    return MUSA_ERR_STATE;
  if (s->old) {
    size_t got;
    const size_t ch = (size_t) s->cfg.channels;

    ret = musa_augment_proc_process (s->old, in, in_frames, s->tmp,
        s->tmp_cap / ch, &got);
    if (ret == MUSA_OK)
      ret = route_old (s, s->tmp, got, out, out_cap, produced);
    if (ret != MUSA_OK)
      return ret;
    s->old_feed_left -= in_frames;
  }
  ret = run_cur (s, in, in_frames, out, out_cap, produced);
  if (ret != MUSA_OK)
    return ret;
  s->cur_in += in_frames;
  s->pos += in_frames;
  if (s->old && s->old_feed_left == 0)
    return finish_old (s, out, out_cap, produced);
  return MUSA_OK;
}

int
musa_augment_session_finish (MusaAugmentSession * s, float *out,
    size_t out_cap, size_t *produced)
{
  if (produced)
    *produced = 0;
  if (s == NULL || produced == NULL || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  s->finished = 1;
  if (s->cur == NULL)
    return MUSA_OK;
  if (s->old) {
    /* the stream ended during a join: fade over what the new draw has
     * produced so far, then drain the new draw */
    int ret = finish_old (s, out, out_cap, produced);

    if (ret != MUSA_OK || *produced > 0)
      return ret;
  }
  return run_cur (s, NULL, 0, out, out_cap, produced);
}

void
musa_augment_f32_to_s16 (const float *in, int16_t * out, size_t n)
{
  size_t i;

  if (in == NULL || out == NULL)
    return;
  for (i = 0; i < n; i++) {
    float v = in[i] * 32768.0f;

    if (!(v > -32768.0f))       /* also NaN */
      v = v != v ? 0.0f : -32768.0f;
    else if (v > 32767.0f)
      v = 32767.0f;
    out[i] = (int16_t) lrintf (v);
  }
}

void
musa_augment_f32_to_s32 (const float *in, int32_t * out, size_t n)
{
  size_t i;

  if (in == NULL || out == NULL)
    return;
  for (i = 0; i < n; i++) {
    double v = (double) in[i] * 2147483648.0;

    if (!(v > -2147483648.0))   /* also NaN */
      v = v != v ? 0.0 : -2147483648.0;
    else if (v > 2147483647.0)
      v = 2147483647.0;
    out[i] = (int32_t) llrint (v);
  }
}

void
musa_augment_f32_to_f64 (const float *in, double *out, size_t n)
{
  size_t i;

  if (in == NULL || out == NULL)
    return;
  for (i = 0; i < n; i++)
    out[i] = in[i];
}
