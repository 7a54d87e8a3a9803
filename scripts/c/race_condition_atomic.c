/*
 * race_condition_atomic.c: the lecture's race_condition_atomic_gcc.c, twin of the Rust binary
 * race_condition_atomic. Each `++var` is one atomic read-modify-write: C11's atomic_fetch_add
 * is sequentially consistent, written here with the gcc builtin on the plain `static int var`
 * (`lock add`, as the result is unused). Rust: AtomicI32::fetch_add(1, SeqCst).
 *
 * What the lecture wants you to see: var is exactly NUM_THREADS × NUM_STEPS. The `lock`
 * prefix makes the load, add and store one indivisible step (the CPU holds the cache line
 * for the whole of it), so no update is lost, at the cost of moving that line between the
 * CPUs on every increment. No lock and no sleeping: the cheapest correct fix.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition_atomic race_condition_atomic.c
 *        (-DLECTURE_START: no start gate, see lecture.h)
 * Usage: race_condition_atomic [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	for (unsigned long i = 0; i < steps; ++i)
		__atomic_fetch_add(&var, 1, __ATOMIC_SEQ_CST); /* atomic_fetch_add(&var, 1); */
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, NULL, 0);
}
