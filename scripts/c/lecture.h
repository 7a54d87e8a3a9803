/*
 * lecture.h: the plumbing shared by the lecture's race and granularity programs in this folder
 * (the lecture keeps the same in its utils/ folder: get_time.h and the DIE macro), so that each
 * .c file holds only what the lecture wants the student to read: `static int var;`, its lock if
 * any, its increment and its thread function.
 *
 * The process programs (cow_overhead.c, spawn_cost.c) include it for DIE, CHECK, get_time_ns()
 * and parse_arg() only; the race machinery below is then unused (and inline, so no warning).
 *
 * What is here:
 *   DIE(assertion, what)      the lecture's error check: message, perror, exit.
 *   CHECK(call)               DIE for the pthread calls, which return an error number.
 *   get_time_ns()             CLOCK_MONOTONIC in ns (get_time.h's clock, in ns, not ms).
 *   plus_plus(&var)           `++var` as three steps: load, add, store (see below).
 *   OWN_LINE                  nothing, or with -DLOCK_OWN_LINE a cache line of its own.
 *   NUM_THREADS, NUM_STEPS    the lecture's sizes (defaults: the race programs' 2 × 1000000).
 *                             Each thread gets its steps as its argument (in a register in
 *                             the loop, as the Rust side's `steps` parameter is).
 *   parse_arg(s, what)        a positive integer from the command line, or exit.
 *   run_threads(...)          the lecture's main: parse `prog [threads [steps]]`, start the
 *                             clock, create the threads, join them, stop the clock, print
 *                             `var = %d; time = %lu ms`, `elapsed_ns = %llu`, and
 *                             where each thread ran (`cpu_start = 0 1`, `cpu_end = 0 1`).
 *   START_DELAY_US            (-D, for the bench only) wait this long before the window.
 *
 * The start gate. The lecture's threads start working as soon as pthread_create returns, one
 * by one; creating a thread takes tens of microseconds, so on 2 CPUs the first thread may do
 * much (or all) of its work before the second exists: the "contended" run is then partly or
 * wholly serial, and it loses fewer updates and runs faster than two threads that really
 * overlap. The Rust twins (src/demos/synchronisation/race.rs on src/sync/gate.rs, `StartGate`)
 * start their workers behind a gate that the main thread opens once every thread has arrived
 * at it (is running and waiting there), not merely once it exists: on a VM whose second CPU
 * is idle, a thread that exists may not run for a while. For a like-for-like comparison
 * (scripts/bench.sh), these programs do the same by default, with the same algorithm: each
 * thread counts itself in and spins until the gate reads OPEN (an acquire load, paired with the
 * main thread's release store), moving over when it shares a CPU with another waiter; the main
 * thread sleeps until every thread has arrived and spins on a CPU of its own (see
 * src/sync/gate.rs for why), then opens it. The gate's wait is inside the timed
 * window on both sides. Build with -DLECTURE_START for the lecture's original start (no gate).
 */
#ifndef LECTURE_H
#define LECTURE_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The lecture's DIE: if the assertion holds, say where and why, and exit. */
#define DIE(assertion, what)                                                    \
	do {                                                                    \
		if (assertion) {                                                \
			fprintf(stderr, "(%s, %d): ", __FILE__, __LINE__);      \
			perror(what);                                           \
			exit(EXIT_FAILURE);                                     \
		}                                                               \
	} while (0)

