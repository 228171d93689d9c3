/* libmusa — effects: parameter checks, provenance strings, dispatch. */
#include "fx/fx-private.h"

#include <stdio.h>

static const char *const type_names[MUSA_FX_N_TYPES] = {
  "gain", "eq", "compressor", "limiter", "distortion", "reverb", "echo",
  "chorus", "noise"
};

static const char *const eq_shape_names[] = {
  "low-shelf", "high-shelf", "peak", "high-pass", "low-pass"
};

static const char *const dist_mode_names[] = { "tanh", "clip", "bitcrush" };

static const char *const noise_colour_names[] = { "white", "pink" };

static const MusaFxClass *const classes[MUSA_FX_N_TYPES] = {
  &musa_fx_gain_class, &musa_fx_eq_class, &musa_fx_compressor_class,
  &musa_fx_limiter_class, &musa_fx_distortion_class, &musa_fx_reverb_class,
  &musa_fx_echo_class, &musa_fx_chorus_class, &musa_fx_noise_class
};

const char *
musa_fx_type_name (MusaFxType t)
{
  if ((int) t < 0 || t >= MUSA_FX_N_TYPES)
    return NULL;
  return type_names[t];
}

/* lo <= v <= hi, NaN fails. */
static int
in_range (MusaError * err, const char *fx, const char *param, double v,
    double lo, double hi)
{
  char prop[MUSA_ERROR_PROPERTY_LEN];

  if (v >= lo && v <= hi)
    return 1;
  snprintf (prop, sizeof prop, "%s.%s", fx, param);
  musa_error_set (err, MUSA_ERR_INVALID, prop,
      "%s %s = %g is outside [%g, %g]", fx, param, v, lo, hi);
  return 0;
}

#define RANGE(param, v, lo, hi) \
  if (!in_range (err, name, param, v, lo, hi)) return MUSA_ERR_INVALID

