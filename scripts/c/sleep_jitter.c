/*
 * sleep_jitter.c: twin of `sleep_jitter --mode absolute [--fifo PRIO] [--mlock]`, which is
 * cyclictest's method: absolute deadlines on CLOCK_MONOTONIC, next += interval, and the
 * overshoot of each wakeup past its deadline. With `dma`, it also holds /dev/cpu_dma_latency at
 * 0 as cyclictest does by default (`sleep_jitter --dma-latency 0`): idle CPUs poll instead of
 * halting, so no wakeup waits for its CPU to wake.
 *
 * What the lecture wants you to see: a sleep always ends late. With absolute deadlines the
 * lateness never adds up (the schedule cannot drift); SCHED_FIFO lets nothing normal run first
 * and gets no timer slack; mlockall keeps page faults out of the loop.
 *
 * Build: gcc -O2 -Wall -Wextra -o sleep_jitter sleep_jitter.c
 * Usage: sleep_jitter COUNT INTERVAL_US [FIFO_PRIO [mlock|-] [dma]]]   (FIFO_PRIO 0: SCHED_OTHER)
 * Prints: sleeps, min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns, mean_ns (one per line)
 */
#define _GNU_SOURCE
/* lecture.h's thread helpers are for the race programs; this one uses DIE and parse_arg. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "lecture.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The sample at quantile q of n sorted samples: the smallest with at least q·n at or below. */
static unsigned long long at(const unsigned long long *sorted, unsigned long n, double q)
{
	unsigned long rank = (unsigned long)(q * (double)n + 0.999999);

	return sorted[rank == 0 ? 0 : (rank > n ? n : rank) - 1];
}

int main(int argc, char *argv[])
{
	unsigned long count, interval_ns, prio = 0;
	unsigned long long *over, next, sum = 0;
	struct timespec ts;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: %s COUNT INTERVAL_US [FIFO_PRIO [mlock|- [dma]]]\n", argv[0]);
		return EXIT_FAILURE;
	}
	count = parse_arg(argv[1], "count");
	interval_ns = parse_arg(argv[2], "interval (us)") * 1000UL;
	if (argc > 3 && strcmp(argv[3], "0") != 0)
		prio = parse_arg(argv[3], "FIFO priority");
	if (argc > 4 && strcmp(argv[4], "mlock") == 0)
		DIE(mlockall(MCL_CURRENT | MCL_FUTURE) != 0, "mlockall");
	if (argc > 5 && strcmp(argv[5], "dma") == 0) {
		int zero = 0, qos = open("/dev/cpu_dma_latency", O_WRONLY); /* held open until exit */

		DIE(qos < 0 || write(qos, &zero, sizeof(zero)) != sizeof(zero), "/dev/cpu_dma_latency");
	}
	over = calloc(count, sizeof(*over));
	DIE(over == NULL, "calloc");
	if (prio > 0) {
		struct sched_param param = { .sched_priority = (int)prio };

		DIE(sched_setscheduler(0, SCHED_FIFO, &param) != 0, "sched_setscheduler");
	}

	next = get_time_ns() + interval_ns; /* CLOCK_MONOTONIC, the deadlines' clock */
	for (unsigned long i = 0; i < count; i++) {
		unsigned long long woke;

		ts.tv_sec = (time_t)(next / 1000000000ULL);
		ts.tv_nsec = (long)(next % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		woke = get_time_ns();
		over[i] = woke > next ? woke - next : 0;
		next += interval_ns; /* absolute: the error never adds up */
	}

	for (unsigned long i = 0; i < count; i++)
		sum += over[i];
	qsort(over, count, sizeof(*over), cmp_u64);
	printf("sleeps = %lu\nmin_ns = %llu\np50_ns = %llu\np90_ns = %llu\np99_ns = %llu\n"
	       "p999_ns = %llu\nmax_ns = %llu\nmean_ns = %.1f\n",
	       count, over[0], at(over, count, 0.50), at(over, count, 0.90), at(over, count, 0.99),
	       at(over, count, 0.999), over[count - 1], (double)sum / (double)count);
	free(over);
	return EXIT_SUCCESS;
}
