/* canpgen: paced CAN frame generator.
 *   canpgen IFACE COUNT RATE [CANID_HEX|-] [JITTER]
 * Sends COUNT extended frames (VSCP Level I id; default class 20 type 3, prio 3) of 8 bytes
 * (seq + CLOCK_MONOTONIC send time, see common.h). RATE frames/s; 0 = as fast as the
 * kernel takes them. Paced with absolute clock_nanosleep to t0 + i/RATE (late frames go
 * at once, so the average rate holds). JITTER 1 sends frame i at a uniformly random point of
 * its slot, t0 + (i + u)/RATE: the guest samples CPU on a 10 ms tick, and a strictly periodic
 * generator keeps one phase against that tick for a whole run, which biases the sample
 * differently in every run. ENOBUFS (queue full) is retried after poll/100 us.
 * The socket has an empty receive filter: the generator reads nothing.
 * Output: key=value lines. */
#include "common.h"

#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: canpgen IFACE COUNT RATE [CANID_HEX]\n");
    return 2;
  }
  const char *ifname = argv[1];
  long count = arg_long(argv[2], "count");
  long rate = arg_long(argv[3], "rate");
  uint32_t canid = argc > 4 && strcmp(argv[4], "-") != 0 ? (uint32_t)strtoul(argv[4], NULL, 16)
                                                         : ((3u << 26) | (20u << 16) | (3u << 8) | 1u);
  int jitter = argc > 5 && arg_long(argv[5], "jitter") != 0;
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ now_us(); /* xorshift64; any seed but 0 */

  int s = open_can(ifname);
  if (s < 0) return 1;
  setsockopt(s, SOL_CAN_RAW, CAN_RAW_FILTER, NULL, 0); /* receive nothing */

  struct can_frame f;
  memset(&f, 0, sizeof f);
  f.can_id = (canid & CAN_EFF_MASK) | CAN_EFF_FLAG;
  f.can_dlc = 8;
  long enobufs = 0, late = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t start = now_us();
  for (long i = 0; i < count; i++) {
    if (rate > 0) {
      uint64_t off_ns = (uint64_t)i * 1000000000ull / (uint64_t)rate;
      if (jitter) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        off_ns += (rng >> 11) % (1000000000ull / (uint64_t)rate);
      }
      struct timespec due = t0;
      due.tv_sec += off_ns / 1000000000ull;
      due.tv_nsec += off_ns % 1000000000ull;
      if (due.tv_nsec >= 1000000000L) { due.tv_sec++; due.tv_nsec -= 1000000000L; }
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec < due.tv_sec || (now.tv_sec == due.tv_sec && now.tv_nsec < due.tv_nsec))
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
      else
        late++;
    }
    put_u32(f.data, (uint32_t)i);
    for (;;) {
      put_u32(f.data + 4, (uint32_t)now_us());
      ssize_t w = write(s, &f, sizeof f);
      if (w == (ssize_t)sizeof f) break;
      if (w < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
        enobufs++;
        struct pollfd p = {s, POLLOUT, 0};
        poll(&p, 1, 1);
        if (errno == ENOBUFS) usleep(100);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      perror("write");
      return 1;
    }
  }
  uint64_t elapsed = now_us() - start;
  printf("sent=%ld\n", count);
  printf("elapsed_us=%llu\n", (unsigned long long)elapsed);
  printf("rate_fps=%.0f\n", elapsed ? count * 1e6 / (double)elapsed : 0.0);
  printf("enobufs=%ld\n", enobufs);
  printf("late=%ld\n", late);
  print_self_cpu();
  return 0;
}
