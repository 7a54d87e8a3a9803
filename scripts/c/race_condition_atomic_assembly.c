/*
 * race_condition_atomic_assembly.c: the lecture's race_condition_atomic_assembly.c, twin of
 * the Rust binary race_condition_atomic_assembly. The atomic increment written as the x86
 * instruction itself: `lock incl var` (Rust: oslab::sys::lock_inc, the same asm).
 *
 * What the lecture wants you to see: what atomic_fetch_add is underneath. One instruction
 * with the `lock` prefix; var is exactly NUM_THREADS × NUM_STEPS, and the time is the same as
 * race_condition_atomic's: the compiler emitted this very instruction there.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition_atomic_assembly race_condition_atomic_assembly.c
 *        (-DLECTURE_START: no start gate, see lecture.h)
 * Usage: race_condition_atomic_assembly [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	for (unsigned long i = 0; i < steps; ++i)
		asm volatile("lock incl %0" : "+m"(var));
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, NULL, 0);
}