/* pthread_* return the error number instead of setting errno. */
#define CHECK(call)                                                             \
	do {                                                                    \
		int check_rc_ = (call);                                         \
		if (check_rc_ != 0) {                                           \
			errno = check_rc_;                                      \
			DIE(1, #call);                                          \
		}                                                               \
	} while (0)

/* get_time.h: the monotonic clock, here in nanoseconds. */
static inline unsigned long long get_time_ns(void)
{
	struct timespec ts;

	DIE(clock_gettime(CLOCK_MONOTONIC, &ts) != 0, "clock_gettime");
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/*
 * ++var as three steps. The lecture writes a plain `++var`, but at -O2 gcc folds a loop of
 * plain `++var` into one `add $NUM_STEPS` (nothing tells it another thread reads var), so the
 * loop would vanish and, unprotected, nothing could be lost. A relaxed atomic load, then a
 * separate relaxed atomic store, keeps the load / add / store of the lecture's -O0 build on
 * every iteration: each access is atomic, the pair is not. This is exactly what the Rust side
 * does (AtomicI32 relaxed load + relaxed store, oslab::race::Var::add); on x86 both compile to
 * plain `mov`s, with no fence and no lock prefix.
 */
static inline void plus_plus(int *v)
{
	int old = __atomic_load_n(v, __ATOMIC_RELAXED);

	__atomic_store_n(v, old + 1, __ATOMIC_RELAXED);
}

/*
 * The lecture's sizes: 2 threads × 1000000 steps for the race programs; granularity.c defines
 * its own (10 × 2000000) before including this file. Both can be changed on the command line.
 */
#ifndef NUM_THREADS
#define NUM_THREADS 2
#endif
#ifndef NUM_STEPS
#define NUM_STEPS 1000000
#endif

/*
 * Where var and the mutex sit. `static pthread_mutex_t lock; static int var;`: gcc and ld put
 * them side by side in .bss, lock first, var 40 bytes after it (the size of a pthread_mutex_t).
 * Where the pair falls against the 64-byte cache lines is luck: in this folder's build the lock
 * started a line and var shared it, until one more libc function in lecture.h (a longer PLT)
 * moved .bss by 8 bytes and both by 32: the lock's word then sat on one line and var on the
 * next. So the mutex twins fix the lecture's layout: LOCK_LINE starts the lock on a line of its
 * own and var follows it on the same line, as the Rust twins' --lock std and --lock pthread
 * have it (lock and var in one 64-byte-aligned struct). Under contention that matters: the
 * holder's `++var` and the waiters' attempts on the lock fight over one line. With
 * -DLOCK_OWN_LINE var gets a line of its own too (OWN_LINE), and the contended programs can
 * run up to 2× faster. run_threads prints the layout it got (`lock_bytes`, `var_minus_lock`,
 * `same_line`), and scripts/bench.sh prints both sides' layout.
 */
#define LOCK_LINE __attribute__((aligned(64)))
#ifdef LOCK_OWN_LINE
#define OWN_LINE __attribute__((aligned(64)))
#else
#define OWN_LINE
#endif

/* ---- the start gate (see the top of this file) ------------------------------------------ */
#include <sys/syscall.h>
#include <unistd.h>

#define GATE_MAX 1024

static unsigned long current_cpu_plus_one(void)
{
	unsigned int cpu;

	return syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 ? cpu + 1UL : 0;
}

#ifndef LECTURE_START
enum { GATE_WAIT, GATE_OPEN };
static unsigned char start_gate = GATE_WAIT;
static unsigned long arrived, gate_threads, gate_spread;
static unsigned long gate_cpu[GATE_MAX];  /* each waiter's CPU + 1, 0: not known yet */
static unsigned long gate_beat[GATE_MAX]; /* each waiter's heartbeat */

/* How many different CPUs the waiters are on (as StartGate::cpus_in_use). */
static unsigned long gate_cpus_in_use(void)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < gate_threads && i < GATE_MAX; i++) {
		unsigned long c = __atomic_load_n(&gate_cpu[i], __ATOMIC_RELAXED), seen = 0;

		for (unsigned long j = 0; j < i && c != 0; j++)
			seen |= __atomic_load_n(&gate_cpu[j], __ATOMIC_RELAXED) == c;
		n += c != 0 && !seen;
	}
	return n;
}

/* As StartGate::wait: arrive; then, until the gate is open, say where we run, sleep 100 µs
 * when another waiter shares our CPU (to be placed again on waking), else spin (no pause: KVM
 * would deschedule a pausing vCPU), yielding when there are more waiters than CPUs. */
