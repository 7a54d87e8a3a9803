/*
 * granularity.c: the lecture's granularity.c (compute/lecture/demo/granularity), built twice
 * as the lecture does: -DCOARSE_GRAINED gives coarse_granularity (one mutex held around each
 * thread's whole loop), -DFINE_GRAINED gives fine_granularity (the mutex taken around every
 * increment). Twins of the Rust binaries of the same names; `--lock pthread` there uses this
 * very lock (glibc's pthread_mutex_t).
 *
 * What the lecture wants you to see: the same result, very different costs. Coarse is fast but
 * only because the threads run one after another: each takes the lock once, does its steps and
 * leaves; few context switches, no parallelism. Fine lets the threads interleave, but the lock
 * changes hands constantly and every thread that finds it taken sleeps in the kernel and must
 * be woken: many times slower, and the context switches (perf stat -e context-switches) say
 * why.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -DCOARSE_GRAINED -o coarse_granularity granularity.c
 *        gcc -O2 -pthread -Wall -Wextra -DFINE_GRAINED -o fine_granularity granularity.c
 *        (-DLECTURE_START: no start gate; -DLOCK_OWN_LINE: var on a line of its own, not
 *        on the lock's; see lecture.h)
 * Usage: coarse_granularity|fine_granularity [threads [steps]]   (defaults: 10 × 2000000)
 */
#if defined(COARSE_GRAINED) == defined(FINE_GRAINED)
#error "define exactly one of COARSE_GRAINED and FINE_GRAINED"
#endif

#define NUM_THREADS 10
#define NUM_STEPS 2000000
#include "lecture.h"

static int var OWN_LINE;
static pthread_mutex_t lock LOCK_LINE = PTHREAD_MUTEX_INITIALIZER;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

#ifdef COARSE_GRAINED
	/* One critical section around the whole loop: the threads run one after another. */
	CHECK(pthread_mutex_lock(&lock));
	for (unsigned long i = 0; i < steps; ++i)
		plus_plus(&var); /* ++var; */
	CHECK(pthread_mutex_unlock(&lock));
#else
	/* One critical section per increment: the lock changes hands constantly. */
	for (unsigned long i = 0; i < steps; ++i) {
		CHECK(pthread_mutex_lock(&lock));
		plus_plus(&var); /* ++var; */
		CHECK(pthread_mutex_unlock(&lock));
	}
#endif
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, &lock, sizeof(lock));
}
