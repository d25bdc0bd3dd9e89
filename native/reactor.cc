// reactor.cc - see reactor.h.
#include "reactor.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "rx.h"
#include "tx.h"

namespace uvscpd {

namespace {

constexpr uint64_t kWakeId = 0;
constexpr auto kBackoffMin = std::chrono::milliseconds(1);
constexpr auto kBackoffMax = std::chrono::milliseconds(8);

}  // namespace

// ---------------------------------------------------------------------------------
// SocketCore

void SocketCore::UpdateEpollLocked() {
  if (!registered || closed) return;
  const bool reading = !paused && !rx_stopped;
  uint32_t want = 0;
  if (reading && !direct) want |= EPOLLIN;
  if (!txq.empty() && !tx_backoff) want |= EPOLLOUT;
  if (want != epoll_mask) {
    epoll_mask = want;
    Reactor::Instance().Modify(this, want);
  }
  // In the direct set only while it should be read there: a registration without EPOLLIN
  // would still report EPOLLERR and wake the JS thread for nothing.
  const bool want_direct = reading && direct && direct_set;
  if (want_direct != direct_registered) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = id;
    if (epoll_ctl(direct_set->epfd.get(), want_direct ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd.get(), &e) == 0) {
      direct_registered = want_direct;
    } else if (want_direct) {
      direct = false;  // cannot happen with valid descriptors; the reactor reads instead
      UpdateEpollLocked();
    }
  }
}

bool SocketCore::PostWakeLocked() {
  if (wake_posted || closed || tsfn == nullptr) return true;
  napi_status st = napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking);
  if (st == napi_ok) {
    wake_posted = true;
    return true;
  }
  return st != napi_queue_full;  // napi_closing: the socket is going away anyway
}

void SocketCore::ReportErrorLocked(int err, bool from_send) {
  if (err == ENODEV) {
    // The interface was removed (the kernel unbound the socket). Either path may see it
    // first: a send (ENXIO from raw_sendmsg, mapped to ENODEV) or the reactor (SO_ERROR).
    // Report it once, even after an ENETDOWN, so that JS starts re-binding.
    if (needs_rebind) return;
    needs_rebind = true;
    down_reported = true;
  } else if (err == ENETDOWN) {
    if (from_send && down_reported) return;
    down_reported = true;
  } else if (from_send) {
    return;  // other send errors go to the caller only
  }
  stats.errors++;
  socket_errors.push_back(err);
  PostWakeLocked();
}

// ---------------------------------------------------------------------------------
// Reactor

Reactor& Reactor::Instance() {
  // Deliberately leaked: must outlive every env, including at process exit.
  static Reactor* instance = new Reactor();
  return *instance;
}

uint64_t Reactor::NextId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_++;
}

int Reactor::Add(const std::shared_ptr<SocketCore>& core, const char** syscall) {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  const bool start = !running_;
  if (start) {
    // The epoll set and the wake-up eventfd exist (published under mu_) before the
    // thread does; Run() reads them.
    *syscall = "epoll_create1";
    UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
    if (!ep) return errno;
    *syscall = "eventfd";
    UniqueFd ev(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!ev) return errno;
    *syscall = "epoll_ctl";
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = kWakeId;
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, ev.get(), &e) != 0) return errno;
    std::lock_guard<std::mutex> lock(mu_);
    epfd_ = std::move(ep);
    evfd_ = std::move(ev);
    stop_ = false;
  }
  {
    std::lock_guard<std::mutex> clock(core->mu);
    epoll_event e{};
    e.events = core->direct ? 0u : static_cast<uint32_t>(EPOLLIN);  // a direct socket is read by its JS thread
    e.data.u64 = core->id;
    if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, core->fd.get(), &e) != 0) {
      int err = errno;
      *syscall = "epoll_ctl";
      if (start) {
        std::lock_guard<std::mutex> lock(mu_);
        epfd_.reset();
        evfd_.reset();
      }
      return err;
    }
    core->registered = true;
    core->epoll_mask = e.events;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    sockets_[core->id] = core;
  }
  if (start) {
    // pthread_create, not std::thread: without C++ exceptions a failure to start a thread
    // (EAGAIN at the process or system thread limit) would abort the process.
    int err = pthread_create(&thread_, nullptr, &Reactor::ThreadMain, this);
    if (err != 0) {
      *syscall = "pthread_create";
      {
        std::lock_guard<std::mutex> clock(core->mu);
        epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, core->fd.get(), nullptr);
        core->registered = false;
        core->epoll_mask = 0;
      }
      std::lock_guard<std::mutex> lock(mu_);
      sockets_.erase(core->id);
      epfd_.reset();
      evfd_.reset();
      return err;
    }
    running_ = true;
  }
  return 0;
}

void* Reactor::ThreadMain(void* self) {
  static_cast<Reactor*>(self)->Run();
  return nullptr;
}

