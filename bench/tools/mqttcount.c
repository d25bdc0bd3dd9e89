/* mqttcount: counts the bridge's publications as a subscriber receives them.
 *   mosquitto_sub -F '%U %p' ... | mqttcount COUNT [QUIET_MS] [TIMEOUT_MS]
 * Reads lines "<receipt unix time s.ns> <JSON payload>" (mosquitto_sub's %U %p), as
 * written by the bridge for frames from canpgen: data[0..3] is the sequence number
 * (common.h), "timestamp" the kernel receive time of the frame on the bus (realtime
 * microseconds mod 2^32). Latency = mosquitto_sub's receipt time - that timestamp: from
 * the bus to the subscriber, whatever the pipe to this tool buffers.
 * A line without "data" (a marker the harness publishes until it arrives) prints READY.
 * Stops after COUNT distinct events, or QUIET_MS (default 1500) without a line after the
 * first event, or TIMEOUT_MS (default 120000). Output: key=value lines. */
#include "common.h"

#include <poll.h>
#include <unistd.h>

static long parse_data(const char *p, uint8_t *out, int max) {
  const char *d = strstr(p, "\"data\":[");
  if (!d) return -1;
  d += 8;
  int n = 0;
  while (*d && *d != ']' && n < max) {
    char *end;
    long v = strtol(d, &end, 10);
    if (end == d) return -1;
    out[n++] = (uint8_t)v;
    d = *end == ',' ? end + 1 : end;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mqttcount COUNT [QUIET_MS] [TIMEOUT_MS]\n");
    return 2;
  }
  long count = arg_long(argv[1], "count");
  long quiet_ms = argc > 2 ? arg_long(argv[2], "quiet") : 1500;
  long timeout_ms = argc > 3 ? arg_long(argv[3], "timeout") : 120000;
  uint8_t *seen = calloc((size_t)count + 1, 1);
  uint32_t *lat = calloc((size_t)count + 1, sizeof *lat);
  size_t nlat = 0;
  long unique = 0, dups = 0, ooo = 0, foreign = 0, lines = 0;
  long last_seq = -1;
  int ready = 0;
  uint64_t start = now_us(), first_us = 0, last_us = 0;
  static char buf[1 << 16];
  size_t have = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    uint64_t now = now_us();
    if (unique >= count) break;
    if ((long)((now - start) / 1000) > timeout_ms) break;
    if (first_us && (long)((now - last_us) / 1000) > quiet_ms) break;
    struct pollfd p = {0, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t r = read(0, buf + have, sizeof buf - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    buf[have] = 0;
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      lines++;
      uint8_t data[8];
      long n = parse_data(line, data, 8);
      if (n < 0) {
        if (!ready) {
          printf("READY\n");
          ready = 1;
        }
      } else if (n < 4) {
        foreign++;
      } else {
        long seq = (long)get_u32(data);
        if (seq >= count) {
          foreign++;
        } else {
          if (seen[seq]) dups++;
          else {
            seen[seq] = 1;
            unique++;
          }
          if (seq < last_seq) ooo++;
          last_seq = seq;
          /* "<s>.<ns> {...\"timestamp\":T,...}" */
          double recv_s = strtod(line, NULL);
          const char *t = strstr(line, "\"timestamp\":");
          if (t && recv_s > 0 && nlat <= (size_t)count) { /* duplicates add no samples past COUNT */
            uint32_t ts = (uint32_t)strtoul(t + 12, NULL, 10);
            uint32_t recv_us = (uint32_t)(uint64_t)(recv_s * 1e6);
            lat[nlat++] = recv_us - ts;
          }
          last_us = now_us();
          if (!first_us) first_us = last_us;
        }
      }
      line = nl + 1;
    }
    have = (size_t)(buf + have - line);
    memmove(buf, line, have);
    if (have >= sizeof buf - 1) have = 0; /* a line longer than the buffer: drop it */
  }
  print_delivery(count, unique, dups, ooo, foreign);
  printf("lines=%ld\n", lines);
  printf("span_us=%llu\n", (unsigned long long)(last_us - first_us));
  printf("rx_rate_fps=%.0f\n", last_us > first_us ? unique * 1e6 / (double)(last_us - first_us) : 0.0);
  print_latency("", lat, nlat);
  print_self_cpu();
  return 0;
}
