/* Shared helpers of the bench tools (bench/tools/ *.c). Tiny on purpose: the tools must
 * cost the guest's one CPU as little as possible, so that the daemon is what we measure.
 *
 * Frame payload convention (8 data bytes), shared by every tool:
 *   bytes 0..3  sequence number, u32 little-endian, 0..count-1
 *   bytes 4..7  send time, CLOCK_MONOTONIC microseconds mod 2^32, u32 little-endian
 * Latency = receipt time (same clock, same guest) - send time, mod 2^32. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <linux/can.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A CAN_RAW socket bound to `ifname`, or -1 (the failing call reported on stderr). */
static __attribute__((unused)) int open_can(const char *ifname) {
  int s = socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (s < 0) { perror("socket(PF_CAN)"); return -1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) { perror("SIOCGIFINDEX"); close(s); return -1; }
  struct sockaddr_can addr = {0};
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifr.ifr_ifindex;
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); close(s); return -1; }
  return s;
}

static inline uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static __attribute__((unused)) int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Prints lat_p50 .. lat_max (microseconds) of n samples (sorts them). */
static __attribute__((unused)) void print_latency(const char *prefix, uint32_t *lat, size_t n) {
  if (n == 0) {
    printf("%slat_p50_us=NA\n%slat_p90_us=NA\n%slat_p99_us=NA\n%slat_max_us=NA\n", prefix, prefix, prefix, prefix);
    return;
  }
  qsort(lat, n, sizeof *lat, cmp_u32);
  printf("%slat_p50_us=%u\n", prefix, lat[(n - 1) * 50 / 100]);
  printf("%slat_p90_us=%u\n", prefix, lat[(n - 1) * 90 / 100]);
  printf("%slat_p99_us=%u\n", prefix, lat[(n - 1) * 99 / 100]);
  printf("%slat_max_us=%u\n", prefix, lat[n - 1]);
}

/* expected .. foreign: what a counting receiver got of COUNT numbered frames or messages. */
static __attribute__((unused)) void print_delivery(long count, long unique, long dups, long ooo, long foreign) {
  printf("expected=%ld\n", count);
  printf("received=%ld\n", unique);
  printf("missing=%ld\n", count - unique);
  printf("delivered_pct=%.2f\n", count ? unique * 100.0 / count : 100.0);
  printf("duplicates=%ld\n", dups);
  printf("out_of_order=%ld\n", ooo);
  printf("foreign=%ld\n", foreign);
}

/* The tool's own CPU time (so the report can separate the tools from the daemon). */
static __attribute__((unused)) void print_self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + ru.ru_utime.tv_usec +
                (uint64_t)ru.ru_stime.tv_sec * 1000000u + ru.ru_stime.tv_usec;
  printf("tool_cpu_us=%llu\n", (unsigned long long)us);
}

static __attribute__((unused)) long arg_long(const char *s, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < 0) {
    fprintf(stderr, "bad %s: %s\n", what, s);
    exit(2);
  }
  return v;
}

#endif
