/*
 * pipe_pingpong.c: twin of `context_switch --pingpong N` and of `perf bench sched pipe -l N`.
 * Two processes pass one byte back and forth through two pipes, N times: the parent writes to
 * pipe 1 and blocks reading pipe 2; the child blocks reading pipe 1 and writes to pipe 2.
 *
 * What the lecture wants you to see: every round trip is two context switches (each side
 * blocks once), so the time per round trip is what two switches cost, plus two tiny reads and
 * writes. Pinned to one CPU the switches are direct; across two CPUs each byte has to wake the
 * other CPU first, which costs far more, in a VM above all.
 *
 * Build: gcc -O2 -Wall -Wextra -o pipe_pingpong pipe_pingpong.c
 * Usage: pipe_pingpong [round_trips [parent_cpu child_cpu]]   (default 100000, not pinned)
 * Prints: round_trips = N, elapsed_ns = T, ns_per_round_trip = T/N
 */
#define _GNU_SOURCE
/* lecture.h's thread helpers are for the race programs; this one uses DIE, the clock and
 * pin_to_cpu. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "lecture.h"

#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	unsigned long n = argc > 1 ? parse_arg(argv[1], "round trips") : 100000;
	int parent_cpu = argc > 3 ? atoi(argv[2]) : -1, child_cpu = argc > 3 ? atoi(argv[3]) : -1;
	int to_child[2], to_parent[2], status;
	unsigned long long start, end;
	char byte = 'r';
	pid_t pid;

	DIE(pipe(to_child) != 0 || pipe(to_parent) != 0, "pipe");
	pid = fork();
	DIE(pid < 0, "fork");
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		if (child_cpu >= 0)
			pin_to_cpu(child_cpu);
		DIE(write(to_parent[1], &byte, 1) != 1, "write"); /* ready */
		for (unsigned long i = 0; i < n; i++) {
			/* read(pipe1); write(pipe2): block until the byte comes, send it back. */
			if (read(to_child[0], &byte, 1) != 1 || write(to_parent[1], &byte, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	if (parent_cpu >= 0)
		pin_to_cpu(parent_cpu);
	DIE(read(to_parent[0], &byte, 1) != 1, "read"); /* the child is in place */

	start = get_time_ns();
	for (unsigned long i = 0; i < n; i++) {
		/* write(pipe1); read(pipe2): send the byte, block until it comes back. */
		DIE(write(to_child[1], &byte, 1) != 1, "write");
		DIE(read(to_parent[0], &byte, 1) != 1, "read");
	}
	end = get_time_ns();

	DIE(waitpid(pid, &status, 0) != pid, "waitpid");
	DIE(!WIFEXITED(status) || WEXITSTATUS(status) != 0, "child");
	printf("round_trips = %lu\nelapsed_ns = %llu\nns_per_round_trip = %.1f\n", n, end - start,
	       (double)(end - start) / (double)n);
	return EXIT_SUCCESS;
}
