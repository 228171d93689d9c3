# libmusa effects: element-wise kernels (gain, clip, dry/wet mix).

.function musa_fx_orc_gain_f32
.dest 4 d1 float
.floatparam 4 p1
mulf d1, d1, p1

.function musa_fx_orc_drive_clip_f32
.dest 4 d1 float
.floatparam 4 p1
.floatparam 4 p2
.floatparam 4 p3
.temp 4 t
mulf t, d1, p1
maxf t, t, p2
minf d1, t, p3

.function musa_fx_orc_mix_f32
.dest 4 d1 float
.source 4 s1 float
.floatparam 4 p1
.floatparam 4 p2
.temp 4 w
.temp 4 d
mulf w, d1, p1
mulf d, s1, p2
addf d1, w, d
