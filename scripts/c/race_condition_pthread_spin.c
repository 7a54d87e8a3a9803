/*
 * race_condition_pthread_spin.c: the lecture's race_condition_spinlock.c as written:
 * pthread_spin_lock / ++var / pthread_spin_unlock. A reference row for scripts/bench.sh with
 * no Rust twin (the Rust race_condition_spinlock uses the slide's test-and-set, as
 * race_condition_spinlock.c does). glibc's pthread_spin_lock is test-and-test-and-set.
 *
 * What the lecture wants you to see: the same as race_condition_spinlock.c: var is exact, the
 * waiter spins on its CPU instead of sleeping, and for a critical section this short that
 * beats the mutex.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition_pthread_spin race_condition_pthread_spin.c
 *        (-DLECTURE_START: no start gate, see lecture.h)
 * Usage: race_condition_pthread_spin [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var;
static pthread_spinlock_t lock;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	/* As the lecture writes it, unchecked: glibc's spin lock and unlock always return 0. */
	for (unsigned long i = 0; i < steps; ++i) {
		pthread_spin_lock(&lock);
		plus_plus(&var); /* ++var; */
		pthread_spin_unlock(&lock);
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	CHECK(pthread_spin_init(&lock, PTHREAD_PROCESS_PRIVATE));
	return run_threads(argc, argv, increase_var, &var, (const void *)&lock, sizeof(lock));
}
