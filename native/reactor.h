// reactor.h - the process-wide epoll thread that serves every open CAN socket.
//
// Threads:
//  * JS threads (the main thread and any worker) create, configure, send on and close
//    sockets. Each SocketCore belongs to exactly one JS thread (its env).
//  * One reactor thread, started with the first socket and joined when the last one is
//    removed, blocks in epoll_wait over every socket plus an eventfd (shutdown wake-up).
//    It reads (recvmmsg), flushes parked TX frames (sendmmsg) and reports socket errors;
//    it never calls into JavaScript and never blocks on a JS thread: results are queued
//    on the SocketCore and JS is woken through the socket's thread-safe function.
//
// Locking: Reactor::mu_ guards the id -> socket map; SocketCore::mu guards everything in
// a socket (fd, queues, flags, statistics). The reactor never holds both at once.
// lifecycle_mu_ (JS threads only) serialises thread start/stop in Add/Remove.
#pragma once

#include <linux/can.h>
#include <node_api.h>
#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "layout.h"
#include "unique_fd.h"

#ifndef CANFD_FDF
#define CANFD_FDF 0x04  // linux/can.h since 6.0; marks a canfd_frame as FD (tx.h)
#endif

namespace uvscpd {

struct RxBuffers;

// The epoll set of one env's direct reads (direct.h), shared by that env's sockets so that
// the reactor can move a socket's EPOLLIN into or out of it.
struct DirectSet {
  UniqueFd epfd;
};

// Frames read per recvmmsg call, and so the largest batch.
constexpr unsigned kBatchFrames = 64;
// Batches a socket may have waiting for JS before the reactor stops reading it. Small on
// purpose: while JS is busy the kernel buffer holds the frames, and the next recvmmsg takes
// them in one call, instead of the reactor waking for every frame (docs/design.md, "The
// native layer").
constexpr size_t kMaxReadyBatches = 2;
// Batches read from one socket per readiness event (fairness between sockets).
constexpr unsigned kBatchesPerWakeup = 4;
// A socket read by the reactor goes back to direct reads (direct.h) after this many reads
// in a row that found one frame with JS done with the previous ones: the bus is quiet.
constexpr unsigned kQuietReadsForDirect = 8;

// A parked frame: classic and FD alike, told apart by CANFD_FDF in frame.flags (tx.h).
struct TxItem {
  canfd_frame frame;
  int32_t seq;
};

struct SocketStats {
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t kernel_drops = 0;
  uint64_t tx_errors = 0;
  uint64_t error_frames = 0;
  uint64_t errors = 0;
};

struct SocketCore {
  std::mutex mu;
  uint64_t id = 0;
  std::string ifname;
  UniqueFd fd;

  // Lifecycle (all under mu).
  bool closed = false;
  bool registered = false;       // in the reactor's epoll set
  uint32_t epoll_mask = 0;       // events currently registered
  napi_threadsafe_function tsfn = nullptr;  // valid while !closed
  bool wake_posted = false;      // a TSFN call is queued and not yet run

  // Set once at open: CAN_RAW_FD_FRAMES (classic and FD frames) and SO_TIMESTAMPING (rx.h).
  bool fd_frames = false;
  bool hw_timestamps = false;

  // Receive side.
  bool paused = false;           // EPOLLIN removed: JS has kMaxReadyBatches waiting
  bool rx_stopped = false;       // EPOLLIN removed: JS asked not to read (pauseReceive)
  // Receive coalescing window under load, in microseconds (0 = off). When a read drains
  // the socket after finding more than one frame waiting, or finds JS not yet done with
  // the previous read's frames, the reactor waits this long before its next epoll_wait,
  // so the next read (and the next JS wake-up) carries every frame that arrived meanwhile.
  // The wait is reactor-wide (one thread serves every socket): while any socket with a
  // window is busy, all sockets are read, and parked frames flushed, once per window.
  // An idle reactor reads a frame as soon as it arrives.
  uint32_t rx_coalesce_us = 0;
  // Wait the window after every read that found frames, not only under load: a consumer
  // that trades up to rx_coalesce_us of latency for fewer, larger batches at any rate.
  // With a window, such a socket stays with the reactor (no direct reads).
  bool rx_coalesce_always = false;
  bool CoalescesAlways() const { return rx_coalesce_always && rx_coalesce_us > 0; }
  std::deque<std::vector<uint8_t>> ready;  // batches of records for JS

