/* libmusa — effects: gain. */
#include "fx/fx-private.h"

#include "musa-fx-orc.h"

typedef struct
{
  float g;
} Gain;

static int
gain_init (MusaFx * fx, MusaError * err)
{
  Gain *s = calloc (1, sizeof (Gain));

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  s->g = (float) musa_fx_db_to_lin (fx->p.p.gain.db);
  fx->priv = s;
  return MUSA_OK;
}

static void
gain_process (MusaFx * fx, float *x, size_t frames)
{
  Gain *s = fx->priv;
  size_t n = frames * (size_t) fx->channels, done;

  for (done = 0; done < n; done += MUSA_FX_ORC_CHUNK) {
    size_t len = n - done < MUSA_FX_ORC_CHUNK ? n - done : MUSA_FX_ORC_CHUNK;
    musa_fx_orc_gain_f32 (x + done, s->g, (int) len);
  }
}

static void
gain_reset (MusaFx * fx)
{
}

static void
gain_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_gain_class = {
  gain_init, gain_process, gain_reset, gain_clear
};