int
musa_fx_params_check (const MusaFxParams * p, int rate, MusaError * err)
{
  const char *name;
  double nyq;

  if (p == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, "", "no effect parameters");
  name = musa_fx_type_name (p->type);
  if (name == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, "", "unknown effect type %d",
        (int) p->type);
  if (rate < 8000 || rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate %d Hz is outside [8000, 192000]", rate);
  nyq = 0.49 * rate;

  switch (p->type) {
    case MUSA_FX_GAIN:
      RANGE ("db", p->p.gain.db, -60.0, 24.0);
      break;
    case MUSA_FX_EQ:
      if ((int) p->p.eq.shape < MUSA_EQ_LOW_SHELF
          || p->p.eq.shape > MUSA_EQ_LOW_PASS)
        return musa_error_set (err, MUSA_ERR_INVALID, "eq.shape",
            "unknown EQ shape %d", (int) p->p.eq.shape);
      if (!(p->p.eq.freq_hz > 0.0 && p->p.eq.freq_hz <= nyq))
        return musa_error_set (err, MUSA_ERR_INVALID, "eq.freq_hz",
            "eq freq_hz = %g must be in (0, %g] at %d Hz", p->p.eq.freq_hz,
            nyq, rate);
      RANGE ("gain_db", p->p.eq.gain_db, -24.0, 24.0);
      RANGE ("q", p->p.eq.q, 0.1, 20.0);
      break;
    case MUSA_FX_COMPRESSOR:
      RANGE ("threshold_db", p->p.compressor.threshold_db, -80.0, 0.0);
      RANGE ("ratio", p->p.compressor.ratio, 1.0, 100.0);
      RANGE ("knee_db", p->p.compressor.knee_db, 0.0, 24.0);
      RANGE ("attack_ms", p->p.compressor.attack_ms, 0.01, 1000.0);
      RANGE ("release_ms", p->p.compressor.release_ms, 1.0, 5000.0);
      RANGE ("makeup_db", p->p.compressor.makeup_db, -24.0, 48.0);
      RANGE ("auto_makeup", p->p.compressor.auto_makeup, 0.0, 1.0);
      break;
    case MUSA_FX_LIMITER:
      RANGE ("ceiling_db", p->p.limiter.ceiling_db, -60.0, 0.0);
      RANGE ("lookahead_ms", p->p.limiter.lookahead_ms, 0.1, 100.0);
      RANGE ("release_ms", p->p.limiter.release_ms, 1.0, 5000.0);
      break;
    case MUSA_FX_DISTORTION:
      if ((int) p->p.distortion.mode < MUSA_DIST_TANH
          || p->p.distortion.mode > MUSA_DIST_BITCRUSH)
        return musa_error_set (err, MUSA_ERR_INVALID, "distortion.mode",
            "unknown distortion mode %d", (int) p->p.distortion.mode);
      RANGE ("drive_db", p->p.distortion.drive_db, 0.0, 60.0);
      RANGE ("mix", p->p.distortion.mix, 0.0, 1.0);
      if (p->p.distortion.mode == MUSA_DIST_BITCRUSH)
        RANGE ("bits", p->p.distortion.bits, 1, 24);
      break;
    case MUSA_FX_REVERB:
      RANGE ("room_size", p->p.reverb.room_size, 0.0, 1.0);
      RANGE ("damping", p->p.reverb.damping, 0.0, 1.0);
      RANGE ("wet", p->p.reverb.wet, 0.0, 1.0);
      RANGE ("predelay_ms", p->p.reverb.predelay_ms, 0.0, 500.0);
      break;
    case MUSA_FX_ECHO:
      RANGE ("delay_ms", p->p.echo.delay_ms, 1.0, 5000.0);
      RANGE ("feedback", p->p.echo.feedback, 0.0, 0.95);
      RANGE ("mix", p->p.echo.mix, 0.0, 1.0);
      break;
    case MUSA_FX_CHORUS:
      RANGE ("rate_hz", p->p.chorus.rate_hz, 0.01, 20.0);
      RANGE ("depth_ms", p->p.chorus.depth_ms, 0.0, 50.0);
      RANGE ("delay_ms", p->p.chorus.delay_ms, 0.0, 100.0);
      RANGE ("mix", p->p.chorus.mix, 0.0, 1.0);
      break;
    case MUSA_FX_NOISE:
      if ((int) p->p.noise.colour < MUSA_NOISE_WHITE
          || p->p.noise.colour > MUSA_NOISE_PINK)
        return musa_error_set (err, MUSA_ERR_INVALID, "noise.colour",
            "unknown noise colour %d", (int) p->p.noise.colour);
      if (!(p->p.noise.snr_db == INFINITY))
        RANGE ("snr_db", p->p.noise.snr_db, -20.0, 120.0);
      break;
    default:
      break;
  }
  musa_error_clear (err);
  return MUSA_OK;
}

int
musa_fx_is_identity (const MusaFxParams * p)
{
  if (p == NULL)
    return 0;
  switch (p->type) {
    case MUSA_FX_GAIN:
      return p->p.gain.db == 0.0;
    case MUSA_FX_EQ:
      return p->p.eq.gain_db == 0.0 && (p->p.eq.shape == MUSA_EQ_LOW_SHELF
          || p->p.eq.shape == MUSA_EQ_HIGH_SHELF
          || p->p.eq.shape == MUSA_EQ_PEAK);
    case MUSA_FX_COMPRESSOR:
      return p->p.compressor.ratio == 1.0 && p->p.compressor.makeup_db == 0.0;
    case MUSA_FX_DISTORTION:
      return p->p.distortion.mix == 0.0;
    case MUSA_FX_REVERB:
      return p->p.reverb.wet == 0.0;
    case MUSA_FX_ECHO:
      return p->p.echo.mix == 0.0;
    case MUSA_FX_CHORUS:
      return p->p.chorus.mix == 0.0;
    case MUSA_FX_NOISE:
      return p->p.noise.snr_db == INFINITY;
    default:
      return 0;
  }
}

int
musa_fx_describe (const MusaFxParams * p, char *buf, size_t len)
{
  if (p == NULL || musa_fx_type_name (p->type) == NULL) {
    if (buf && len)
      buf[0] = '\0';
    return -1;
  }
  if (buf == NULL)
    len = 0;
  switch (p->type) {
    case MUSA_FX_GAIN:
      return snprintf (buf, len, "gain(db=%.6g)", p->p.gain.db);
    case MUSA_FX_EQ:
      return snprintf (buf, len, "eq(shape=%s,freq_hz=%.6g,gain_db=%.6g,"
          "q=%.6g)", (unsigned) p->p.eq.shape <= MUSA_EQ_LOW_PASS ?
          eq_shape_names[p->p.eq.shape] : "?", p->p.eq.freq_hz,
          p->p.eq.gain_db, p->p.eq.q);
    case MUSA_FX_COMPRESSOR:{
      /* auto_makeup only when set: descriptions without it stay as they
       * were */
      char auto_buf[40] = "";

      if (p->p.compressor.auto_makeup != 0.0)
        snprintf (auto_buf, sizeof auto_buf, ",auto_makeup=%.6g",
            p->p.compressor.auto_makeup);
      return snprintf (buf, len, "compressor(threshold_db=%.6g,ratio=%.6g,"
          "knee_db=%.6g,attack_ms=%.6g,release_ms=%.6g,makeup_db=%.6g%s)",
          p->p.compressor.threshold_db, p->p.compressor.ratio,
          p->p.compressor.knee_db, p->p.compressor.attack_ms,
          p->p.compressor.release_ms, p->p.compressor.makeup_db, auto_buf);
    }
    case MUSA_FX_LIMITER:
      return snprintf (buf, len, "limiter(ceiling_db=%.6g,lookahead_ms=%.6g,"
          "release_ms=%.6g)", p->p.limiter.ceiling_db,
          p->p.limiter.lookahead_ms, p->p.limiter.release_ms);
    case MUSA_FX_DISTORTION:
      if (p->p.distortion.mode == MUSA_DIST_BITCRUSH)
        return snprintf (buf, len, "distortion(mode=bitcrush,drive_db=%.6g,"
            "mix=%.6g,bits=%d)", p->p.distortion.drive_db,
            p->p.distortion.mix, p->p.distortion.bits);
      return snprintf (buf, len, "distortion(mode=%s,drive_db=%.6g,mix=%.6g)",
          (unsigned) p->p.distortion.mode <= MUSA_DIST_BITCRUSH ?
          dist_mode_names[p->p.distortion.mode] : "?",
          p->p.distortion.drive_db, p->p.distortion.mix);
    case MUSA_FX_REVERB:
      return snprintf (buf, len, "reverb(room_size=%.6g,damping=%.6g,"
          "wet=%.6g,predelay_ms=%.6g)", p->p.reverb.room_size,
          p->p.reverb.damping, p->p.reverb.wet, p->p.reverb.predelay_ms);
    case MUSA_FX_ECHO:
      return snprintf (buf, len, "echo(delay_ms=%.6g,feedback=%.6g,mix=%.6g)",
          p->p.echo.delay_ms, p->p.echo.feedback, p->p.echo.mix);
    case MUSA_FX_CHORUS:
      return snprintf (buf, len, "chorus(rate_hz=%.6g,depth_ms=%.6g,"
          "delay_ms=%.6g,mix=%.6g)", p->p.chorus.rate_hz,
          p->p.chorus.depth_ms, p->p.chorus.delay_ms, p->p.chorus.mix);
    case MUSA_FX_NOISE:
      return snprintf (buf, len, "noise(colour=%s,snr_db=%.6g,seed=%llu)",
          (unsigned) p->p.noise.colour <= MUSA_NOISE_PINK ?
          noise_colour_names[p->p.noise.colour] : "?", p->p.noise.snr_db,
          (unsigned long long) p->p.noise.seed);
    default:
      return -1;
  }
}

MusaFx *
musa_fx_new (const MusaFxParams * p, int rate, int channels, MusaError * err)
{
  MusaFx *fx;
  int ret;

  if (musa_fx_params_check (p, rate, err) != MUSA_OK)
    return NULL;
  if (channels < 1 || channels > 8) {
    musa_error_set (err, MUSA_ERR_INVALID, "channels",
        "%d channels is outside [1, 8]", channels);
    return NULL;
  }
  fx = calloc (1, sizeof (MusaFx));
  if (fx == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
    return NULL;
  }
  fx->p = *p;
  fx->rate = rate;
  fx->channels = channels;
  fx->identity = musa_fx_is_identity (p);
  fx->klass = classes[p->type];
  ret = fx->klass->init (fx, err);
  if (ret != MUSA_OK) {
    if (fx->priv)
      fx->klass->clear (fx);
    free (fx);
    if (err && err->code == MUSA_OK)
      musa_error_set (err, ret, "", "could not create the %s effect",
          type_names[p->type]);
    return NULL;
  }
  if (fx->identity) {
    fx->latency = 0;
    fx->tail = 0;
  }
  fx->klass->reset (fx);
  musa_error_clear (err);
  return fx;
}

void
musa_fx_process (MusaFx * fx, float *interleaved, size_t frames)
{
  if (fx == NULL || interleaved == NULL || frames == 0 || fx->identity)
    return;
  fx->klass->process (fx, interleaved, frames);
}

void
musa_fx_reset (MusaFx * fx)
{
  if (fx)
    fx->klass->reset (fx);
}

int64_t
musa_fx_latency (const MusaFx * fx)
{
  return fx ? fx->latency : 0;
}

int64_t
musa_fx_tail (const MusaFx * fx)
{
  return fx ? fx->tail : 0;
}

void
musa_fx_free (MusaFx * fx)
{
  if (fx == NULL)
    return;
  if (fx->priv)
    fx->klass->clear (fx);
  free (fx);
}
