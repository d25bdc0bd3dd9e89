/* canrx: plain raw-socket reader (the kernel reference, and the independent bus counter).
 *   canrx IFACE COUNT [RCVBUF_BYTES|0] [QUIET_MS] [TIMEOUT_MS] [LAZY_US]
 * Binds a CAN_RAW socket (SO_RCVBUFFORCE when RCVBUF > 0, else SO_RCVBUF; default kernel's),
 * prints READY, then reads with recvmmsg (64 per call) until COUNT frames with seq < COUNT,
 * or QUIET_MS (default 1500) without a frame after the first, or TIMEOUT_MS (default 120000).
 * Counts received, missing, duplicates, out of order, kernel drops (SO_RXQ_OVFL), latency
 * (one receipt clock read per recvmmsg call), and the recvmmsg batch sizes.
 * LAZY_US > 0: sleep that long after each drained read, so that a counting reader (with a
 * big RCVBUF) costs the shared CPU little: its latency figures are then meaningless. */
#include "common.h"

#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: canrx IFACE COUNT [RCVBUF] [QUIET_MS] [TIMEOUT_MS]\n");
    return 2;
  }
  const char *ifname = argv[1];
  long count = arg_long(argv[2], "count");
  long rcvbuf = argc > 3 ? arg_long(argv[3], "rcvbuf") : 0;
  long quiet_ms = argc > 4 ? arg_long(argv[4], "quiet") : 1500;
  long timeout_ms = argc > 5 ? arg_long(argv[5], "timeout") : 120000;
  long lazy_us = argc > 6 ? arg_long(argv[6], "lazy") : 0;

  int s = open_can(ifname);
  if (s < 0) return 1;
  if (rcvbuf > 0) {
    int v = (int)rcvbuf;
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0) setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  }
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(s, SOL_SOCKET, SO_RCVBUF, &got, &gl);

  uint8_t *seen = calloc((size_t)count / 8 + 1, 1);
  uint32_t *lat = malloc(sizeof(uint32_t) * ((size_t)count + 1));
  size_t nlat = 0;
  long received = 0, unique = 0, dups = 0, ooo = 0, foreign = 0, calls = 0;
  uint32_t drops = 0;
  int64_t last_seq = -1;
  uint64_t first_us = 0, last_us = 0;

  struct can_frame frames[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  char ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
  printf("READY rcvbuf=%d\n", got);
  fflush(stdout);

  uint64_t start = now_us();
  while (unique < count) {
    uint64_t now = now_us();
    long wait = received ? quiet_ms - (long)((now - last_us) / 1000) : timeout_ms - (long)((now - start) / 1000);
    if (wait <= 0) break;
    struct pollfd p = {s, POLLIN, 0};
    int pr = poll(&p, 1, (int)wait);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = &frames[i];
      iov[i].iov_len = sizeof frames[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctrl[i];
      msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
    }
    int n = recvmmsg(s, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      perror("recvmmsg");
      break;
    }
    calls++;
    if (lazy_us > 0 && n < BATCH) usleep((useconds_t)lazy_us);
    uint64_t t = now_us();
    if (!received) first_us = t;
    last_us = t;
    for (int i = 0; i < n; i++) {
      struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
      for (; c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&drops, CMSG_DATA(c), sizeof drops);
      received++;
      if (frames[i].can_dlc != 8) { foreign++; continue; }
      uint32_t seq = get_u32(frames[i].data);
      if (seq >= (uint32_t)count) { foreign++; continue; }
      if (seen[seq >> 3] & (1u << (seq & 7))) { dups++; continue; }
      seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
      unique++;
      if ((int64_t)seq < last_seq) ooo++;
      last_seq = seq;
      lat[nlat++] = (uint32_t)t - get_u32(frames[i].data + 4);
    }
  }
  print_delivery(count, unique, dups, ooo, foreign);
  printf("kernel_drops=%u\n", drops);
  printf("recv_calls=%ld\n", calls);
  printf("batch_avg=%.2f\n", calls ? (double)received / calls : 0.0);
  printf("span_us=%llu\n", (unsigned long long)(last_us - first_us));
  printf("rx_rate_fps=%.0f\n", last_us > first_us ? unique * 1e6 / (double)(last_us - first_us) : 0.0);
  print_latency("", lat, nlat);
  print_self_cpu();
  return 0;
}
