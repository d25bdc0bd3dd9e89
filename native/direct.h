// direct.h - direct reads: on a quiet bus, a socket's own JS thread reads it.
//
// Each env (the main thread, every worker) that opens a CAN socket gets one epoll set
// (DirectSet) watched by a uv_poll in the env's own event loop (napi_get_uv_event_loop).
// A socket in direct mode has its EPOLLIN there instead of in the reactor's set: a frame
// wakes the JS thread's loop, which reads the socket (recvmmsg) and calls JS at once,
// with no reactor wake-up, no thread-safe-function hop and no hand-over of the batch.
// Under load (a read finds more than one frame waiting) the socket goes to the reactor,
// whose coalescing window batches as before; see reactor.h for the hand-back. Sending,
// parked frames, errors and retries stay with the reactor in both modes.
//
// Memory stays bounded: a direct read takes at most kBatchesPerWakeup batches and hands
// them to JS before reading again; while JS is busy nothing is read, the kernel buffers
// and, once full, drops and counts (SO_RXQ_OVFL), as with the reactor's pause.
#pragma once

#include <node_api.h>

#include <memory>
#include <unordered_map>

#include "reactor.h"
#include "uv_min.h"

namespace uvscpd {

class CanSocketWrap;
struct EnvState;

class DirectReader {
 public:
  // The env's reader, created on first use; nullptr when the env's loop cannot watch one
  // (then sockets are read by the reactor only).
  static DirectReader* ForEnv(napi_env env, const std::shared_ptr<EnvState>& state);
  ~DirectReader();

  const std::shared_ptr<DirectSet>& set() const { return set_; }
  void Add(uint64_t id, CanSocketWrap* wrap) { wraps_[id] = wrap; }
  void Remove(uint64_t id) { wraps_.erase(id); }
  RxBuffers* rx() { return rx_.get(); }
  napi_async_context async_context() const { return async_; }

 private:
  DirectReader() = default;
  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnClosed(uv_handle_t* handle);

  napi_env env_ = nullptr;
  std::weak_ptr<EnvState> state_;
  std::shared_ptr<DirectSet> set_;
  std::unique_ptr<RxBuffers> rx_;
  uv_poll_t* poll_ = nullptr;  // uv_handle_size(UV_POLL) bytes; freed after uv_close
  napi_async_context async_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_ = nullptr;
  std::unordered_map<uint64_t, CanSocketWrap*> wraps_;  // open direct-capable sockets
};

}  // namespace uvscpd