void Reactor::Remove(const std::shared_ptr<SocketCore>& core) {
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  {
    std::lock_guard<std::mutex> clock(core->mu);
    if (!core->registered) return;
    core->registered = false;
    if (core->fd) epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, core->fd.get(), nullptr);
  }
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sockets_.erase(core->id);
    if (sockets_.empty()) {
      stop_ = true;
      last = true;
      uint64_t one = 1;
      ssize_t w = write(evfd_.get(), &one, sizeof one);
      (void)w;  // eventfd counter cannot overflow here; a failure would only mean "already signalled"
    }
  }
  if (last && running_) {
    pthread_join(thread_, nullptr);  // the reactor never waits for JS, so this is short
    running_ = false;
    std::lock_guard<std::mutex> lock(mu_);
    if (sockets_.empty()) {
      epfd_.reset();
      evfd_.reset();
    }
  }
}

void Reactor::Modify(SocketCore* core, uint32_t events) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = core->id;
  epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, core->fd.get(), &e);
}

void Reactor::ScheduleRetry(const std::shared_ptr<SocketCore>& core, std::chrono::milliseconds delay) {
  retries_.push_back(Retry{core, std::chrono::steady_clock::now() + delay, false});
}

void Reactor::Run() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  auto rx = std::make_unique<RxBuffers>();
  rx_ = rx.get();
  int epfd;
  int evfd;  // both stay open until this thread is joined
  {
    std::lock_guard<std::mutex> lock(mu_);
    epfd = epfd_.get();
    evfd = evfd_.get();
  }
  for (;;) {
    int timeout = -1;
    if (!retries_.empty()) {
      auto now = std::chrono::steady_clock::now();
      auto due = retries_.front().due;
      for (const auto& r : retries_) due = std::min(due, r.due);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
      timeout = ms <= 0 ? 0 : static_cast<int>(ms) + 1;
    }
    int n = epoll_wait(epfd, events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      n = 0;  // cannot happen with valid arguments; keep serving retries
    }
    uint32_t holdoff_us = 0;  // smallest window asked for by a busy socket in this round
    for (int i = 0; i < n; i++) {
      uint64_t id = events[i].data.u64;
      if (id == kWakeId) {
        uint64_t v;
        ssize_t r = read(evfd, &v, sizeof v);
        (void)r;
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_ && sockets_.empty()) {
          retries_.clear();
          backoff_.clear();
          stop_ = false;
          return;
        }
        continue;
      }
      std::shared_ptr<SocketCore> core;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = sockets_.find(id);
        if (it != sockets_.end()) core = it->second;
      }
      if (core) {
        uint32_t w = HandleEvents(core, events[i].events);
        if (w != 0 && (holdoff_us == 0 || w < holdoff_us)) holdoff_us = w;
      }
    }
    if (!retries_.empty()) {
      auto now = std::chrono::steady_clock::now();
      std::vector<Retry> due;
      auto it = std::partition(retries_.begin(), retries_.end(), [&](const Retry& r) { return r.due > now; });
      due.assign(it, retries_.end());
      retries_.erase(it, retries_.end());
      for (auto& r : due) {
        auto core = r.core.lock();
        if (!core) continue;
        if (r.wake_only) {
          std::lock_guard<std::mutex> clock(core->mu);
          if (!core->PostWakeLocked()) retries_.push_back(Retry{core, now + kBackoffMin, true});
          continue;
        }
        {
          std::lock_guard<std::mutex> clock(core->mu);
          if (core->closed) continue;
          core->tx_backoff = false;
        }
        FlushSocket(core);
      }
    }
    {
      // Forget backoff state of sockets that are gone.
      std::lock_guard<std::mutex> lock(mu_);
      if (backoff_.size() > sockets_.size()) {
        for (auto it = backoff_.begin(); it != backoff_.end();) {
          it = sockets_.count(it->first) ? std::next(it) : backoff_.erase(it);
        }
      }
    }
    if (holdoff_us != 0) Holdoff(evfd, holdoff_us);
  }
}

// The receive coalescing window (bench/README.md, "Coalescing"): frames keep arriving into
// the kernel buffer (SO_RXQ_OVFL still counts any loss) while the reactor sleeps; only the
// wake-up eventfd (socket removal, shutdown) ends the wait early. The wait is the whole
// reactor's: other sockets' reads and parked-frame flushes wait with it (see reactor.h).
void Reactor::Holdoff(int evfd, uint32_t micros) {
  pollfd p{};
  p.fd = evfd;
  p.events = POLLIN;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(micros / 1000000);
  ts.tv_nsec = static_cast<long>(micros % 1000000) * 1000;
  // EINTR ends the wait early (a shorter window is harmless; restarting it would let
  // frequent signals stretch it without bound).
  ppoll(&p, 1, &ts, nullptr);
}

