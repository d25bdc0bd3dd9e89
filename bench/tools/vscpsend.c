/* vscpsend: one VSCP TCP client sending COUNT SEND commands, DEPTH in flight.
 *   vscpsend PORT COUNT DEPTH
 * After the banner, keeps up to DEPTH commands outstanding: each read() of replies is
 * followed by ONE write() topping the window up. Every SEND carries seq + send time in
 * its 8 data values (common.h), so an independent canrx on the bus can check the frames.
 * Output: ok/error replies, commands/s from the first write to the last reply. */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static char rbuf[65536];

static size_t fmt_send(char *p, uint32_t seq) {
  uint8_t d[8];
  put_u32(d, seq);
  put_u32(d + 4, (uint32_t)now_us());
  return (size_t)sprintf(p, "send 0,20,3,0,,0,-,%u,%u,%u,%u,%u,%u,%u,%u\r\n", d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: vscpsend PORT COUNT DEPTH\n");
    return 2;
  }
  int port = (int)arg_long(argv[1], "port");
  long count = arg_long(argv[2], "count");
  long depth = arg_long(argv[3], "depth");
  if (depth < 1) depth = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
  /* banner: up to "+OK - Success..." */
  size_t have = 0;
  for (;;) {
    ssize_t r = read(fd, rbuf + have, sizeof rbuf - 1 - have);
    if (r <= 0) { fprintf(stderr, "vscpsend: closed during banner\n"); return 1; }
    have += (size_t)r;
    rbuf[have] = 0;
    if (strstr(rbuf, "+OK - Success") && rbuf[have - 1] == '\n') break;
    if (strstr(rbuf, "-OK")) { fprintf(stderr, "vscpsend: %s", rbuf); return 1; }
  }
  char *wbuf = malloc((size_t)depth * 64 + 64);
  long sent = 0, ok = 0, err = 0, writes = 0, reads = 0;
  long outstanding = 0;
  size_t partial = 0; /* bytes of an unfinished reply line */
  uint64_t start = now_us();
  while (ok + err < count) {
    if (outstanding < depth && sent < count) {
      size_t len = 0;
      while (outstanding < depth && sent < count) {
        len += fmt_send(wbuf + len, (uint32_t)sent);
        sent++;
        outstanding++;
      }
      size_t off = 0;
      while (off < len) {
        ssize_t w = write(fd, wbuf + off, len - off);
        if (w < 0) { if (errno == EINTR) continue; perror("write"); return 1; }
        off += (size_t)w;
      }
      writes++;
    }
    ssize_t r = read(fd, rbuf, sizeof rbuf);
    if (r <= 0) { fprintf(stderr, "vscpsend: connection closed after %ld replies\n", ok + err); break; }
    reads++;
    for (ssize_t i = 0; i < r; i++) {
      if (partial == 0) {
        if (rbuf[i] == '+') ok++, outstanding--;
        else if (rbuf[i] == '-') err++, outstanding--;
      }
      partial = rbuf[i] == '\n' ? 0 : partial + 1;
    }
  }
  uint64_t elapsed = now_us() - start;
  printf("commands=%ld\n", count);
  printf("replies_ok=%ld\n", ok);
  printf("replies_err=%ld\n", err);
  printf("elapsed_us=%llu\n", (unsigned long long)elapsed);
  printf("commands_per_s=%.0f\n", elapsed ? (ok + err) * 1e6 / (double)elapsed : 0.0);
  printf("client_writes=%ld\n", writes);
  printf("client_reads=%ld\n", reads);
  print_self_cpu();
  const char *q = "quit\r\n";
  if (write(fd, q, strlen(q)) < 0) { /* ignore */ }
  close(fd);
  return 0;
}
