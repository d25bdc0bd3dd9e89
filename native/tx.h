// tx.h - the JS-thread send path: direct sendmmsg, parking on a full kernel queue, and
// re-binding after the interface was removed. The reactor (reactor.cc) flushes what is
// parked here.
#pragma once

#include <linux/can.h>

#include <cstdint>

#include "reactor.h"

namespace uvscpd {

// Result of SendFrames: `sent` frames taken by the kernel, then `parked` frames put on the
// native queue, the rest (if any) failed with `err`.
struct SendResult {
  uint32_t sent = 0;
  uint32_t parked = 0;
  int err = 0;
};

// Sends frames from the JS thread (never blocks). `ends` (may be null) holds the exclusive
// end index of each request (a JS send/sendMany call) in `frames`, increasing; without it
// all frames are one request. What the kernel does not take at once is parked request by
// request: the unsent part of a request is parked entirely or not at all, in order, until
// one does not fit in txQueueLimit; that one and the rest fail with ENOBUFS. So a caller
// retrying a refused request never duplicates frames that were parked.
// Frame is can_frame (a send of classic frames only: the path classic sockets always had)
// or canfd_frame (a send with FD frames: those carry CANFD_FDF in flags and go out as
// CANFD_MTU bytes, the others as CAN_MTU). Parked frames are held as canfd_frame.
template <typename Frame>
SendResult SendFrames(SocketCore* core, const Frame* frames, uint32_t count, int32_t first_seq, const uint32_t* ends,
                      uint32_t nends);

// The one sendmmsg loop (the JS-thread send and the reactor's flush of parked frames):
// sends frame_at(src, 0..count-1), kBatchFrames per call, until all are taken or a call
// fails; EINTR is retried. Counts what was sent in core->stats (caller holds mu). Returns
// the number of frames taken; *err is 0 when all were, else the errno that stopped the
// loop (EWOULDBLOCK reported as EAGAIN, ENXIO as ENODEV).
template <typename Frame>
using FrameAt = const Frame* (*)(const void* src, uint32_t index);
template <typename Frame>
uint32_t SendLoopLocked(SocketCore* core, uint32_t count, FrameAt<Frame> frame_at, const void* src, int* err);

// Re-binds a socket the kernel unbound after its interface was removed (caller holds mu).
int RebindLocked(SocketCore* core);

}  // namespace uvscpd
