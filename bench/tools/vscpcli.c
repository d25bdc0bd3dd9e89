/* vscpcli: N VSCP TCP clients in rcvloop, multiplexed in one process with epoll.
 *   vscpcli PORT NCONN COUNT [QUIET_MS] [HOLD_MS] [TIMEOUT_MS] [LINGER]
 * Each connection reads the banner, sends "rcvloop", waits for its +OK. Then READY is
 * printed, and events are read until every connection has COUNT distinct sequence numbers,
 * or QUIET_MS (default 1500) pass without an event after the first, or TIMEOUT_MS.
 * With COUNT 0 the clients just stay in rcvloop for HOLD_MS (idle and memory scenarios).
 * Event lines: head,class,type,obid,datetime,timestamp,GUID,d0..d7: the seq and the send
 * time come from the data bytes (common.h); one receipt clock read per read() call.
 * Output: totals, per-connection min/max delivery, latency over all events.
 * LINGER=1: after printing the results, keep the connections open until stdin closes (so
 * the bench can sample the daemon, its threads included, before the sessions end). */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

struct conn {
  int fd;
  int state; /* 0 banner, 1 waiting rcvloop +OK, 2 looping */
  size_t have;
  long unique, dups, ooo, events, bad, keepalives;
  int64_t last_seq;
  uint8_t *seen;
  char buf[BUF];
};

static long g_count;
static uint32_t *g_lat;
static size_t g_nlat, g_latcap;
static uint64_t g_last_event_us;
static long g_events;
static long g_reads; /* read() calls that returned data, after READY */
static int g_counting;

static void on_line(struct conn *c, char *line, size_t len, uint32_t t) {
  if (c->state < 2) {
    if (c->state == 0 && len >= 13 && memcmp(line, "+OK - Success", 13) == 0) {
      c->state = 1;
      const char *cmd = "rcvloop\r\n";
      if (write(c->fd, cmd, strlen(cmd)) < 0) perror("write");
    } else if (c->state == 1 && len >= 3 && memcmp(line, "+OK", 3) == 0) {
      c->state = 2;
    } else if (line[0] == '-') {
      fprintf(stderr, "vscpcli: %.*s\n", (int)len, line);
    }
    return;
  }
  if (line[0] == '+' || line[0] == '-') {
    c->keepalives++;
    return;
  }
  /* find the 7th comma: data bytes follow */
  int commas = 0;
  size_t i = 0;
  for (; i < len && commas < 7; i++)
    if (line[i] == ',') commas++;
  uint8_t d[8];
  int nd = 0;
  while (i <= len && nd < 8) {
    unsigned v = 0;
    int digits = 0;
    while (i < len && line[i] >= '0' && line[i] <= '9') { v = v * 10 + (unsigned)(line[i] - '0'); i++; digits++; }
    if (!digits) break;
    d[nd++] = (uint8_t)v;
    if (i < len && line[i] == ',') i++; else break;
  }
  c->events++;
  g_events++;
  g_last_event_us = now_us();
  if (nd != 8) { c->bad++; return; }
  uint32_t seq = get_u32(d);
  if (seq >= (uint32_t)g_count) { c->bad++; return; }
  if (c->seen[seq >> 3] & (1u << (seq & 7))) { c->dups++; return; }
  c->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
  c->unique++;
  if ((int64_t)seq < c->last_seq) c->ooo++;
  c->last_seq = seq;
  if (g_nlat < g_latcap) g_lat[g_nlat++] = t - get_u32(d + 4);
}