static void wait_for_start(void)
{
	unsigned long slot = __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
	struct timespec move_over = { 0, 100000 };

	while (__atomic_load_n(&start_gate, __ATOMIC_ACQUIRE) != GATE_OPEN) {
		unsigned long cpu = current_cpu_plus_one(), shared = 0;

		if (slot >= GATE_MAX)
			continue;
		__atomic_store_n(&gate_cpu[slot], cpu, __ATOMIC_RELAXED);
		for (unsigned long i = 0; i < gate_threads && i < GATE_MAX; i++)
			shared |= i != slot && __atomic_load_n(&gate_cpu[i], __ATOMIC_RELAXED) == cpu;
		if (cpu != 0 && shared && gate_cpus_in_use() < gate_spread) {
			nanosleep(&move_over, NULL);
			continue;
		}
		__atomic_add_fetch(&gate_beat[slot], 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) > gate_spread)
			sched_yield();
	}
}

/* As StartGate::open: sleeping 50 µs at a time, wait until all `threads` have arrived (at most
 * 2 s) and are spinning on CPUs of their own (at most 20 ms more), then let them all go. */
static void open_gate(unsigned long threads)
{
	unsigned long long started = get_time_ns(), all_arrived = 0;
	unsigned long before[GATE_MAX] = { 0 };
	struct timespec nap = { 0, 50000 };

	while (1) {
		int running = 1;

		nanosleep(&nap, NULL);
		for (unsigned long i = 0; i < threads && i < GATE_MAX; i++) {
			unsigned long now = __atomic_load_n(&gate_beat[i], __ATOMIC_RELAXED);

			running &= now > before[i];
			before[i] = now;
		}
		if (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) >= threads) {
			if (all_arrived == 0)
				all_arrived = get_time_ns();
			if ((running && gate_cpus_in_use() >= gate_spread) ||
			    get_time_ns() - all_arrived >= 20000000ULL)
				break;
		} else if (get_time_ns() - started >= 2000000000ULL) {
			break;
		}
	}
	__atomic_store_n(&start_gate, GATE_OPEN, __ATOMIC_RELEASE);
}

/* Before the threads are created: how many, and on how many CPUs they should sit. */
static void close_gate(unsigned long threads)
{
	/* The CPUs this process may use (its affinity mask, as StartGate counts usable_cpus():
	 * under `taskset -c 0` one, so the gate does not wait for a second CPU it cannot have). */
	unsigned long mask[16] = { 0 };
	long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask), cpus = 0;

	for (long i = 0; i < bytes / (long)sizeof(mask[0]); i++)
		cpus += __builtin_popcountl(mask[i]);
	gate_threads = threads;
	gate_spread = threads < (unsigned long)(cpus > 0 ? cpus : 1) ? threads : (unsigned long)cpus;
}
#else
static void wait_for_start(void) {}
static void open_gate(unsigned long threads) { (void)threads; }
static void close_gate(unsigned long threads) { (void)threads; }
#endif

static void *(*thread_fn)(void *);

/* Each thread's argument: its steps for the lecture's thread function, and where it ran, as
 * the Rust twins record it (results.trials[0].threads[].cpu_start and cpu_end): its CPU + 1
 * when it left the gate and when its loop ended (0: not known). On the heap, so the statics
 * stay the lecture's alone (`lock` and `var` where the lecture's build puts them). */
struct thread_slot {
	unsigned long steps, cpu_start, cpu_end;
};

/* Every thread starts here: wait at the gate, then run the lecture's thread function. */
static void *gated_start(void *arg)
{
	struct thread_slot *slot = arg;
	void *ret;

	wait_for_start();
	slot->cpu_start = current_cpu_plus_one();
	ret = thread_fn((void *)(uintptr_t)slot->steps);
	slot->cpu_end = current_cpu_plus_one();
	return ret;
}

/* `cpu_start = 0 1` and `cpu_end = 0 1`: each thread's CPU (? when not known), for
 * scripts/bench.sh, which splits a row by placement when placement decides the time. */
