/* refrelay: a minimal C relay with the ORIGINAL uvscpd's per-client I/O pattern, run in the
 * same guest as a same-run yardstick (not a product: just enough protocol for the bench).
 *   refrelay IFACE PORT
 * One process per TCP client (the original: one thread per client), each with its own
 * CAN_RAW socket. Per received frame: poll, read, ioctl(SIOCGSTAMP), time, write = 5
 * system calls, as the original. Per SEND: poll, read, write(CAN), write(TCP) = 4.
 * Understands "rcvloop" and "send head,class,type,obid,datetime,timestamp,GUID,d0..";
 * other lines get "+OK". Keep-alive "+OK" after 2 s of quiet in rcvloop (200 ms poll). */
#include "common.h"

#include <linux/can.h>
#include <linux/can/raw.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void serve(int c, const char *ifname) {
  int can = open_can(ifname);
  const char *banner = "refrelay\r\n+OK - Success, connected\r\n";
  if (can < 0 || write(c, banner, strlen(banner)) < 0) return;
  int loop = 0;
  char in[8192];
  size_t have = 0;
  time_t last_out = time(NULL);
  for (;;) {
    struct pollfd p[2] = {{c, POLLIN, 0}, {can, loop ? POLLIN : 0, 0}};
    int n = poll(p, 2, 200);
    if (n < 0) continue;
    if (p[1].revents & POLLIN) {
      struct can_frame f;
      if (read(can, &f, sizeof f) != sizeof f) continue;
      struct timeval tv;
      ioctl(can, SIOCGSTAMP, &tv);
      time_t now = time(NULL);
      struct tm tm;
      gmtime_r(&now, &tm);
      if (!(f.can_id & CAN_EFF_FLAG) || (f.can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG))) continue;
      char line[256];
      int len = snprintf(line, sizeof line, "%u,%u,%u,0,%04d-%02d-%02dT%02d:%02d:%02d,%u,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:%02X",
                         ((f.can_id >> 25) & 0xf) << 4, (f.can_id >> 16) & 0x1ff, (f.can_id >> 8) & 0xff, tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (unsigned)(tv.tv_sec * 1000000u + tv.tv_usec), f.can_id & 0xff);
      for (int i = 0; i < f.can_dlc && i < 8; i++) len += snprintf(line + len, sizeof line - len, ",%u", f.data[i]);
      len += snprintf(line + len, sizeof line - len, "\r\n");
      if (write(c, line, len) < 0) return;
      last_out = now;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(c, in + have, sizeof in - have);
      if (r <= 0) return;
      have += (size_t)r;
      size_t start = 0;
      for (size_t i = 0; i < have; i++) {
        if (in[i] != '\n') continue;
        in[i] = 0;
        char *line = in + start;
        start = i + 1;
        if (strncmp(line, "rcvloop", 7) == 0) loop = 1;
        if (strncmp(line, "quit", 4) == 0) return;
        if (strncmp(line, "send ", 5) == 0) {
          unsigned v[32] = {0};
          int nv = 0, field = 0;
          char *q = line + 5;
          v[0] = 0;
          while (*q && *q != '\r' && nv < 32) {
            if (*q == ',') { field++; q++; continue; }
            if (field <= 2 || field >= 7) {
              unsigned x = (unsigned)strtoul(q, &q, 0);
              v[nv++] = x;
              while (*q && *q != ',' && *q != '\r') q++;
            } else {
              q++;
            }
          }
          struct can_frame f;
          memset(&f, 0, sizeof f);
          f.can_id = CAN_EFF_FLAG | ((v[0] >> 5) << 26) | (v[1] << 16) | (v[2] << 8);
          f.can_dlc = (uint8_t)(nv > 3 ? (nv - 3 > 8 ? 8 : nv - 3) : 0);
          for (int k = 0; k < f.can_dlc; k++) f.data[k] = (uint8_t)v[3 + k];
          const char *rep = write(can, &f, sizeof f) == sizeof f ? "+OK - Success.\r\n" : "-OK - problem\r\n";
          if (write(c, rep, strlen(rep)) < 0) return;
        } else {
          if (write(c, "+OK\r\n", 5) < 0) return;
        }
      }
      memmove(in, in + start, have - start);
      have -= start;
      if (have == sizeof in) have = 0;
    }
    if (loop && n == 0 && time(NULL) - last_out >= 2) {
      if (write(c, "+OK\r\n", 5) < 0) return;
      last_out = time(NULL);
    }
  }
}

/* Reaping the children adds their CPU time to ours (cutime/cstime), so the bench sees it. */
static void reap(int sig) {
  (void)sig;
  int e = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = e;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: refrelay IFACE PORT\n");
    return 2;
  }
  struct sigaction sa_chld;
  memset(&sa_chld, 0, sizeof sa_chld);
  sa_chld.sa_handler = reap;
  sa_chld.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa_chld, NULL);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)arg_long(argv[2], "port"));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 128) < 0) { perror("listen"); return 1; }
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fork() == 0) {
      close(l);
      serve(c, argv[1]);
      _exit(0);
    }
    close(c);
  }
}
