/*
 * spawn_cost.c: twin of the Rust binary spawn_cost for two of its operations: fork + wait
 * (the child calls _exit(0) at once) and pthread_create + pthread_join (the thread returns at
 * once). Each operation is timed on its own, COUNT times after WARMUP untimed runs, as the Rust
 * demo and lmbench's lat_proc fork do; the program prints the median (p50) and the mean.
 *
 * What the lecture wants you to see: a process is several times dearer to create than a
 * thread: fork copies the page tables and the file table, a thread only needs a stack.
 *
 * Placement is the caller's: `taskset -c 0 spawn_cost fork` runs the parent and every child on
 * CPU 0, as spawn_cost --placement pinned does.
 *
 * Build: gcc -O2 -pthread -Wall -Wextra -o spawn_cost spawn_cost.c
 * Usage: spawn_cost fork|thread [count]     (default: 1000 timed runs, after 20 untimed)
 * Prints `<op>: p50 %.1f us, mean %.1f us (%lu runs)`, `p50_ns = %llu`, `p10_ns`, `p90_ns` and
 * `above_mid` (the share of runs above the midpoint of p10 and p90) and `samples_ns` (every run,
 * sorted, comma-separated) for scripts/bench.sh;
 * for fork also what each fork has to copy, read from /proc/self just before the timed runs
 * (`mappings`, `rss_kib`, `anon_kib`, `page_tables_kib`: what spawn_cost's results.at_fork
 * reports), and the children's minor faults per run (wait4's rusage, as the Rust twin's
 * child_minflt_per_op).
 */
#include "lecture.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT 1000
#define WARMUP 20

static unsigned long long child_minflt;

static void *returns_at_once(void *arg)
{
	return arg;
}

/* fork(); the child _exit(0)s; wait4() (waitpid, with the child's faults). */
static unsigned long long fork_wait(void)
{
	unsigned long long start = get_time_ns();
	struct rusage usage;
	pid_t pid = fork();

	DIE(pid < 0, "fork");
	if (pid == 0)
		_exit(0);
	DIE(wait4(pid, NULL, 0, &usage) < 0, "wait4");
	child_minflt += (unsigned long long)usage.ru_minflt;
	return get_time_ns() - start;
}

/* The whole of a small /proc/self file into buf (no malloc: the heap stays as it is). */
static size_t read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	size_t len = 0;
	ssize_t n;

	DIE(fd < 0, path);
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return len;
}

/* A `Key:   N kB` line of /proc/self/status. */
static unsigned long status_kib(const char *status, const char *key)
{
	const char *at = strstr(status, key);

	return at ? strtoul(at + strlen(key), NULL, 10) : 0;
}

/* What a fork copies: the mappings (lines of /proc/self/maps), the resident and anonymous
 * memory and the page tables (/proc/self/status). */
static void print_footprint(void)
{
	static char buf[65536];
	unsigned long mappings = 0;
	size_t len = read_proc("/proc/self/maps", buf, sizeof(buf));

	for (size_t i = 0; i < len; i++)
		mappings += buf[i] == '\n';
	read_proc("/proc/self/status", buf, sizeof(buf));
	printf("mappings = %lu\nrss_kib = %lu\nanon_kib = %lu\npage_tables_kib = %lu\n", mappings,
	       status_kib(buf, "VmRSS:"), status_kib(buf, "RssAnon:"), status_kib(buf, "VmPTE:"));
}

/* pthread_create(); the thread returns; pthread_join(). */
static unsigned long long thread_join(void)
{
	unsigned long long start = get_time_ns();
	pthread_t tid;

	CHECK(pthread_create(&tid, NULL, returns_at_once, NULL));
	CHECK(pthread_join(tid, NULL));
	return get_time_ns() - start;
}

static int by_value(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
	unsigned long count = COUNT, i;
	unsigned long long (*op)(void), *samples, sum = 0, p50, p10, p90;
	unsigned long above = 0;

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "fork") && strcmp(argv[1], "thread"))) {
		fprintf(stderr, "usage: %s fork|thread [count]\n", argv[0]);
		return EXIT_FAILURE;
	}
	op = strcmp(argv[1], "fork") == 0 ? fork_wait : thread_join;
	if (argc > 2)
		count = parse_arg(argv[2], "count");
	samples = calloc(count, sizeof(*samples));
	DIE(samples == NULL, "calloc");

	if (op == fork_wait)
		print_footprint();
	for (i = 0; i < WARMUP; i++)
		op();
	child_minflt = 0;
	for (i = 0; i < count; i++) {
		samples[i] = op();
		sum += samples[i];
	}
	qsort(samples, count, sizeof(*samples), by_value);
	/* The median as hdrhistogram's value_at_quantile(0.5) takes it: the ceil(n/2)-th value. */
	p50 = samples[(count + 1) / 2 - 1];
	printf("%s: p50 %.1f us, mean %.1f us (%lu runs)\n", argv[1], p50 / 1e3,
	       (double)sum / count / 1e3, count);
	printf("p50_ns = %llu\n", p50);
	/* The ceil(q·n)-th smallest, as the p50: the two ends of a distribution with two modes
	 * (unpinned, the child or thread runs on this CPU or on the other one). */
	p10 = samples[(count * 10 + 99) / 100 - 1];
	p90 = samples[(count * 90 + 99) / 100 - 1];
	for (i = 0; i < count; i++)
		above += samples[i] > (p10 + p90) / 2;
	/* and the share of runs above the midpoint of the two: the slow mode's share */
	printf("p10_ns = %llu\np90_ns = %llu\nabove_mid = %.3f\n", p10, p90, (double)above / count);
	/* every run, sorted, for the bench to split the two modes as it splits the Rust samples */
	printf("samples_ns = ");
	for (i = 0; i < count; i++)
		printf(i ? ",%llu" : "%llu", samples[i]);
	printf("\n");
	if (op == fork_wait)
		printf("child_minflt_per_op = %.1f\n", (double)child_minflt / count);
	free(samples);
	return EXIT_SUCCESS;
}