static void print_cpus(const char *what, const struct thread_slot *slots, unsigned long n,
		       int end)
{
	printf("%s =", what);
	for (unsigned long i = 0; i < n; i++) {
		unsigned long cpu = end ? slots[i].cpu_end : slots[i].cpu_start;

		if (cpu == 0)
			printf(" ?");
		else
			printf(" %lu", cpu - 1);
	}
	printf("\n");
}

static unsigned long parse_arg(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || s[0] == '-') {
		fprintf(stderr, "invalid %s: %s (want a positive integer)\n", what, s);
		exit(EXIT_FAILURE);
	}
	return v;
}

/*
 * The lecture's main: `prog [threads [steps]]` (defaults NUM_THREADS × NUM_STEPS), then the
 * timed window: create the threads, each running fn with its steps as the argument, (open the
 * gate,) join them. Prints var and the window: `var = %d; time = %lu ms` (the lecture's line)
 * and `elapsed_ns = %llu`, the same window in ns, for scripts/bench.sh.
 */
static inline int run_threads(int argc, char *argv[], void *(*fn)(void *), const int *var,
			      const void *lock, size_t lock_bytes)
{
	unsigned long num_threads = NUM_THREADS, num_steps = NUM_STEPS;
	unsigned long long start, end;
	pthread_t *tids;
	struct thread_slot *slots;

	if (argc > 3) {
		fprintf(stderr, "usage: %s [threads [steps]]\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (argc > 1)
		num_threads = parse_arg(argv[1], "threads");
	if (argc > 2)
		num_steps = parse_arg(argv[2], "steps");
	if (num_threads > 1024 || num_steps > (unsigned long)INT_MAX / num_threads) {
		fprintf(stderr, "threads must be <= 1024 and threads × steps must fit in var (an int)\n");
		return EXIT_FAILURE;
	}
	thread_fn = fn;
	tids = calloc(num_threads, sizeof(*tids));
	slots = calloc(num_threads, sizeof(*slots));
	DIE(tids == NULL || slots == NULL, "calloc");

#ifdef START_DELAY_US
	/* Not the lecture's: for scripts/bench.sh's question only. The Rust demos create their
	 * threads a millisecond or two after exec (argument parsing, /proc reads); built with
	 * -DSTART_DELAY_US=N, this program waits N µs before its window, as late as they do. */
	{
		struct timespec delay = { START_DELAY_US / 1000000, START_DELAY_US % 1000000 * 1000L };

		nanosleep(&delay, NULL);
	}
#endif
	close_gate(num_threads);
	start = get_time_ns();
	for (unsigned long i = 0; i < num_threads; i++) {
		slots[i].steps = num_steps;
		CHECK(pthread_create(&tids[i], NULL, gated_start, &slots[i]));
	}
	open_gate(num_threads);
	for (unsigned long i = 0; i < num_threads; i++)
		CHECK(pthread_join(tids[i], NULL));
	end = get_time_ns();

	printf("var = %d; time = %lu ms\n", *var, (unsigned long)((end - start) / 1000000ULL));
	printf("elapsed_ns = %llu\n", end - start);
	if (lock != NULL) {
		uintptr_t l = (uintptr_t)lock, v = (uintptr_t)var;

		printf("lock_bytes = %zu\nvar_minus_lock = %ld\nsame_line = %d\n", lock_bytes,
		       (long)(v - l), (int)(l / 64 == v / 64));
	}
	print_cpus("cpu_start", slots, num_threads, 0);
	print_cpus("cpu_end", slots, num_threads, 1);
	free(slots);
	free(tids);
	return EXIT_SUCCESS;
}

/* ---- for the scheduling twins (pipe_pingpong.c, sleep_jitter.c) ------------------------- */

#ifdef CPU_SET /* with _GNU_SOURCE, defined before the first #include */
/* sched_setaffinity to one CPU: taskset -c CPU for the calling process. */
static inline void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	DIE(sched_setaffinity(0, sizeof(set), &set) != 0, "sched_setaffinity");
}
#endif

/* For qsort: ascending unsigned 64-bit values. */
static inline int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

#endif /* LECTURE_H */
