/*
 * race_condition_spinlock.c: the lecture's race_condition_spinlock.c with the slide's
 * spinlock, twin of the Rust binary race_condition_spinlock (oslab::spinlock::Spinlock). The
 * SAME algorithm as the Rust side: pure test-and-set (`xchg`), `pause` while it fails, no
 * test-before-test-and-set, no yield; unlock is a release store of 0:
 *     while (atomic_flag_test_and_set(&lock)) ;   ++var;   lock = 0;
 * The lecture's original uses pthread_spin_lock; that is race_condition_pthread_spin.c.
 *
 * What the lecture wants you to see: var is exactly NUM_THREADS × NUM_STEPS, and a waiter
 * never sleeps: it burns its CPU retrying the atomic exchange until the holder lets go. With a
 * critical section this short that is much faster than a mutex, but unfair: the thread that
 * just unlocked usually takes the lock again before the other notices it was free.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition_spinlock race_condition_spinlock.c
 *        (-DLECTURE_START: no start gate, see lecture.h)
 * Usage: race_condition_spinlock [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var;
static int lock; /* 0 = free, 1 = taken */

/* while (atomic_flag_test_and_set(&lock)) ;   Acquire: the previous holder's writes are visible. */
static inline void spin_lock(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

/* lock = 0;   Release: publishes the critical section's writes to the next holder. */
static inline void spin_unlock(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	for (unsigned long i = 0; i < steps; ++i) {
		spin_lock();
		plus_plus(&var); /* ++var; */
		spin_unlock();
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, &lock, sizeof(lock));
}
