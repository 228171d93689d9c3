# libmusa core kernels (see STYLE.md: ORC for element-wise float work only;
# reductions and logs stay in plain C).

.function musa_orc_mul_f32
.dest 4 d1 float
.source 4 s1 float
.source 4 s2 float
mulf d1, s1, s2

.function musa_orc_scale_f32
.dest 4 d1 float
.source 4 s1 float
.floatparam 4 p1
mulf d1, s1, p1

.function musa_orc_power_spectrum_f32
.dest 4 d1 float
.source 8 s1 float
.temp 8 sq
.temp 4 re
.temp 4 im
x2 mulf sq, s1, s1
splitql im, re, sq
addf d1, re, im

.function musa_orc_magnitude_spectrum_f32
.dest 4 d1 float
.source 8 s1 float
.temp 8 sq
.temp 4 re
.temp 4 im
.temp 4 p
x2 mulf sq, s1, s1
splitql im, re, sq
addf p, re, im
sqrtf d1, p

.function musa_orc_downmix_stereo_f32
.dest 4 d1 float
.source 8 s1 float
.temp 4 l
.temp 4 r
.temp 4 t
.floatparam 4 p1
splitql r, l, s1
addf t, l, r
mulf d1, t, p1

.function musa_orc_s16_to_f32
.dest 4 d1 float
.source 2 s1 int16_t
.floatparam 4 p1
.temp 4 t
.temp 4 f
convswl t, s1
convlf f, t
mulf d1, f, p1

.function musa_orc_s32_to_f32
.dest 4 d1 float
.source 4 s1 int32_t
.floatparam 4 p1
.temp 4 f
convlf f, s1
mulf d1, f, p1
