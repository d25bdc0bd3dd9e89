// rx.cc - see rx.h.
#include "rx.h"

#include <errno.h>
#include <linux/net_tstamp.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace uvscpd {

namespace {

void PutU32LE(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

void PutF64LE(uint8_t* p, double d) {
  uint64_t v;
  static_assert(sizeof v == sizeof d, "double is not 64 bits");
  std::memcpy(&v, &d, sizeof v);
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

static_assert(kCanMtu == CAN_MTU && kCanFdMtu == CANFD_MTU && kCanFdMaxDlen == CANFD_MAX_DLEN,
              "layout.h's CAN sizes differ from linux/can.h");

// Whole microseconds since the epoch (the record's timestamp; the rest goes to sub_us_ns).
double Micros(const timespec& t) {
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec / 1000);
}

double NowMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Micros(ts);
}

// Classic sockets without hardware timestamps (kFd, kHw false) keep the receive loop they
// always had: 16-byte reads, no FD flags and no SCM_TIMESTAMPING per frame.
template <bool kFd, bool kHw>
int ReadBatchLocked(SocketCore* core, RxBuffers* rx, std::vector<uint8_t>* records) {
  for (unsigned i = 0; i < kBatchFrames; i++) {
    rx->iov[i].iov_base = &rx->frames[i];
    rx->iov[i].iov_len = kFd ? CANFD_MTU : CAN_MTU;
    std::memset(&rx->msgs[i].msg_hdr, 0, sizeof(rx->msgs[i].msg_hdr));
    rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
    rx->msgs[i].msg_hdr.msg_iovlen = 1;
    rx->msgs[i].msg_hdr.msg_control = rx->control[i];
    rx->msgs[i].msg_hdr.msg_controllen = sizeof(rx->control[i]);
    rx->msgs[i].msg_len = 0;
  }
  int n = recvmmsg(core->fd.get(), rx->msgs, kBatchFrames, MSG_DONTWAIT, nullptr);
  if (n < 0) return -errno;
  if (n == 0) return 0;
  core->down_reported = false;  // frames flow: the interface is up
  const size_t base = records->size();
  records->resize(base + static_cast<size_t>(n) * kRecordSize, 0);
  size_t count = 0;
  for (int i = 0; i < n; i++) {
    const mmsghdr& m = rx->msgs[i];
    if (m.msg_len < CAN_MTU) continue;  // malformed: never happens with CAN_RAW
    const canfd_frame& f = rx->frames[i];
    double ts = -1;
    uint16_t sub_us_ns = 0;  // the nanoseconds below ts (SO_TIMESTAMPNS), 0..999
    uint32_t drops = 0;
    bool have_drops = false;
    bool hw = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m.msg_hdr), c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
        timespec tsp;
        std::memcpy(&tsp, CMSG_DATA(c), sizeof tsp);
        if (!kHw || !hw) {
          ts = Micros(tsp);
          sub_us_ns = static_cast<uint16_t>(tsp.tv_nsec % 1000);
        }
      } else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        have_drops = true;
      } else if (kHw && c->cmsg_type == SCM_TIMESTAMPING && c->cmsg_len >= CMSG_LEN(3 * sizeof(timespec))) {
        // Only asked for with hardwareTimestamps. [0] software, [2] raw hardware: all zero
        // when the device gave none, and the SO_TIMESTAMPNS time stands.
        timespec t[3];
        std::memcpy(t, CMSG_DATA(c), sizeof t);
        if (t[2].tv_sec != 0 || t[2].tv_nsec != 0) {
          hw = true;
          ts = Micros(t[2]);
          sub_us_ns = static_cast<uint16_t>(t[2].tv_nsec % 1000);
        }
      }
    }
    if (ts < 0) ts = NowMicros();
    if (have_drops && drops > core->stats.kernel_drops) core->stats.kernel_drops = drops;
    const bool fd = kFd && m.msg_len == CANFD_MTU;
    size_t len = std::min<size_t>(f.len, fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN);
    len = std::min(len, kRecordDataCapacity);
    uint8_t* rec = records->data() + base + count * kRecordSize;
    PutU32LE(rec + kRecordIdOffset, f.can_id);
    rec[kRecordLenOffset] = static_cast<uint8_t>(len);
    uint8_t flags = kHw && hw ? kRecordFlagHwTimestamp : 0;
    if (fd) {
      flags |= kRecordFlagFd;
      if (f.flags & CANFD_BRS) flags |= kRecordFlagBrs;
      if (f.flags & CANFD_ESI) flags |= kRecordFlagEsi;
    }
    if (m.msg_hdr.msg_flags & MSG_DONTROUTE) flags |= kRecordFlagLocal;
    if (m.msg_hdr.msg_flags & MSG_CONFIRM) flags |= kRecordFlagOwn;
    rec[kRecordFlagsOffset] = flags;
    rec[kRecordSubMicroNsOffset] = static_cast<uint8_t>(sub_us_ns);
    rec[kRecordSubMicroNsOffset + 1] = static_cast<uint8_t>(sub_us_ns >> 8);
    PutF64LE(rec + kRecordTimestampOffset, ts);
    std::memcpy(rec + kRecordDataOffset, f.data, len);
    core->stats.rx_frames++;
    core->stats.rx_bytes += len;
    if (f.can_id & CAN_ERR_FLAG) core->stats.error_frames++;
    count++;
  }
  records->resize(base + count * kRecordSize);
  return n;
}

}  // namespace

int ReadOnceLocked(SocketCore* core, RxBuffers* rx, std::vector<uint8_t>* records) {
  if (core->hw_timestamps) {
    return core->fd_frames ? ReadBatchLocked<true, true>(core, rx, records) : ReadBatchLocked<false, true>(core, rx, records);
  }
  return core->fd_frames ? ReadBatchLocked<true, false>(core, rx, records) : ReadBatchLocked<false, false>(core, rx, records);
}

}  // namespace uvscpd
