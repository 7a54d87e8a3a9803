/*
 * cow_overhead.c: the lecture's copy_on_write_overhead.c (compute/lecture/demo/copy-on-write),
 * twin of the Rust binary cow_overhead. The parent touches one byte of every page of an
 * NPAGES-page mapping and forks; the child times reading one byte per page, then writing one.
 *
 * What the lecture wants you to see: after fork the pages are shared; reading them costs no
 * fault, and the first write to each page faults once (copy-on-write: the kernel copies the
 * page for the child). /proc/PID/stat field 10 grows by NPAGES during the write.
 *
 * Differences from the lecture's file, the same as in the Rust twin: the memory is an
 * anonymous private mmap with MADV_NOHUGEPAGE (malloc gives the same mapping for 512 MiB; the
 * advice keeps it to 4 KiB pages, so there is one fault per page as the lecture counts), the
 * clock is CLOCK_MONOTONIC in ns, the accesses are volatile (at -O2 gcc would drop the lecture's
 * read loop, whose result is unused), there are no ENTER prompts, and the child also prints
 * `read_ns = %llu` and `write_ns = %llu` for scripts/bench.sh.
 *
 * Build: gcc -O2 -Wall -Wextra -o cow_overhead cow_overhead.c
 * Usage: cow_overhead [pages]     (default: 131072, the lecture's NPAGES)
 */
#include "lecture.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPAGES (128 * 1024)

int main(int argc, char *argv[])
{
	unsigned long npages = NPAGES, page_size = getpagesize(), i;
	unsigned long long start, read_ns, write_ns;
	volatile char *mem;
	char c = 0;
	pid_t pid;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [pages]\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (argc > 1)
		npages = parse_arg(argv[1], "pages");

	mem = mmap(NULL, npages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	DIE(mem == MAP_FAILED, "mmap");
	DIE(madvise((void *)mem, npages * page_size, MADV_NOHUGEPAGE) != 0, "madvise");

	/* Demand all pages now, in the parent. */
	for (i = 0; i < npages; i++)
		mem[i * page_size] = 'a';

	pid = fork();
	DIE(pid < 0, "fork");
	if (pid == 0) {
		start = get_time_ns();
		for (i = 0; i < npages; i++)
			c += mem[i * page_size];
		read_ns = get_time_ns() - start;
		printf("Time for reading %lu pages: %llu ms\n", npages, read_ns / 1000000ULL);

		start = get_time_ns();
		for (i = 0; i < npages; i++)
			mem[i * page_size] = c + 1; /* copy-on-write: one fault per page */
		write_ns = get_time_ns() - start;
		printf("Time for writing to %lu pages: %llu ms\n", npages, write_ns / 1000000ULL);
		printf("read_ns = %llu\nwrite_ns = %llu\n", read_ns, write_ns);
		exit(EXIT_SUCCESS);
	}

	DIE(waitpid(pid, NULL, 0) < 0, "waitpid");
	return 0;
}