  // Direct reads (direct.h): on a quiet bus the socket's own JS thread reads it, woken by
  // its event loop, with no reactor wake-up and no thread hop. A direct read that finds
  // more than one frame waiting (load) hands the socket to the reactor, whose coalescing
  // window batches; kQuietReadsForDirect quiet reactor reads hand it back (can_socket.cc,
  // on the JS thread, after JS has taken every ready batch: frames stay in order).
  std::shared_ptr<DirectSet> direct_set;  // null: reactor reads only
  bool direct = false;           // EPOLLIN is in direct_set, not in the reactor's set
  bool direct_registered = false;
  unsigned quiet_reads = 0;

  // Transmit side.
  std::deque<TxItem> txq;        // frames parked after EAGAIN/ENOBUFS
  size_t tx_limit = 1024;
  bool tx_backoff = false;       // ENOBUFS: retry on a timer instead of EPOLLOUT
  std::vector<int32_t> completions;  // (seq, errno) pairs for parked frames

  // Socket errors (errno values) read with SO_ERROR, for JS.
  std::vector<int32_t> socket_errors;
  bool needs_rebind = false;     // ENODEV: the kernel unbound the socket
  bool down_reported = false;    // an ENETDOWN/ENODEV went to JS; cleared by traffic
                                 // (needs_rebind doubles as "this removal was reported")
  bool filters_custom = false;
  std::vector<can_filter> filters;

  SocketStats stats;

  // Computes the wanted epoll events and applies them (caller holds mu).
  void UpdateEpollLocked();
  // Queues a wake-up of JS (caller holds mu). Returns false if the TSFN queue was full.
  bool PostWakeLocked();
  // Records a socket error for an 'error' event (caller holds mu). `from_send`: the error
  // came from a send, which may consume the kernel's pending sk_err (or see the removal
  // before the reactor does), so report it unless this down state was already reported.
  // ENODEV is reported once per removal, from whichever path sees it first, and always
  // sets needs_rebind.
  void ReportErrorLocked(int err, bool from_send);
};

class Reactor {
 public:
  static Reactor& Instance();

  // Registers an open socket; starts the thread when it is the first. Returns 0 or errno
  // and sets *syscall to the call that failed (e.g. "pthread_create": EAGAIN when the
  // process or system thread limit is reached). On failure nothing stays registered.
  int Add(const std::shared_ptr<SocketCore>& core, const char** syscall);
  // Unregisters (idempotent); joins the thread when it was the last socket.
  void Remove(const std::shared_ptr<SocketCore>& core);
  // epoll_ctl MOD from any thread (caller holds core->mu).
  void Modify(SocketCore* core, uint32_t events);

  uint64_t NextId();

 private:
  Reactor() = default;
  static void* ThreadMain(void* self);
  void Run();
  // Both return the coalescing window the socket asks for after this read (0: none).
  uint32_t HandleEvents(const std::shared_ptr<SocketCore>& core, uint32_t events);
  uint32_t ReadSocket(const std::shared_ptr<SocketCore>& core);
  // Waits up to `micros` for the wake-up eventfd `evfd` (never reads it: epoll_wait does).
  static void Holdoff(int evfd, uint32_t micros);
  void FlushSocket(const std::shared_ptr<SocketCore>& core);
  void ReadSocketError(SocketCore* core);
  void ScheduleRetry(const std::shared_ptr<SocketCore>& core, std::chrono::milliseconds delay);

  std::mutex lifecycle_mu_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<SocketCore>> sockets_;
  UniqueFd epfd_;
  UniqueFd evfd_;
  pthread_t thread_{};
  bool running_ = false;  // thread_ was started and not yet joined (lifecycle_mu_)
  bool stop_ = false;
  uint64_t next_id_ = 1;

  // Reactor-thread-only state.
  RxBuffers* rx_ = nullptr;  // receive buffers, owned by Run()
  struct Retry {
    std::weak_ptr<SocketCore> core;
    std::chrono::steady_clock::time_point due;
    bool wake_only;
  };
  std::vector<Retry> retries_;
  std::unordered_map<uint64_t, std::chrono::milliseconds> backoff_;
};

}  // namespace uvscpd
