/* spin: spare-CPU meter. Runs under SCHED_IDLE (it only gets the CPU nobody else wants) and
 * counts work units into a shared counter file, so the bench can read, over any window,
 * how much CPU was left over:  busy share = 1 - (units/s during) / (units/s when idle).
 * This does not depend on the guest's 100 Hz tick accounting, which is sampled and, with
 * paced traffic, correlated with the frames (so per-process CPU figures are unreliable
 * at low rates in User-Mode Linux).
 *   spin COUNTER_FILE      (runs until killed) */
#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: spin COUNTER_FILE\n");
    return 2;
  }
  struct sched_param sp = {0};
  if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0) perror("sched_setscheduler(SCHED_IDLE)");
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("counter file"); return 1; }
  volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (counter == MAP_FAILED) { perror("mmap"); return 1; }
  printf("READY\n");
  fflush(stdout);
  volatile uint32_t x = 1;
  for (;;) {
    for (int i = 0; i < 10000; i++) x = x * 1664525u + 1013904223u; /* ~10-20 us of work */
    (*counter)++;
  }
}
