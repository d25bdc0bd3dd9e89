/* oscost: what the kernel charges here for the two things a Node event loop does most.
 *   oscost
 * Prints the wall time of one trivial system call (getppid, straight through syscall(2) so
 * no library caches it), of one minor page fault (a page discarded with MADV_DONTNEED and
 * touched again) and of one CLOCK_MONOTONIC read. In the UML guest every system call is a
 * round trip through the host's ptrace and a fault a host mapping change, and both vary
 * several-fold from day to day: the figures say what one avoided call or fault is worth in
 * this run. Output: key=value lines. */
#include "common.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGES 256

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
  const int calls = 20000;
  double t0 = now_ns();
  for (int i = 0; i < calls; i++) syscall(SYS_getppid);
  double syscall_ns = (now_ns() - t0) / calls;

  t0 = now_ns();
  for (int i = 0; i < calls; i++) now_ns();
  double clock_ns = (now_ns() - t0) / calls;

  const size_t size = (size_t)PAGES * 4096;
  volatile char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  const int rounds = 20;
  double fault_ns = 0;
  for (int r = 0; r < rounds; r++) {
    madvise((void *)p, size, MADV_DONTNEED);
    double a = now_ns();
    for (size_t o = 0; o < size; o += 4096) p[o] = 1;
    fault_ns += now_ns() - a;
  }
  fault_ns /= (double)rounds * PAGES;

  printf("syscall_us=%.2f\n", syscall_ns / 1000);
  printf("clock_read_us=%.2f\n", clock_ns / 1000);
  printf("minor_fault_us=%.2f\n", fault_ns / 1000);
  print_self_cpu();
  return 0;
}
