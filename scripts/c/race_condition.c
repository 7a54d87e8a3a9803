/*
 * race_condition.c: the lecture's race_condition.c (compute/lecture/demo/race-condition), twin
 * of the Rust binary race_condition. NUM_THREADS threads each run `++var` NUM_STEPS times with
 * nothing protecting it.
 *
 * What the lecture wants you to see: var ends below NUM_THREADS × NUM_STEPS, and by a
 * different amount on every run. `++var` is three instructions (load, add, store); when two
 * threads run them at the same time on two CPUs, one overwrites the other's update. On one
 * CPU (taskset -c 0) nothing is lost: a thread is rarely preempted inside those three steps.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o race_condition race_condition.c
 *        (-DLECTURE_START: no start gate, see lecture.h)
 * Usage: race_condition [threads [steps]]     (defaults: 2 × 1000000, the lecture's)
 */
#include "lecture.h"

static int var;

static void *increase_var(void *arg)
{
	const unsigned long steps = (uintptr_t)arg; /* NUM_STEPS, or argv[2] */

	for (unsigned long i = 0; i < steps; ++i)
		plus_plus(&var); /* ++var; */
	return NULL;
}

int main(int argc, char *argv[])
{
	return run_threads(argc, argv, increase_var, &var, NULL, 0);
}
