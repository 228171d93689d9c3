/* Minimal unit-test harness for libmusa (no GLib): each test is a function;
 * CHECK records a failure with its location and goes on. */
#ifndef MUSA_TEST_H
#define MUSA_TEST_H

#include <stdio.h>

extern int musa_test_failures;
extern const char *musa_test_current;

#define CHECK(cond, ...) do { \
    if (!(cond)) { \
      musa_test_failures++; \
      fprintf (stderr, "FAIL %s (%s:%d): %s: ", musa_test_current, \
          __FILE__, __LINE__, #cond); \
      fprintf (stderr, __VA_ARGS__); \
      fprintf (stderr, "\n"); \
    } \
  } while (0)

typedef void (*MusaTestFunc) (void);

/* Runs one test, prints "ok"/"not ok" lines (TAP-like). */
void musa_test_run (const char *name, MusaTestFunc func);
/* 0 when every test passed, 1 otherwise; prints a summary. */
int musa_test_summary (void);

#endif
