/* Minimal unit-test harness for libmusa. */
#include "musatest.h"

int musa_test_failures = 0;
const char *musa_test_current = "";
static int n_run, n_failed;

void
musa_test_run (const char *name, MusaTestFunc func)
{
  int before = musa_test_failures;

  musa_test_current = name;
  func ();
  n_run++;
  if (musa_test_failures != before) {
    n_failed++;
    printf ("not ok %d - %s\n", n_run, name);
  } else {
    printf ("ok %d - %s\n", n_run, name);
  }
  fflush (stdout);
}

int
musa_test_summary (void)
{
  printf ("1..%d\n# %d tests, %d failed\n", n_run, n_run, n_failed);
  return n_failed ? 1 : 0;
}
