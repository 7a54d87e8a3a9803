/*
 * race_condition_mutex.c: the lecture's race_condition_mutex.c, twin of the Rust binary
 * race_condition_mutex: pthread_mutex_lock / ++var / pthread_mutex_unlock around every
 * increment. `race_condition_mutex --lock pthread` uses this very lock (glibc's
 * pthread_mutex_t); its default, std::sync::Mutex, is another futex lock.
 *
 * What the lecture wants you to see: var is exactly NUM_THREADS × NUM_STEPS, and this is the
 * slowest fix. A thread that finds the mutex taken sleeps in the kernel (a futex) and must be
 * woken, which costs system calls and context switches, far more than the one increment the
 * mutex protects.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition_mutex race_condition_mutex.c
 *        (-DLECTURE_START: no start gate; -DLOCK_OWN_LINE: var on a line of its own, not
 *        on the lock's; see lecture.h)
 * Usage: race_condition_mutex [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var OWN_LINE;
static pthread_mutex_t lock LOCK_LINE = PTHREAD_MUTEX_INITIALIZER;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	for (unsigned long i = 0; i < steps; ++i) {
		CHECK(pthread_mutex_lock(&lock));
		plus_plus(&var); /* ++var; */
		CHECK(pthread_mutex_unlock(&lock));
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, &lock, sizeof(lock));
}
