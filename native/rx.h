// rx.h - reading frames from a CAN_RAW socket into records (layout.h), shared by the
// reactor thread and the JS thread's direct reads (direct.h).
#pragma once

#include <linux/can.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdint>
#include <vector>

#include "reactor.h"

namespace uvscpd {

// Receive buffers of one reading thread (the reactor's, and each env's direct reader's).
struct RxBuffers {
  canfd_frame frames[kBatchFrames];
  iovec iov[kBatchFrames];
  mmsghdr msgs[kBatchFrames];
  // Room for SCM_TIMESTAMPNS (timespec), SCM_TIMESTAMPING (3 timespecs) and SO_RXQ_OVFL
  // (u32), generously sized.
  alignas(cmsghdr) uint8_t control[kBatchFrames][CMSG_SPACE(sizeof(timeval)) + CMSG_SPACE(sizeof(timespec)) +
                                                 CMSG_SPACE(3 * sizeof(timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
};

// One recvmmsg of up to kBatchFrames frames on core (caller holds mu), non-blocking. Appends
// one record per frame to *records and counts them in core->stats. Returns the number of
// messages read (0 or more), or -errno (-EAGAIN: nothing waiting). A socket without CAN FD
// reads classic frames only (CAN_MTU each); one with CAN FD reads both kinds.
int ReadOnceLocked(SocketCore* core, RxBuffers* rx, std::vector<uint8_t>* records);

}  // namespace uvscpd