uint32_t Reactor::HandleEvents(const std::shared_ptr<SocketCore>& core, uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    std::lock_guard<std::mutex> clock(core->mu);
    if (!core->closed) ReadSocketError(core.get());
  }
  uint32_t window = 0;
  if (events & EPOLLIN) window = ReadSocket(core);
  if (events & EPOLLOUT) FlushSocket(core);
  return window;
}

// Reads and clears the pending socket error (caller holds mu). Reading SO_ERROR resets
// sk_err, so a level-triggered EPOLLERR does not fire again until the next transition.
void Reactor::ReadSocketError(SocketCore* core) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(core->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // EPOLLERR without sk_err: drain the error queue so the event cannot repeat.
    uint8_t buf[256];
    for (int i = 0; i < 64; i++) {
      if (recv(core->fd.get(), buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    }
    return;
  }
  core->ReportErrorLocked(err, false);
}

uint32_t Reactor::ReadSocket(const std::shared_ptr<SocketCore>& core) {
  RxBuffers* rx = rx_;
  std::lock_guard<std::mutex> clock(core->mu);
  if (core->closed || core->paused || core->rx_stopped || core->direct) return 0;
  // Load signals, no clock needed: JS has not yet taken the frames of the last read, or
  // more than one frame queued up since then.
  bool busy = !core->ready.empty();
  bool drained = false;  // this read emptied the kernel queue
  size_t frames_read = 0;
  bool wake_failed = false;
  for (unsigned round = 0; round < kBatchesPerWakeup; round++) {
    std::vector<uint8_t> batch;
    int n = ReadOnceLocked(core.get(), rx, &batch);
    if (n < 0) {
      int err = -n;
      if (err == EINTR) continue;
      drained = err == EAGAIN || err == EWOULDBLOCK;
      if (!drained) {
        // The receive path reports (and clears) a pending socket error: surface it.
        core->ReportErrorLocked(err, false);
      }
      break;
    }
    if (n == 0) {
      drained = true;
      break;
    }
    const size_t count = batch.size() / kRecordSize;
    frames_read += count;
    if (count > 0) {
      core->ready.push_back(std::move(batch));
      if (!core->PostWakeLocked()) wake_failed = true;
    }
    if (core->ready.size() >= kMaxReadyBatches || wake_failed) {
      core->paused = true;  // JS is behind: let the kernel buffer absorb the burst
      core->UpdateEpollLocked();
      break;
    }
    if (static_cast<unsigned>(n) < kBatchFrames) {
      drained = true;
      break;
    }
  }
  if (wake_failed) retries_.push_back(Retry{core, std::chrono::steady_clock::now() + kBackoffMin, true});
  if (frames_read > 1 || core->CoalescesAlways()) busy = true;
  if (frames_read > 0) core->quiet_reads = busy ? 0 : core->quiet_reads + 1;
  // Only a drained socket waits: one that paused (JS is behind) or hit the per-wake-up cap
  // still has frames queued, and holding off then would only cap its throughput.
  return busy && drained && frames_read > 0 ? core->rx_coalesce_us : 0;
}

void Reactor::FlushSocket(const std::shared_ptr<SocketCore>& core) {
  std::lock_guard<std::mutex> clock(core->mu);
  if (core->closed) return;
  bool enobufs = false;
  bool progressed = false;
  while (!core->txq.empty()) {
    int err = 0;
    const uint32_t sent = SendLoopLocked<canfd_frame>(
        core.get(), static_cast<uint32_t>(std::min<size_t>(core->txq.size(), UINT32_MAX)),
        [](const void* src, uint32_t k) { return &(*static_cast<const std::deque<TxItem>*>(src))[k].frame; },
        &core->txq, &err);
    if (sent > 0) progressed = true;
    for (uint32_t i = 0; i < sent; i++) {
      core->completions.push_back(core->txq.front().seq);
      core->completions.push_back(0);
      core->txq.pop_front();
    }
    if (err == 0) continue;
    if (err == EAGAIN) break;  // EPOLLOUT will tell us
    if (err == ENOBUFS) {
      enobufs = true;  // qdisc full: the socket still polls writable, so use a timer
      break;
    }
    core->ReportErrorLocked(err, true);
    const TxItem& item = core->txq.front();
    core->stats.tx_errors++;
    core->completions.push_back(item.seq);
    core->completions.push_back(err);
    core->txq.pop_front();
    progressed = true;
  }
  auto& backoff = backoff_[core->id];
  if (progressed || backoff.count() == 0) backoff = kBackoffMin;
  if (enobufs) {
    core->tx_backoff = true;
    ScheduleRetry(core, backoff);
    backoff = std::min(backoff * 2, kBackoffMax);
  } else {
    core->tx_backoff = false;
  }
  core->UpdateEpollLocked();
  if (!core->completions.empty() && !core->PostWakeLocked()) {
    retries_.push_back(Retry{core, std::chrono::steady_clock::now() + kBackoffMin, true});
  }
}

}  // namespace uvscpd
