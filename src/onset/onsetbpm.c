/* libmusa — onsets, tempo and beats of a stream. */
#include "onset/onsetbpm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onset/chordchange.h"

/* raw live beats waiting until the chord-change function covers them */
#define PHASE_QUEUE 16
#define PHASE_AGE 0.4
/* running means over about this many beats */
#define PHASE_BEATS 8
/* the other grid takes over (final beats: the midpoints replace the
 * beats; live: the phase flips) only when its weight is this much larger,
 * so that near-equal grids keep the tracker's beats and the live phase does
 * not flap (on the rendered songs every grid put right won by more than
 * 10 %, all but two by more than 25 %) */
#define PHASE_MARGIN 1.1
/* the live tempo moves to a new answer only when it is this much more
 * salient than the current one */
#define TEMPO_MARGIN 1.1
/* the tempo of the final beats drifts when their period over any span of
 * DRIFT_SPAN beats is more than DRIFT_MIN off their mean period (a
 * sequenced tempo: within 1 %, the frame grid's error over 8 beats at 240
 * BPM) */
#define DRIFT_SPAN 8
#define DRIFT_MIN 0.015
/* the live beat tracker's period: the sliding estimate's (its level, over
 * `window`), moved to the correlation peak of the last LOCAL_SECONDS within
 * 10 % of it, so that it follows a played tempo as it drifts (the 10 s
 * window's estimate lags the drift by about half the window) */
#define LOCAL_SECONDS 4.0
/* New music (a song change on the radio): when the last NEW_MUSIC_SECONDS
 * no longer repeat at the live tempo but clearly at another, unrelated
 * period (musa_tempo_new_music), the sliding window starts again from the
 * last CUT_SECONDS and the live tempo is not held: the old song's seconds
 * would otherwise keep its tempo, then a mixture of both, for about half a
 * window after the change */
#define NEW_MUSIC_SECONDS 4.0
#define CUT_SECONDS 3.0

struct MusaOnsetBpm
{
  MusaOnsetBpmConfig cfg;
  MusaOnset *onset;
  MusaTempo *tempo;
  MusaTempo *steady_tempo;      /* the whole stream played at a steady tempo */
  MusaBeat *beat;
  MusaChordChange *chords;      /* for the phase of the beats */
  double fps;
  int hop;
  int64_t samples;
  int64_t frames;
  int64_t pad_frames;           /* frames whose window reaches before 0 */
  double live_period;
  double live_level;            /* BPM of the live answer, 0 before one */
  int live_on;                  /* the last reading of the second had one */
  int64_t live_beats;
  double last_beat;
  /* live beat phase: the tracker's beats (raw) or the midpoints between
   * them, by the same cue as the final beats (choose_phase), from running
   * means over the raw beats at least PHASE_AGE s old */
  int live_shift;               /* 1: beats go out half a period late */
  int64_t pending;              /* frame of a shifted beat to emit, or -1 */
  int64_t prev_raw;             /* the tracker's previous beat, or -1 */
  int64_t queue[PHASE_QUEUE][2];        /* (previous, beat) awaiting evaluation */
  int q_head, q_len;
  double ev_on_b, ev_on_m, ev_ch_b, ev_ch_m;
  int ev_n;
  size_t max_beats, n_beats;
  /* beats_cap each, allocated at finish for the stream there is (at most
   * max_beats): the final beats, the tempo map of the beats */
  size_t beats_cap;
  double *beats;
  double *knot_pos, *knot_idx;
  /* the callback of the process call in progress */
  MusaOnsetBpmFunc func;
  void *user;
  int finished;                 /* finish called since the last reset */
  MusaTempoResult final;        /* what finish gave */
};