/* returns 0 on EOF/error */
static int on_readable(struct conn *c) {
  ssize_t r = read(c->fd, c->buf + c->have, BUF - c->have);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return 0;
  }
  uint32_t t = (uint32_t)now_us();
  if (g_counting) g_reads++;
  c->have += (size_t)r;
  size_t start = 0;
  for (size_t i = 0; i < c->have; i++) {
    if (c->buf[i] == '\n') {
      size_t end = i;
      if (end > start && c->buf[end - 1] == '\r') end--;
      if (end > start) on_line(c, c->buf + start, end - start, t);
      start = i + 1;
    }
  }
  if (start == c->have) c->have = 0;
  else if (start > 0) { memmove(c->buf, c->buf + start, c->have - start); c->have -= start; }
  else if (c->have == BUF) c->have = 0; /* overlong line: drop */
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: vscpcli PORT NCONN COUNT [QUIET_MS] [HOLD_MS] [TIMEOUT_MS]\n");
    return 2;
  }
  int port = (int)arg_long(argv[1], "port");
  int n = (int)arg_long(argv[2], "nconn");
  g_count = arg_long(argv[3], "count");
  long quiet_ms = argc > 4 ? arg_long(argv[4], "quiet") : 1500;
  long hold_ms = argc > 5 ? arg_long(argv[5], "hold") : 0;
  long timeout_ms = argc > 6 ? arg_long(argv[6], "timeout") : 180000;
  int linger = argc > 7 ? (int)arg_long(argv[7], "linger") : 0;
  g_latcap = (size_t)g_count * (size_t)n + 1;
  g_lat = malloc(sizeof(uint32_t) * g_latcap);
  struct conn **cs = calloc((size_t)n, sizeof *cs);
  int ep = epoll_create1(0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int k = 0; k < n; k++) {
    struct conn *c = calloc(1, sizeof *c);
    c->seen = calloc((size_t)g_count / 8 + 1, 1);
    c->last_seq = -1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    cs[k] = c;
  }
  /* handshake: all connections in rcvloop */
  uint64_t t0 = now_us();
  for (;;) {
    int ready = 0;
    for (int k = 0; k < n; k++) ready += cs[k]->state == 2;
    if (ready == n) break;
    if (now_us() - t0 > 20000000u) { fprintf(stderr, "vscpcli: handshake timeout (%d/%d)\n", ready, n); return 1; }
    struct epoll_event ev[64];
    int m = epoll_wait(ep, ev, 64, 1000);
    for (int i = 0; i < m; i++)
      if (!on_readable(ev[i].data.ptr)) { fprintf(stderr, "vscpcli: closed during handshake\n"); return 1; }
  }
  printf("READY\n");
  fflush(stdout);
  uint64_t start = now_us();
  long wakeups = 0;
  g_counting = 1;
  int open_conns = n;
  for (;;) {
    uint64_t now = now_us();
    long wait;
    if (g_count == 0) {
      wait = hold_ms - (long)((now - start) / 1000);
    } else {
      long done = 0;
      for (int k = 0; k < n; k++) done += cs[k]->unique >= g_count;
      if (done == n) break;
      wait = g_events ? quiet_ms - (long)((now - g_last_event_us) / 1000) : timeout_ms - (long)((now - start) / 1000);
    }
    if (wait <= 0 || open_conns == 0) break;
    struct epoll_event ev[64];
    int m = epoll_wait(ep, ev, 64, (int)wait);
    if (m < 0 && errno == EINTR) continue;
    wakeups++;
    for (int i = 0; i < m; i++) {
      struct conn *c = ev[i].data.ptr;
      if (!on_readable(c)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        open_conns--;
      }
    }
  }
  long tot_unique = 0, tot_dups = 0, tot_ooo = 0, tot_bad = 0, tot_keep = 0, min_u = -1, max_u = 0, full = 0;
  for (int k = 0; k < n; k++) {
    struct conn *c = cs[k];
    tot_unique += c->unique; tot_dups += c->dups; tot_ooo += c->ooo; tot_bad += c->bad; tot_keep += c->keepalives;
    if (min_u < 0 || c->unique < min_u) min_u = c->unique;
    if (c->unique > max_u) max_u = c->unique;
    if (c->unique >= g_count) full++;
  }
  printf("clients=%d\n", n);
  printf("expected_per_client=%ld\n", g_count);
  printf("received=%ld\n", tot_unique);
  printf("missing=%ld\n", g_count * n - tot_unique);
  printf("delivered_pct=%.2f\n", g_count ? tot_unique * 100.0 / ((double)g_count * n) : 100.0);
  printf("delivered_pct_min_client=%.2f\n", g_count ? min_u * 100.0 / g_count : 100.0);
  printf("delivered_pct_max_client=%.2f\n", g_count ? max_u * 100.0 / g_count : 100.0);
  printf("clients_complete=%ld\n", full);
  printf("duplicates=%ld\n", tot_dups);
  printf("out_of_order=%ld\n", tot_ooo);
  printf("malformed=%ld\n", tot_bad);
  printf("keepalives=%ld\n", tot_keep);
  printf("client_wakeups=%ld\n", wakeups);
  printf("client_reads=%ld\n", g_reads);
  printf("events_per_read=%.2f\n", g_reads ? (double)g_events / g_reads : 0.0);
  print_latency("", g_lat, g_nlat);
  print_self_cpu();
  fflush(stdout);
  if (linger) {
    char b[256];
    while (read(0, b, sizeof b) > 0) {
    }
  }
  return 0;
}
