// tx.cc - see tx.h.
#include "tx.h"

#include <errno.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace uvscpd {

namespace {

size_t WireSize(const can_frame&) { return CAN_MTU; }
size_t WireSize(const canfd_frame& f) { return (f.flags & CANFD_FDF) ? CANFD_MTU : CAN_MTU; }

uint8_t PayloadLen(const can_frame& f) { return f.can_dlc; }
uint8_t PayloadLen(const canfd_frame& f) { return f.len; }

canfd_frame ToParked(const canfd_frame& f) { return f; }
canfd_frame ToParked(const can_frame& f) {
  canfd_frame p;
  std::memset(&p, 0, sizeof p);
  p.can_id = f.can_id;
  p.len = f.can_dlc;
  std::memcpy(p.data, f.data, CAN_MAX_DLEN);
  return p;
}

}  // namespace

int RebindLocked(SocketCore* core) {
  unsigned idx = if_nametoindex(core->ifname.c_str());
  if (idx == 0) return errno == ENXIO ? ENODEV : errno;
  // The kernel dropped the socket's filters with the interface: set them again (the
  // default, receive-all, included).
  const can_filter all{0, 0};
  const void* p = core->filters_custom ? (core->filters.empty() ? nullptr : core->filters.data()) : &all;
  socklen_t len = core->filters_custom ? static_cast<socklen_t>(core->filters.size() * sizeof(can_filter))
                                       : static_cast<socklen_t>(sizeof all);
  if (setsockopt(core->fd.get(), SOL_CAN_RAW, CAN_RAW_FILTER, p, len) != 0) return errno;
  sockaddr_can addr{};
  addr.can_family = AF_CAN;
  addr.can_ifindex = static_cast<int>(idx);
  if (bind(core->fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno;
  core->needs_rebind = false;
  return 0;
}

template <typename Frame>
uint32_t SendLoopLocked(SocketCore* core, uint32_t count, FrameAt<Frame> frame_at, const void* src, int* err) {
  mmsghdr msgs[kBatchFrames];
  iovec iov[kBatchFrames];
  uint32_t i = 0;
  *err = 0;
  while (i < count) {
    const unsigned k = std::min<uint32_t>(count - i, kBatchFrames);
    for (unsigned j = 0; j < k; j++) {
      const Frame* f = frame_at(src, i + j);
      iov[j].iov_base = const_cast<Frame*>(f);
      iov[j].iov_len = WireSize(*f);
      std::memset(&msgs[j], 0, sizeof msgs[j]);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    const int r = sendmmsg(core->fd.get(), msgs, k, MSG_DONTWAIT);
    if (r > 0) {
      core->down_reported = false;  // frames flow: the interface is up
      for (int j = 0; j < r; j++) {
        core->stats.tx_frames++;
        core->stats.tx_bytes += PayloadLen(*frame_at(src, i + static_cast<uint32_t>(j)));
      }
      i += static_cast<uint32_t>(r);
      continue;
    }
    const int e = r < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    *err = e == EWOULDBLOCK ? EAGAIN : e == ENXIO ? ENODEV : e;  // ENXIO: raw_sendmsg, interface gone
    break;
  }
  return i;
}

template <typename Frame>
SendResult SendFrames(SocketCore* core, const Frame* frames, uint32_t count, int32_t first_seq, const uint32_t* ends,
                      uint32_t nends) {
  SendResult res;
  std::lock_guard<std::mutex> clock(core->mu);
  if (core->closed) {
    res.err = EBADF;
    return res;
  }
  if (core->needs_rebind) {
    int err = RebindLocked(core);
    if (err != 0) {
      res.err = err;
      core->stats.tx_errors += count;
      return res;
    }
  }
  uint32_t i = 0;
  if (core->txq.empty()) {
    int err = 0;
    i = SendLoopLocked<Frame>(
        core, count, [](const void* src, uint32_t k) { return static_cast<const Frame*>(src) + k; }, frames, &err);
    res.sent = i;
    if (err == 0) return res;
    if (err != EAGAIN && err != ENOBUFS) {
      core->ReportErrorLocked(err, true);
      res.err = err;
      core->stats.tx_errors += count - i;
      return res;
    }
  }
  // Park the rest behind any frames already waiting (keeps the order), whole requests
  // only (see tx.h).
  uint32_t u = 0;
  while (i < count) {
    while (u < nends && ends[u] <= i) u++;
    const uint32_t end = u < nends ? std::min(ends[u], count) : count;
    if (core->txq.size() + (end - i) > core->tx_limit) break;
    for (; i < end; i++) {
      core->txq.push_back(TxItem{ToParked(frames[i]), static_cast<int32_t>(static_cast<uint32_t>(first_seq) + i)});
      res.parked++;
    }
  }
  if (i < count) {
    res.err = ENOBUFS;  // the native queue is full too
    core->stats.tx_errors += count - i;
  }
  core->UpdateEpollLocked();  // arms EPOLLOUT (unless the reactor is in ENOBUFS backoff)
  return res;
}

template SendResult SendFrames<can_frame>(SocketCore*, const can_frame*, uint32_t, int32_t, const uint32_t*, uint32_t);
template SendResult SendFrames<canfd_frame>(SocketCore*, const canfd_frame*, uint32_t, int32_t, const uint32_t*,
                                            uint32_t);
template uint32_t SendLoopLocked<canfd_frame>(SocketCore*, uint32_t, FrameAt<canfd_frame>, const void*, int*);

}  // namespace uvscpd