void
musa_onsetbpm_config_default (MusaOnsetBpmConfig * cfg, int sample_rate)
{
  if (cfg == NULL)
    return;
  memset (cfg, 0, sizeof (*cfg));
  musa_onset_config_default (&cfg->onset, sample_rate);
  cfg->window = 10.0;
  cfg->min_bpm = 40.0;
  cfg->max_bpm = 240.0;
  cfg->prior_bpm = 120.0;
  cfg->history = 3600.0;
}

int
musa_onsetbpm_config_check (const MusaOnsetBpmConfig * cfg, MusaError * err)
{
  MusaTempoConfig tc;
  int status;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if ((status = musa_onset_config_check (&cfg->onset, err)) != MUSA_OK)
    return status;
  /* the tempo's frame rate is about 100/s at every sample rate (hop =
   * rate / 100): its checks do not depend on it */
  musa_tempo_config_default (&tc, 100.0);
  tc.window = cfg->window;
  tc.min_bpm = cfg->min_bpm;
  tc.max_bpm = cfg->max_bpm;
  tc.prior_bpm = cfg->prior_bpm;
  return musa_tempo_config_check (&tc, err);
}

MusaOnsetBpm *
musa_onsetbpm_new (const MusaOnsetBpmConfig * cfg, MusaError * err)
{
  MusaOnsetBpm *ob;
  MusaTempoConfig tc;
  MusaBeatConfig bc;

  if (cfg == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
    return NULL;
  }
  ob = calloc (1, sizeof (*ob));
  if (ob == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  ob->cfg = *cfg;
  ob->onset = musa_onset_new (&cfg->onset, err);
  if (ob->onset == NULL) {
    free (ob);
    return NULL;
  }
  ob->fps = musa_onset_fps (ob->onset);
  ob->hop = musa_onset_hop (ob->onset);
  ob->pad_frames = musa_onset_n_fft (ob->onset) / 2 / ob->hop + 1;
  musa_tempo_config_default (&tc, ob->fps);
  tc.window = cfg->window;
  tc.min_bpm = cfg->min_bpm;
  tc.max_bpm = cfg->max_bpm;
  tc.prior_bpm = cfg->prior_bpm;
  ob->tempo = musa_tempo_new (&tc, err);
  if (ob->tempo != NULL)
    ob->steady_tempo = musa_tempo_new (&tc, err);
  if (ob->tempo == NULL || ob->steady_tempo == NULL) {
    musa_onsetbpm_free (ob);
    return NULL;
  }
  musa_beat_config_default (&bc, ob->fps);
  bc.history = cfg->history;
  ob->beat = musa_beat_new (&bc, err);
  if (ob->beat == NULL) {
    musa_onsetbpm_free (ob);
    return NULL;
  }
  ob->chords = musa_chord_change_new (cfg->onset.sample_rate, cfg->history,
      err);
  if (ob->chords == NULL) {
    musa_onsetbpm_free (ob);
    return NULL;
  }
  /* at most one beat per half period of the fastest tempo */
  ob->max_beats = (size_t) ceil (cfg->history * cfg->max_bpm / 30.0) + 16;
  musa_onsetbpm_reset (ob);
  return ob;
}

void
musa_onsetbpm_free (MusaOnsetBpm * ob)
{
  if (ob == NULL)
    return;
  musa_onset_free (ob->onset);
  musa_tempo_free (ob->tempo);
  musa_tempo_free (ob->steady_tempo);
  musa_beat_free (ob->beat);
  musa_chord_change_free (ob->chords);
  free (ob->beats);
  free (ob->knot_pos);
  free (ob->knot_idx);
  free (ob);
}

void
musa_onsetbpm_reset (MusaOnsetBpm * ob)
{
  if (ob == NULL)
    return;
  musa_onset_reset (ob->onset);
  musa_tempo_reset (ob->tempo);
  musa_beat_reset (ob->beat);
  musa_chord_change_reset (ob->chords);
  free (ob->beats);
  free (ob->knot_pos);
  free (ob->knot_idx);
  ob->beats = ob->knot_pos = ob->knot_idx = NULL;
  ob->beats_cap = 0;
  ob->samples = 0;
  ob->frames = 0;
  ob->live_period = 0.0;
  ob->live_level = 0.0;
  ob->live_on = 0;
  ob->live_beats = 0;
  ob->last_beat = -1.0;
  ob->n_beats = 0;
  ob->live_shift = 0;
  ob->pending = -1;
  ob->prev_raw = -1;
  ob->q_head = ob->q_len = 0;
  ob->ev_on_b = ob->ev_on_m = ob->ev_ch_b = ob->ev_ch_m = 0.0;
  ob->ev_n = 0;
  ob->finished = 0;
}

/* How well a grid explains the music: mean onset strength times mean chord
 * change on it (1e-3: far below a chord change, 0.05..0.3, it only keeps
 * music without harmony, 0 x 0, comparable). */
static double
grid_weight (double onset, double chord)
{
  return onset * (chord + 1e-3);
}

/* The largest onset function value within +-1 frame of frame @t. */
static float
onset_near (const MusaOnsetBpm * ob, double t)
{
  int64_t k = (int64_t) floor (t + 0.5), j;
  float v = 0.0f;

  for (j = k - 1; j <= k + 1; j++)
    if (musa_beat_value_at (ob->beat, j) > v)
      v = musa_beat_value_at (ob->beat, j);
  return v;
}

static void
emit_beat (MusaOnsetBpm * ob, int64_t bf)
{
  MusaOnsetBpmEvent ev;

  ob->last_beat = bf / ob->fps;
  if (ob->func) {
    memset (&ev, 0, sizeof (ev));
    ev.type = MUSA_ONSETBPM_BEAT;
    ev.sample = bf * ob->hop;
    ev.time = ob->last_beat;
    ev.index = ob->live_beats;
    ev.bpm = ob->live_level;
    ob->func (ob->user, &ev);
  }
  ob->live_beats++;
}

/* Fold the queued raw beats that are old enough into the running means and
 * decide the live phase. */
static void
update_live_phase (MusaOnsetBpm * ob)
{
  int64_t age = (int64_t) ceil (PHASE_AGE * ob->fps);

  while (ob->q_len > 0 && ob->queue[ob->q_head][1] + age <= ob->frames) {
    int64_t prev = ob->queue[ob->q_head][0], b = ob->queue[ob->q_head][1];
    double mid = 0.5 * (double) (prev + b), a, pb, pm;

    ob->q_head = (ob->q_head + 1) % PHASE_QUEUE;
    ob->q_len--;
    if (prev < 0 || !(ob->live_period > 0.0)
        || (double) (b - prev) > 1.5 * ob->live_period)
      continue;
    a = ob->ev_n < PHASE_BEATS ? 1.0 / (ob->ev_n + 1) : 1.0 / PHASE_BEATS;
    ob->ev_on_b += a * (onset_near (ob, (double) b) - ob->ev_on_b);
    ob->ev_on_m += a * (onset_near (ob, mid) - ob->ev_on_m);
    ob->ev_ch_b += a * (musa_chord_change_at (ob->chords, b / ob->fps) -
        ob->ev_ch_b);
    ob->ev_ch_m += a * (musa_chord_change_at (ob->chords, mid / ob->fps) -
        ob->ev_ch_m);
    ob->ev_n++;
    if (ob->ev_n < PHASE_BEATS)
      continue;
    pb = grid_weight (ob->ev_on_b, ob->ev_ch_b);
    pm = grid_weight (ob->ev_on_m, ob->ev_ch_m);
    if (!ob->live_shift && pm > PHASE_MARGIN * pb)
      ob->live_shift = 1;
    else if (ob->live_shift && pb > PHASE_MARGIN * pm)
      ob->live_shift = 0;
  }
}

/* The sliding estimate, kept at the live answer's tempo while that stays
 * within TEMPO_MARGIN of the new answer's salience: where two metrical
 * levels (or a tresillo's 5:2 relative) are about equally salient, the
 * live tempo no longer flips between them from one second to the next (on
 * the 400 rendered songs, estimates after 6 s all within 2 % of their
 * median in 272 songs and 319 octave jumps; with it 345 and 19, the live
 * estimates right in 82.3 -> 85.1 % of the seconds, live beat F +0.013,
 * +0.025, +0.016, -0.003 on seeds 1-4; 391 steady once the estimate also
 * stops when the music does, musa_tempo_estimate); a new song, or a tempo
 * change, moves it as soon as the old tempo falls behind. And while the
 * music goes on, the live tempo is kept down to 3 noise deviations where a
 * new one needs 4 (musa_tempo_keep): in syncopated funk the beat's
 * periodicity over 10 s sits just above the bound, and the live tempo fell
 * to 0 for a second now and then (7 of the 400 rendered songs; with it,
 * the 0 readings left are before the first right one). */
static void
live_estimate (MusaOnsetBpm * ob, MusaTempoResult * r)
{
  musa_tempo_estimate (ob->tempo, 0, r);
  if (ob->live_level > 0.0)
    musa_tempo_hold (ob->tempo, ob->live_level, 1.0 / TEMPO_MARGIN, r);
  if (ob->live_on)
    musa_tempo_keep (ob->tempo, ob->live_level, r);
}

static void
on_frame (void *user, const MusaOnsetFrame * f)
{
  MusaOnsetBpm *ob = user;
  MusaOnsetBpmEvent ev;
  int64_t bf;

  if (f->onset && ob->func) {
    memset (&ev, 0, sizeof (ev));
    ev.type = MUSA_ONSETBPM_ONSET;
    ev.sample = f->onset_frame * ob->hop;
    ev.time = f->onset_time;
    ev.strength = f->onset_strength;
    ob->func (ob->user, &ev);
  }
  if (f->frame < 0)
    return;                     /* end of stream: a pending onset only */
  /* the first frames see the zero padding before the stream: their flux
   * is the step from nothing to the signal, no beat; the tempo skips it */
  if (ob->frames < ob->pad_frames)
    musa_tempo_push (ob->tempo, 0.0f, 0.0f);
  else
    musa_tempo_push (ob->tempo, f->value, f->live_value);
  if (musa_beat_push (ob->beat, f->value, f->live_value, ob->live_period, &bf)) {
    if (ob->q_len == PHASE_QUEUE) {
      ob->q_head = (ob->q_head + 1) % PHASE_QUEUE;
      ob->q_len--;
    }
    ob->queue[(ob->q_head + ob->q_len) % PHASE_QUEUE][0] = ob->prev_raw;
    ob->queue[(ob->q_head + ob->q_len) % PHASE_QUEUE][1] = bf;
    ob->q_len++;
    ob->prev_raw = bf;
    if (ob->live_shift && ob->pending < 0)
      ob->pending = bf + (int64_t) lround (ob->live_period / 2.0);
    else if (!ob->live_shift)
      emit_beat (ob, bf);
  }
  if (ob->pending >= 0 && ob->frames >= ob->pending) {
    emit_beat (ob, ob->pending);
    ob->pending = -1;
  }
  ob->frames++;
  update_live_phase (ob);
  /* the live beat tracker's period: the sliding estimate, once a second */
  if (ob->frames % (int64_t) lround (ob->fps) == 0) {
    MusaTempoResult r;
    if (ob->live_level > 0.0 && musa_tempo_new_music (ob->tempo,
            ob->live_level, NEW_MUSIC_SECONDS)) {
      musa_tempo_cut (ob->tempo, CUT_SECONDS);
      ob->live_level = 0.0;
      ob->live_on = 0;
    }
    live_estimate (ob, &r);
    ob->live_on = r.confidence > 0.0;
    if (r.confidence > 0.0)
      ob->live_level = r.bpm;
    ob->live_period = r.confidence > 0.0 ?
        musa_tempo_local_period (ob->tempo, r.period, LOCAL_SECONDS) : 0.0;
  }
}

int
musa_onsetbpm_process (MusaOnsetBpm * ob, const float *x, size_t n,
    MusaOnsetBpmFunc func, void *user)
{
  if (ob == NULL || (x == NULL && n > 0))
    return MUSA_ERR_INVALID;
  if (ob->finished)
    return MUSA_ERR_STATE;
  ob->func = func;
  ob->user = user;
  /* both analyses advance in pieces that end on multiples of the hop
   * counted from the stream start, so what the live phase sees of the
   * chord changes at each frame does not depend on the chunking */
  while (n > 0) {
    size_t k = (size_t) (ob->hop - ob->samples % ob->hop);
    if (k > n)
      k = n;
    musa_chord_change_process (ob->chords, x, k);
    musa_onset_process (ob->onset, x, k, on_frame, ob);
    ob->samples += (int64_t) k;
    x += k;
    n -= k;
  }
  ob->func = NULL;
  ob->user = NULL;
  return MUSA_OK;
}

void
musa_onsetbpm_tempo (MusaOnsetBpm * ob, MusaTempoResult * out)
{
  if (out == NULL)
    return;
  if (ob == NULL) {
    memset (out, 0, sizeof (*out));
    return;
  }
  live_estimate (ob, out);
}

double
musa_onsetbpm_last_beat (const MusaOnsetBpm * ob)
{
  return ob ? ob->last_beat : -1.0;
}

/* Mean beat period (frames) of the tracked beats b[0..n), n >= 2: the mean
 * of the intervals within 15 % of @ref (the correlation's period), and
 * their share of all intervals in @steady. The mean, not a straight-line
 * fit: a played tempo swings, and the tempo a listener hears over the song
 * is beats per second on average. The other intervals are the tracker's
 * hops (half a beat in a syncopated groove) and gaps: the span over n - 1
 * counted them as whole beats (120 BPM with one half-beat hop in 36 beats
 * read 118.4). */
static double
mean_period (const double *b, size_t n, double ref, double *steady)
{
  double sum = 0.0;
  size_t i, ok = 0;

  for (i = 1; i < n; i++) {
    double d = b[i] - b[i - 1];
    if (fabs (d / ref - 1.0) < 0.15) {
      sum += d;
      ok++;
    }
  }
  *steady = (double) ok / (double) (n - 1);
  return ok > 0 ? sum / (double) ok : ref;
}

/* The tracked beats' mean period replaces @out's when they are steady,
 * within @tol of its period (so never another metrical level) and inside
 * min-bpm..max-bpm (beats tracked at a period clamped to the range follow
 * the music's own tempo beyond it). */
static int
beats_period (MusaOnsetBpm * ob, double tol, MusaTempoResult * out)
{
  double steady, p, bpm;

  if (ob->n_beats < 8)
    return 0;
  p = mean_period (ob->beats, ob->n_beats, out->period, &steady);
  bpm = 60.0 * ob->fps / p;
  if (!(fabs (p / out->period - 1.0) < tol) || steady < 0.8
      || bpm < ob->cfg.min_bpm || bpm > ob->cfg.max_bpm)
    return 0;
  out->period = p;
  out->bpm = out->candidates[0] = bpm;
  return 1;
}

/* Mean onset strength (largest within +-1 frame) and mean chord change at
 * the beat frames @b[0..n) (@mid: at the midpoints of consecutive beats
 * instead). */
static void
grid_scores (const MusaOnsetBpm * ob, const double *b, size_t n, int mid,
    double *onset, double *chord)
{
  size_t i, m = mid ? n - 1 : n;

  *onset = *chord = 0.0;
  for (i = 0; i < m; i++) {
    double t = mid ? 0.5 * (b[i] + b[i + 1]) : b[i];
    *onset += onset_near (ob, t);
    *chord += musa_chord_change_at (ob->chords, t / ob->fps);
  }
  *onset /= (double) m;
  *chord /= (double) m;
}

/* The phase of the final beats: the tracker follows the strongest onsets,
 * and in syncopated music (a piano montuno, a pushed kick) those can sit
 * half a beat off. The grid of midpoints replaces the beats when it
 * explains the onsets and the chord changes better together: the product
 * of the two ratios (midpoints over beats) is above PHASE_MARGIN. Frames
 * in @b. */
static size_t
choose_phase (const MusaOnsetBpm * ob, double *b, size_t n)
{
  double on_b, ch_b, on_m, ch_m, first, last;
  size_t i;

  if (n < 8)
    return n;
  grid_scores (ob, b, n, 0, &on_b, &ch_b);
  grid_scores (ob, b, n, 1, &on_m, &ch_m);
  if (!(grid_weight (on_m, ch_m) > PHASE_MARGIN * grid_weight (on_b, ch_b)))
    return n;
  first = b[0] - 0.5 * (b[1] - b[0]);
  last = b[n - 1] + 0.5 * (b[n - 1] - b[n - 2]);
  for (i = 0; i + 1 < n; i++)
    b[i] = 0.5 * (b[i] + b[i + 1]);
  n--;
  if (first >= 0.0) {
    memmove (b + 1, b, sizeof (double) * n);
    b[0] = first;
    n++;
  }
  if (last < (double) ob->frames && n < ob->beats_cap)
    b[n++] = last;
  return n;
}

/* The tracked beats @b[0..n) as the knots of a tempo map, in
 * ob->knot_pos (frames) and ob->knot_idx (beats counted from the first): a
 * gap of k periods @p counts k beats, a beat less than half a period after
 * the last knot is left out. Returns the number of knots. */
static size_t
tempo_map (MusaOnsetBpm * ob, const double *b, size_t n, double p)
{
  double *pos = ob->knot_pos, *idx = ob->knot_idx;
  size_t i, m = 0;

  for (i = 0; i < n; i++) {
    double k = m ? floor ((b[i] - pos[m - 1]) / p + 0.5) : 0.0;
    if (m && k < 1.0)
      continue;
    pos[m] = b[i];
    idx[m] = m ? idx[m - 1] + k : 0.0;
    m++;
  }
  return m;
}

/* Whether the beat period over some span of DRIFT_SPAN beats or more of
 * the tempo map (@m knots) is more than DRIFT_MIN off @p. */
static int
tempo_drifts (const MusaOnsetBpm * ob, size_t m, double p)
{
  const double *pos = ob->knot_pos, *idx = ob->knot_idx;
  size_t i, j = 0;

  for (i = 0; i < m; i++) {
    while (j < m && idx[j] - idx[i] < DRIFT_SPAN)
      j++;
    if (j == m)
      break;
    if (fabs ((pos[j] - pos[i]) / (idx[j] - idx[i]) / p - 1.0) > DRIFT_MIN)
      return 1;
  }
  return 0;
}

/* Input frame of steady-time position @s (beats after the first knot) by
 * the tempo map (@m >= 2 knots): linear between knots, beyond the last at
 * its last slope. @j: the knot to start looking from, updated (positions
 * asked for in increasing order). */
static double
map_frame (const MusaOnsetBpm * ob, size_t m, double s, size_t *j)
{
  const double *pos = ob->knot_pos, *idx = ob->knot_idx;

  while (*j + 2 < m && idx[*j + 1] < s)
    (*j)++;
  return pos[*j] + (s - idx[*j]) * (pos[*j + 1] - pos[*j]) /
      (idx[*j + 1] - idx[*j]);
}

/* The onset function played back at a steady tempo: frame u of the
 * returned array (*len frames, to be freed) is the input frame the tempo
 * map (@m >= 2 knots) puts u / @p beats after its first knot. NULL when out
 * of memory. */
static float *
steady_function (const MusaOnsetBpm * ob, size_t m, double p, size_t *len)
{
  double end = (double) ob->frames - 1.0, slope = INFINITY;
  size_t cap, j = 0, u;
  float *y;

  /* as long as the whole stream at the map's fastest stretch (fewest
   * frames per beat) */
  for (u = 1; u < m; u++) {
    double sl = (ob->knot_pos[u] - ob->knot_pos[u - 1]) /
        (ob->knot_idx[u] - ob->knot_idx[u - 1]);
    if (sl < slope)
      slope = sl;
  }
  cap = (size_t) ceil ((end - ob->knot_pos[0]) / slope * p) + 2;
  y = malloc (sizeof (float) * (cap ? cap : 1));
  if (y == NULL)
    return NULL;
  for (u = 0; u < cap; u++) {
    double x = map_frame (ob, m, (double) u / p, &j), f, v0, v1;
    int64_t k;
    if (x > end)
      break;
    k = (int64_t) floor (x);
    f = x - (double) k;
    /* (the padding frames read 0, as in the tempo pushed live) */
    v0 = k < ob->pad_frames ? 0.0 : musa_beat_value_at (ob->beat, k);
    v1 = k + 1 < ob->pad_frames ? 0.0 : musa_beat_value_at (ob->beat, k + 1);
    y[u] = (float) (v0 + f * (v1 - v0));
  }
  *len = u;
  return y;
}

/* The metrical level and the beats of a played tempo. The whole-stream
 * correlation of a tempo that drifts blurs each period's peak by the drift
 * times the lag: the longer periods (the beat, the bar) lose more than the
 * short ones, and the level can come out a subdivision, or 3:2 off in
 * compound time (a 12/8 ballad at 69 read as 104); and the beat tracker,
 * held to one period, lags behind the drift. Played back at the steady
 * tempo of the beats tracked at @p, the function correlates as a sequenced
 * one does: when its estimate is another level than @p, that level
 * replaces @out; the beats are tracked again on it and mapped back. */
static void
steady_level (MusaOnsetBpm * ob, double p, MusaTempoResult * out)
{
  size_t m = tempo_map (ob, ob->beats, ob->n_beats, p), len = 0, i, j = 0, k;
  MusaTempoResult w;
  MusaBeatConfig bc;
  float *y;

  if (m < 2 || !tempo_drifts (ob, m, p))
    return;
  y = steady_function (ob, m, p, &len);
  if (y == NULL)
    return;                     /* (out of memory: the drifting estimate) */
  musa_tempo_reset (ob->steady_tempo);
  for (i = 0; i < len; i++)
    musa_tempo_push (ob->steady_tempo, y[i], y[i]);
  musa_tempo_estimate (ob->steady_tempo, 1, &w);
  /* where two levels of one family are about equally salient there too,
   * the first answer stays (the live estimate's margin): without it the
   * steady function's coin flip between such levels moved 23 of the 600
   * drifting songs of seeds 1-3 (17 of them right before, 6 after) and a
   * time-stretched 8Beat at 169 BPM, steady but with hopping beats, to 85;
   * a 3:2 answer (the 12/8 ballad at 104) is never held */
  if (w.confidence > 0.0 && w.period > 0.0 && musa_tempo_related (w.period, p))
    musa_tempo_hold (ob->steady_tempo, 60.0 * ob->fps / p, 1.0 / TEMPO_MARGIN,
        &w);
  if (w.confidence > 0.0 && w.period > 0.0 && fabs (w.period / p - 1.0) > 0.04)
    *out = w;
  musa_beat_config_default (&bc, ob->fps);
  k = musa_beat_track_array (y, len, out->period, bc.tightness, ob->beats,
      ob->beats_cap);
  free (y);
  if (k == 0)
    return;                     /* (out of memory: the beats tracked at p) */
  for (i = 0; i < k; i++)
    ob->beats[i] = map_frame (ob, m, ob->beats[i] / p, &j);
  ob->n_beats = choose_phase (ob, ob->beats, k);
}

/* The beat arrays for the frames seen, at most max_beats each; 0 when out
 * of memory. A track of n frames gives at most n + 64 beats (distinct
 * frames, and the grid carried back to the start adds at most 64), the
 * steady function at most twice the frames (knots are at least half a
 * period apart), and choose_phase one more: 2 frames + 128 never cuts a
 * result short that max_beats would not. */
static int
beats_alloc (MusaOnsetBpm * ob)
{
  size_t want = 2 * (size_t) ob->frames + 128;

  if (want > ob->max_beats)
    want = ob->max_beats;
  if (ob->beats_cap >= want)
    return 1;
  free (ob->beats);
  free (ob->knot_pos);
  free (ob->knot_idx);
  ob->beats = malloc (sizeof (double) * want);
  ob->knot_pos = malloc (sizeof (double) * want);
  ob->knot_idx = malloc (sizeof (double) * want);
  ob->beats_cap = want;
  if (ob->beats == NULL || ob->knot_pos == NULL || ob->knot_idx == NULL) {
    free (ob->beats);
    free (ob->knot_pos);
    free (ob->knot_idx);
    ob->beats = ob->knot_pos = ob->knot_idx = NULL;
    ob->beats_cap = 0;
    return 0;
  }
  return 1;
}

int
musa_onsetbpm_finish (MusaOnsetBpm * ob, MusaOnsetBpmFunc func, void *user,
    MusaTempoResult * out)
{
  size_t i;

  if (ob == NULL) {
    if (out)
      memset (out, 0, sizeof (*out));
    return MUSA_ERR_INVALID;
  }
  if (ob->finished) {
    if (out)
      *out = ob->final;
    return MUSA_OK;
  }
  ob->finished = 1;
  if (out == NULL)
    out = &ob->final;
  ob->func = func;
  ob->user = user;
  musa_chord_change_finish (ob->chords);
  musa_onset_finish (ob->onset, on_frame, ob);
  ob->func = NULL;
  ob->user = NULL;
  musa_tempo_estimate (ob->tempo, 1, out);
  /* the stream's length, not the analysis frames' (they run over the
   * padding at its end) */
  out->seconds = (double) ob->samples / (ob->fps * ob->hop);
  ob->n_beats = 0;
  if (out->confidence > 0.0 && out->period > 0.0 && beats_alloc (ob)) {
    ob->n_beats = musa_beat_track (ob->beat, out->period, ob->beats,
        ob->beats_cap);
    ob->n_beats = choose_phase (ob, ob->beats, ob->n_beats);
    /* tracked beats give the tempo more precisely than the correlation,
     * and for a played tempo that swings they give its mean: the
     * whole-stream correlation peaks where the tempo dwells, near its
     * turning points (a +-6 % swing: Accuracy1 0.58 / 0.47 on seeds 1-2,
     * 0.80 / 0.73 from the beats). Within 10 % of the correlation's period,
     * so never another metrical level (the nearest is 4:3 away). */
    if (beats_period (ob, 0.1, out)) {
      steady_level (ob, out->period, out);
      /* (the beats tracked again there: the tempo follows them) */
      beats_period (ob, 0.04, out);
    }
    for (i = 0; i < ob->n_beats; i++)
      ob->beats[i] /= ob->fps;
  }
  ob->final = *out;
  return MUSA_OK;
}

size_t
musa_onsetbpm_beats (const MusaOnsetBpm * ob, const double **times)
{
  if (times)
    *times = ob ? ob->beats : NULL;
  return ob ? ob->n_beats : 0;
}

double
musa_onsetbpm_fps (const MusaOnsetBpm * ob)
{
  return ob ? ob->fps : 0.0;
}

int64_t
musa_onsetbpm_samples (const MusaOnsetBpm * ob)
{
  return ob ? ob->samples : 0;
}
