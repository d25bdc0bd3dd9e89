// direct.cc - see direct.h.
#include "direct.h"

#include <errno.h>
#include <sys/epoll.h>

#include <cstdlib>

#include "can_socket.h"
#include "rx.h"

namespace uvscpd {

DirectReader* DirectReader::ForEnv(napi_env env, const std::shared_ptr<EnvState>& state) {
  if (state->direct != nullptr || state->direct_unavailable) return state->direct;
  state->direct_unavailable = true;  // until it is set up
  // Opt-in (UVSCPD_DIRECT_READS=1) until it measures better than the reactor path, which it
  // has not yet (bench/README.md, "Direct reads"). While the JS thread is busy nothing reads
  // a socket in direct mode and the kernel buffer holds the frames; the reactor path holds
  // at most kMaxReadyBatches more before it pauses too.
  const char* knob = std::getenv("UVSCPD_DIRECT_READS");
  if (knob == nullptr || knob[0] != '1') return nullptr;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return nullptr;
  std::unique_ptr<DirectReader> r(new DirectReader());
  r->env_ = env;
  r->state_ = state;
  r->set_ = std::make_shared<DirectSet>();
  r->set_->epfd.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!r->set_->epfd) return nullptr;
  r->rx_ = std::make_unique<RxBuffers>();
  napi_value name;
  napi_value resource;
  if (napi_create_string_utf8(env, "uvscpd:CanSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok || napi_async_init(env, resource, name, &r->async_) != napi_ok) {
    return nullptr;
  }
  r->poll_ = static_cast<uv_poll_t*>(std::calloc(1, uv_handle_size(UV_POLL)));
  if (r->poll_ == nullptr || uv_poll_init(loop, r->poll_, r->set_->epfd.get()) != 0) {
    napi_async_destroy(env, r->async_);
    return nullptr;  // the destructor frees poll_ (never initialised: nothing to close)
  }
  // From here the handle is in the loop: it is freed only through uv_close (OnClosed).
  auto* handle = reinterpret_cast<uv_handle_t*>(r->poll_);
  uv_handle_set_data(handle, r.get());
  uv_unref(handle);  // open sockets keep the loop alive through their thread-safe functions
  if (uv_poll_start(r->poll_, UV_READABLE, OnReadable) != 0 ||
      napi_add_async_cleanup_hook(env, OnEnvCleanup, r.get(), &r->cleanup_) != napi_ok) {
    napi_async_destroy(env, r->async_);
    r->async_ = nullptr;
    uv_close(handle, OnClosed);
    r.release();  // deleted by OnClosed
    return nullptr;
  }
  state->direct_unavailable = false;
  state->direct = r.release();
  return state->direct;
}

DirectReader::~DirectReader() { std::free(poll_); }

// The env's loop found the direct set readable: read every socket that has frames.
void DirectReader::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* r = static_cast<DirectReader*>(uv_handle_get_data(reinterpret_cast<uv_handle_t*>(handle)));
  if (r == nullptr || status < 0) return;
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(r->set_->epfd.get(), events, kMaxEvents, 0);
  // JS runs between reads and may close sockets: look each one up when its turn comes.
  for (int i = 0; i < n; i++) {
    auto it = r->wraps_.find(events[i].data.u64);
    if (it != r->wraps_.end()) it->second->ReadDirect(r);
  }
}

// Env teardown (worker termination, process exit): close the handle; Node waits for it.
void DirectReader::OnEnvCleanup(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  auto* r = static_cast<DirectReader*>(arg);
  if (auto state = r->state_.lock()) {
    state->direct = nullptr;
    state->direct_unavailable = true;  // sockets opened during teardown use the reactor
  }
  r->wraps_.clear();
  if (r->async_ != nullptr) napi_async_destroy(r->env_, r->async_);
  r->async_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(r->poll_), OnClosed);
}

void DirectReader::OnClosed(uv_handle_t* handle) {
  auto* r = static_cast<DirectReader*>(uv_handle_get_data(handle));
  if (r->cleanup_ != nullptr) napi_remove_async_cleanup_hook(r->cleanup_);
  delete r;
}

}  // namespace uvscpd
