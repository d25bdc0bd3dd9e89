// can_socket.cc - see can_socket.h.
#include "can_socket.h"

#include <errno.h>
#include <linux/can/raw.h>
#include <linux/net_tstamp.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "direct.h"
#include "errors.h"
#include "rx.h"
#include "tx.h"

namespace uvscpd {

namespace {

uint32_t GetU32LE(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

// Opens a handle scope and runs deliver(owner) with the TypeScript object of `owner_ref`;
// nothing when it is gone. Plain Node-API calls with every status checked: during env
// teardown (a worker being terminated) JS cannot run and creating values fails; the data
// is then dropped quietly (node-addon-api would try to throw, which is fatal then).
template <typename Deliver>
void WithOwner(napi_env env, napi_ref owner_ref, Deliver deliver) {
  napi_handle_scope scope;
  if (owner_ref == nullptr || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value owner = nullptr;
  if (napi_get_reference_value(env, owner_ref, &owner) == napi_ok && owner != nullptr) deliver(owner);
  napi_close_handle_scope(env, scope);
}

// Runs on the JS thread of the socket's env whenever the reactor has news for it.
void CallJs(napi_env env, napi_value js_cb, void* context, void* /*data*/) {
  auto* ctx = static_cast<TsfnContext*>(context);
  if (env == nullptr || ctx == nullptr) return;  // TSFN being torn down
  std::shared_ptr<SocketCore> core = ctx->core;
  std::deque<std::vector<uint8_t>> batches;
  std::vector<int32_t> completions;
  std::vector<int32_t> errors;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    core->wake_posted = false;
    if (core->closed) return;
    batches.swap(core->ready);
    completions.swap(core->completions);
    errors.swap(core->socket_errors);
    core->paused = false;  // JS has taken everything: resume reading
    if (!core->direct && core->direct_set && ctx->wrap != nullptr && core->quiet_reads >= kQuietReadsForDirect) {
      // The bus is quiet again: this thread reads the socket itself from now on. Every
      // frame the reactor read is in `batches`, delivered below, before any direct read.
      core->direct = true;
      core->quiet_reads = 0;
    }
    core->UpdateEpollLocked();
  }
  if (batches.empty() && completions.empty() && errors.empty()) return;
  WithOwner(env, ctx->owner, [&](napi_value owner) {
    napi_value undef;
    if (napi_get_undefined(env, &undef) != napi_ok) return;
    napi_value js_batches = undef;
    if (!batches.empty()) {
      if (napi_create_array_with_length(env, batches.size(), &js_batches) != napi_ok) return;
      uint32_t i = 0;
      for (auto& b : batches) {
        napi_value buf;
        if (napi_create_buffer_copy(env, b.size(), b.data(), nullptr, &buf) != napi_ok) return;
        if (napi_set_element(env, js_batches, i++, buf) != napi_ok) return;
      }
    }
    napi_value js_completions = undef;
    if (!completions.empty()) {
      void* data = nullptr;
      napi_value ab;
      const size_t bytes = completions.size() * sizeof(int32_t);
      if (napi_create_arraybuffer(env, bytes, &data, &ab) != napi_ok || data == nullptr) return;
      std::memcpy(data, completions.data(), bytes);
      if (napi_create_typedarray(env, napi_int32_array, completions.size(), ab, 0, &js_completions) != napi_ok) return;
    }
    napi_value js_errors = undef;
    if (!errors.empty()) {
      if (napi_create_array_with_length(env, errors.size(), &js_errors) != napi_ok) return;
      for (uint32_t i = 0; i < errors.size(); i++) {
        napi_value n;
        if (napi_create_int32(env, errors[i], &n) != napi_ok || napi_set_element(env, js_errors, i, n) != napi_ok) return;
      }
    }
    napi_value argv[4] = {owner, js_batches, js_completions, js_errors};
    napi_value result;
    // An exception thrown here (e.g. an 'error' event nobody listens to) becomes an
    // uncaught exception, as with net.Socket.
    napi_call_function(env, undef, js_cb, 4, argv, &result);
  });
}

void FinalizeTsfn(napi_env env, void* finalize_data, void* /*hint*/) {
  auto* ctx = static_cast<TsfnContext*>(finalize_data);
  if (ctx->wrap != nullptr) ctx->wrap->OnTsfnFinalized();
  if (ctx->owner != nullptr && env != nullptr) napi_delete_reference(env, ctx->owner);
  delete ctx;
}

// One send record (layout.h) to a kernel frame. Classic records fill a can_frame, the
// path classic sends always had; FD-sized ones a canfd_frame. Lengths and flags were
// checked in TypeScript (lib/can/fd.ts); here they are only kept in bounds (an FD frame on
// a socket without CAN FD is refused by the kernel: EINVAL).
void DecodeTxRecord(const uint8_t* p, can_frame* f) {
  std::memset(f, 0, sizeof *f);
  f->can_id = GetU32LE(p + kTxIdOffset);
  const uint8_t len = std::min<uint8_t>(p[kTxLenOffset], CAN_MAX_DLEN);
  f->can_dlc = len;  // can_dlc, not len: len exists only in Linux >= 5.11 headers
  if (!(f->can_id & CAN_RTR_FLAG)) std::memcpy(f->data, p + kTxDataOffset, len);
}

void DecodeTxRecord(const uint8_t* p, canfd_frame* f) {
  std::memset(f, 0, sizeof *f);
  f->can_id = GetU32LE(p + kTxIdOffset);
  const uint8_t flags = p[kTxFlagsOffset];
  const bool fd = flags & kRecordFlagFd;
  f->len = std::min<uint8_t>(p[kTxLenOffset], fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN);
  if (fd) {
    f->flags = CANFD_FDF;
    if (flags & kRecordFlagBrs) f->flags |= CANFD_BRS;
    if (flags & kRecordFlagEsi) f->flags |= CANFD_ESI;
  }
  if (!(f->can_id & CAN_RTR_FLAG)) std::memcpy(f->data, p + kTxDataOffset, f->len);
}

template <typename Frame, size_t kRecordBytes>
SendResult SendRecords(SocketCore* core, const uint8_t* records, uint32_t count, int32_t seq, const uint32_t* ends,
                       uint32_t nends) {
  std::vector<Frame> frames(count);
  for (uint32_t i = 0; i < count; i++) DecodeTxRecord(records + static_cast<size_t>(i) * kRecordBytes, &frames[i]);
  return SendFrames(core, frames.data(), count, seq, ends, nends);
}

int SetIntOpt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

}  // namespace

Napi::Function CanSocketWrap::Init(Napi::Env env) {
  return DefineClass(env, "CanSocket",
                     {
                         InstanceMethod<&CanSocketWrap::Send>("send"),
                         InstanceMethod<&CanSocketWrap::Close>("close"),
                         InstanceMethod<&CanSocketWrap::Configure>("configure"),
                         InstanceMethod<&CanSocketWrap::Stats>("stats"),
                         InstanceMethod<&CanSocketWrap::Ref>("ref"),
                         InstanceMethod<&CanSocketWrap::Unref>("unref"),
                         InstanceMethod<&CanSocketWrap::Fd>("fd"),
                         InstanceMethod<&CanSocketWrap::Rebind>("rebind"),
                         InstanceMethod<&CanSocketWrap::SetReceiving>("setReceiving"),
                         InstanceMethod<&CanSocketWrap::Mtu>("mtu"),
                     });
}

// new CanSocket(owner: object, dispatch: Function, ifname: string, options: object)
CanSocketWrap::CanSocketWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CanSocketWrap>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  env_state_ = GetEnvState(env);
  if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsString() ||
      !info[3].IsObject()) {
    Napi::TypeError::New(env, "CanSocket(owner, dispatch, interfaceName, options)").ThrowAsJavaScriptException();
    closed_ = true;
    return;
  }
  core_ = std::make_shared<SocketCore>();
  core_->ifname = info[2].As<Napi::String>().Utf8Value();
  const std::string& name = core_->ifname;
  Napi::Object opts = info[3].As<Napi::Object>();
  closed_ = true;  // until fully open

  if (name.empty() || name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) {
    ThrowErrno(env, name.empty() ? EINVAL : ENAMETOOLONG, "if_nametoindex", name);
    return;
  }
  core_->fd.reset(socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW));
  if (!core_->fd) {
    ThrowErrno(env, errno, "socket", name);
    return;
  }
  const int fd = core_->fd.get();
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    ThrowErrno(env, errno, "ioctl", name);
    return;
  }
  // Nanoseconds: every local receiver of a frame gets the same kernel timestamp, which
  // with id and data tells frames apart (lib/server/origins.ts).
  int err = SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  if (err == 0) err = SetIntOpt(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
  // CAN FD and hardware timestamps are chosen once, at open (the receive path of a
  // socket depends on them, rx.h).
  if (err == 0 && opts.Get("fd").ToBoolean().Value()) {
    err = SetIntOpt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1);
    core_->fd_frames = err == 0;
  }
  if (err == 0 && opts.Get("hardwareTimestamps").ToBoolean().Value()) {
    // The device's time when it has one (RAW_HARDWARE), with the software time beside it;
    // without a hardware time the SO_TIMESTAMPNS time stands (rx.cc).
    err = SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPING,
                    SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
                        SOF_TIMESTAMPING_SOFTWARE);
    core_->hw_timestamps = err == 0;
  }
  if (err != 0) {
    ThrowErrno(env, err, "setsockopt", name);
    return;
  }
  if (ApplyOptions(env, opts, nullptr) != 0) return;
  sockaddr_can addr{};
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifr.ifr_ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ThrowErrno(env, errno, "bind", name);
    return;
  }

  auto* ctx = new TsfnContext();
  ctx->core = core_;
  if (napi_create_reference(env, info[0], 1, &ctx->owner) != napi_ok) {
    delete ctx;
    Napi::Error::New(env, "napi_create_reference failed").ThrowAsJavaScriptException();
    return;
  }
  ctx->strong = true;
  napi_value resource_name;
  napi_create_string_utf8(env, "uvscpd:CanSocket", NAPI_AUTO_LENGTH, &resource_name);
  napi_threadsafe_function tsfn = nullptr;
  // At most one call per socket is ever queued (wake_posted), so a tiny queue suffices.
  napi_status st = napi_create_threadsafe_function(env, info[1], nullptr, resource_name, 4, 1, ctx, FinalizeTsfn, ctx,
                                                   CallJs, &tsfn);
  if (st != napi_ok) {
    napi_delete_reference(env, ctx->owner);
    delete ctx;
    Napi::Error::New(env, "napi_create_threadsafe_function failed").ThrowAsJavaScriptException();
    return;
  }
  ctx->wrap = this;
  ctx_ = ctx;
  dispatch_ = Napi::Persistent(info[1].As<Napi::Function>());
  core_->id = Reactor::Instance().NextId();
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->tsfn = tsfn;
  }
  const char* syscall = "epoll_ctl";
  err = Reactor::Instance().Add(core_, &syscall);
  if (err != 0) {
    closed_ = false;
    CloseNative(nullptr);
    ThrowErrno(env, err, syscall, name);
    return;
  }
  closed_ = false;
  env_state_->live.insert(this);
  // Set up after the socket is open, so that a failed open leaves nothing behind.
  DirectReader* direct = DirectReader::ForEnv(env, env_state_);
  if (direct != nullptr) {
    direct->Add(core_->id, this);
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->direct_set = direct->set();
    // A new socket starts on a quiet bus, unless the reactor already read frames that
    // JS has not had yet (they must come first; the hand-back comes when it is quiet).
    if (core_->ready.empty()) {
      core_->direct = true;
      core_->UpdateEpollLocked();  // EPOLLIN from the reactor's set into the direct set
    }
  }
}

CanSocketWrap::~CanSocketWrap() {
  // Garbage-collected (or env teardown) without close(): never leak the descriptor.
  CloseNative(nullptr);
  if (ctx_ != nullptr) ctx_->wrap = nullptr;
}

void CanSocketWrap::CloseNative(std::vector<int32_t>* outcomes) {
  if (!core_) return;
  if (env_state_) {
    env_state_->live.erase(this);
    if (env_state_->direct != nullptr) env_state_->direct->Remove(core_->id);
  }
  if (closed_ && core_->closed) return;
  closed_ = true;
  Reactor::Instance().Remove(core_);
  napi_threadsafe_function tsfn = nullptr;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (core_->closed) return;
    core_->closed = true;
    tsfn = core_->tsfn;
    core_->tsfn = nullptr;
    if (outcomes != nullptr) {
      outcomes->swap(core_->completions);
      for (const TxItem& item : core_->txq) {
        outcomes->push_back(item.seq);
        outcomes->push_back(ECANCELED);
      }
    }
    core_->txq.clear();
    core_->ready.clear();
    core_->completions.clear();
    core_->socket_errors.clear();
    core_->fd.reset();  // the one and only close(2) of this socket
  }
  if (ctx_ != nullptr && ctx_->strong && ctx_->owner != nullptr) {
    // A closed socket keeps nothing alive.
    uint32_t count = 0;
    napi_reference_unref(env_, ctx_->owner, &count);
    ctx_->strong = false;
  }
  if (tsfn != nullptr) napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
}

void CanSocketWrap::OnTsfnFinalized() {
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->tsfn = nullptr;
  }
  if (ctx_ != nullptr) {
    ctx_->strong = false;  // the reference is deleted by the finalizer
    ctx_ = nullptr;
  }
  CloseNative(nullptr);
}

void CanSocketWrap::ReadDirect(DirectReader* reader) {
  if (closed_ || !core_) return;
  std::vector<uint8_t> records;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (core_->closed || !core_->direct || core_->rx_stopped) return;  // stale readiness
    for (unsigned round = 0; round < kBatchesPerWakeup; round++) {
      const int n = ReadOnceLocked(core_.get(), reader->rx(), &records);
      if (n < 0) {
        if (n == -EINTR) continue;
        // The receive path reports (and clears) a pending socket error: surface it.
        if (n != -EAGAIN && n != -EWOULDBLOCK) core_->ReportErrorLocked(-n, false);
        break;
      }
      if (static_cast<unsigned>(n) < kBatchFrames) break;  // drained
    }
    if (records.size() > kRecordSize || core_->CoalescesAlways()) {
      // Frames queue up between reads: load. The reactor (and its coalescing window) reads
      // from now on, in parallel with JS; it hands the socket back when the bus is quiet.
      core_->direct = false;
      core_->quiet_reads = 0;
      core_->UpdateEpollLocked();
    }
  }
  if (records.empty()) return;
  if (ctx_ == nullptr || dispatch_.IsEmpty()) return;
  napi_env env = env_;
  WithOwner(env, ctx_->owner, [&](napi_value owner) {
    napi_value fn = dispatch_.Value();
    napi_value undef;
    napi_value buf;
    napi_value batches;
    if (napi_get_undefined(env, &undef) != napi_ok ||
        napi_create_buffer_copy(env, records.size(), records.data(), nullptr, &buf) != napi_ok ||
        napi_create_array_with_length(env, 1, &batches) != napi_ok || napi_set_element(env, batches, 0, buf) != napi_ok) {
      return;
    }
    napi_value argv[4] = {owner, batches, undef, undef};
    napi_value result;
    // A callback scope: microtasks and nextTicks run after, as for any I/O callback. An
    // exception thrown by a listener becomes an uncaught exception, as with net.Socket.
    if (napi_make_callback(env, reader->async_context(), owner, fn, 4, argv, &result) == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  });
}

bool CanSocketWrap::CheckOpen(Napi::Env env) {
  if (!closed_) return true;
  Napi::Error e = ErrnoError(env, EBADF, "send", core_ ? core_->ifname : std::string());
  e.Value().Set("code", Napi::String::New(env, "ERR_SOCKET_CLOSED"));
  e.ThrowAsJavaScriptException();
  return false;
}

// Every socket option goes through here, from the constructor and from configure():
// filters, errorMask, loopback, receiveOwnMessages, receiveBufferSize (the size the kernel
// granted goes to *granted), receiveCoalesceUs, receiveCoalesceAlways, txQueueLimit; absent ones are left alone.
// Returns 0, or an errno with a JS exception pending.
int CanSocketWrap::ApplyOptions(Napi::Env env, const Napi::Object& opts, int* granted) {
  std::vector<can_filter> filters;
  bool set_filters = false;
  bool custom = true;
  Napi::Value v = opts.Get("filters");
  if (v.IsNull()) {
    set_filters = true;
    custom = false;
    filters.push_back(can_filter{0, 0});  // the kernel default: receive everything
  } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    set_filters = true;
    Napi::Uint32Array a = v.As<Napi::Uint32Array>();
    size_t n = a.ElementLength() / 2;
    if (a.ElementLength() % 2 != 0 || n > CAN_RAW_FILTER_MAX) {
      Napi::RangeError::New(env, "filters: at most 512 (id, mask) pairs").ThrowAsJavaScriptException();
      return EINVAL;
    }
    filters.resize(n);
    for (size_t i = 0; i < n; i++) {
      filters[i].can_id = a[2 * i];
      filters[i].can_mask = a[2 * i + 1];
    }
  } else if (!v.IsUndefined()) {
    Napi::TypeError::New(env, "filters must be a Uint32Array of (id, mask) pairs or null").ThrowAsJavaScriptException();
    return EINVAL;
  }
  // Numbers are checked here too (the TS layer validates first): Int32Value() would wrap
  // 3e9 to a negative size, and a static_cast of NaN is undefined behaviour.
  int rcvbuf = -1;
  v = opts.Get("receiveBufferSize");
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 0x7fffffff)) {
      Napi::RangeError::New(env, "receiveBufferSize must be 0..2147483647").ThrowAsJavaScriptException();
      return EINVAL;
    }
    rcvbuf = static_cast<int>(d);
  }
  int64_t coalesce = -1;
  v = opts.Get("receiveCoalesceUs");
  if (v.IsNumber()) {
    double us = v.As<Napi::Number>().DoubleValue();
    if (!(us >= 0 && us <= kMaxCoalesceMicros)) {
      Napi::RangeError::New(env, "receiveCoalesceUs must be 0..10000").ThrowAsJavaScriptException();
      return EINVAL;
    }
    coalesce = static_cast<int64_t>(us);
  }
  Napi::Value error_mask = opts.Get("errorMask");
  Napi::Value loopback = opts.Get("loopback");
  Napi::Value own = opts.Get("receiveOwnMessages");
  Napi::Value tx_limit = opts.Get("txQueueLimit");
  Napi::Value join = opts.Get("joinFilters");
  Napi::Value coalesce_always = opts.Get("receiveCoalesceAlways");

  std::lock_guard<std::mutex> lock(core_->mu);
  const int fd = core_->fd.get();
  auto fail = [&](int err, const char* syscall) {
    ThrowErrno(env, err, syscall, core_->ifname);
    return err;
  };
  if (set_filters) {
    const void* p = filters.empty() ? nullptr : filters.data();
    socklen_t len = static_cast<socklen_t>(filters.size() * sizeof(can_filter));
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, p, len) != 0) return fail(errno, "setsockopt");
    core_->filters_custom = custom;
    core_->filters = std::move(filters);
  }
  if (error_mask.IsNumber()) {
    can_err_mask_t mask = error_mask.As<Napi::Number>().Uint32Value();
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &mask, sizeof mask) != 0) return fail(errno, "setsockopt");
  }
  int err;
  if (loopback.IsBoolean() &&
      (err = SetIntOpt(fd, SOL_CAN_RAW, CAN_RAW_LOOPBACK, loopback.As<Napi::Boolean>() ? 1 : 0)) != 0) {
    return fail(err, "setsockopt");
  }
  if (own.IsBoolean() && (err = SetIntOpt(fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, own.As<Napi::Boolean>() ? 1 : 0)) != 0) {
    return fail(err, "setsockopt");
  }
  if (join.IsBoolean() && (err = SetIntOpt(fd, SOL_CAN_RAW, CAN_RAW_JOIN_FILTERS, join.As<Napi::Boolean>() ? 1 : 0)) != 0) {
    return fail(err, "setsockopt");
  }
  if (rcvbuf >= 0) {
    // SO_RCVBUFFORCE (CAP_NET_ADMIN) passes rmem_max; without the capability, SO_RCVBUF.
    if (SetIntOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf) != 0 && (err = SetIntOpt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf)) != 0) {
      return fail(err, "setsockopt");
    }
    if (granted != nullptr) {
      socklen_t len = sizeof *granted;
      if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, granted, &len) != 0) return fail(errno, "getsockopt");
    }
  }
  if (coalesce >= 0) core_->rx_coalesce_us = static_cast<uint32_t>(coalesce);
  if (coalesce_always.IsBoolean()) core_->rx_coalesce_always = coalesce_always.As<Napi::Boolean>();
  if (tx_limit.IsNumber()) {
    double lim = tx_limit.As<Napi::Number>().DoubleValue();
    core_->tx_limit = !(lim > 0) ? 0 : lim > 1e9 ? 1000000000u : static_cast<size_t>(lim);
  }
  return 0;
}

// configure(options) -> the receive buffer size the kernel granted when
// options.receiveBufferSize is given, else undefined. Same options as the constructor.
Napi::Value CanSocketWrap::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "configure(options: object)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  int granted = -1;
  if (ApplyOptions(env, opts, &granted) != 0) return env.Undefined();
  return granted >= 0 ? Napi::Number::New(env, granted) : env.Undefined();
}

// send(frames: Buffer, count: number, firstSeq: number, ends?: Uint32Array, fdRecords?: boolean)
//   -> count (all taken) | [sent, parked, errno]
// `ends`: exclusive end index of each request in `frames`, increasing (see tx.h).
// `fdRecords`: the records are kTxFdRecordSize bytes with FD flags (layout.h).
Napi::Value CanSocketWrap::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "send(buffer, count, firstSeq)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t count = info[1].As<Napi::Number>().Int64Value();
  int32_t seq = info[2].As<Napi::Number>().Int32Value();
  const bool fd_records = info.Length() > 4 && info[4].ToBoolean().Value();
  const size_t record_size = fd_records ? kTxFdRecordSize : kTxRecordSize;
  if (count < 0 || static_cast<uint64_t>(count) * record_size > buf.Length()) {
    Napi::RangeError::New(env, "send: count exceeds the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t* ends = nullptr;
  uint32_t nends = 0;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "send: ends must be a Uint32Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array a = info[3].As<Napi::Uint32Array>();
    ends = a.Data();
    nends = static_cast<uint32_t>(a.ElementLength());
    for (uint32_t k = 0; k < nends; k++) {
      if (ends[k] > static_cast<uint64_t>(count) || (k > 0 && ends[k] <= ends[k - 1])) {
        Napi::RangeError::New(env, "send: ends must increase and not exceed count").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
  }
  const uint32_t n = static_cast<uint32_t>(count);
  SendResult r = fd_records ? SendRecords<canfd_frame, kTxFdRecordSize>(core_.get(), buf.Data(), n, seq, ends, nends)
                            : SendRecords<can_frame, kTxRecordSize>(core_.get(), buf.Data(), n, seq, ends, nends);
  if (r.sent == n) return Napi::Number::New(env, r.sent);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, r.sent));
  out.Set(1u, Napi::Number::New(env, r.parked));
  out.Set(2u, Napi::Number::New(env, r.err));
  return out;
}

// mtu() -> the interface's MTU now (SIOCGIFMTU): CAN_MTU (16) on a classic-only
// interface, CANFD_MTU (72) on one that carries CAN FD; -errno when it cannot be read.
Napi::Value CanSocketWrap::Mtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) return Napi::Number::New(env, -EBADF);
  std::lock_guard<std::mutex> lock(core_->mu);
  if (!core_->fd) return Napi::Number::New(env, -EBADF);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, core_->ifname.data(), std::min(core_->ifname.size(), sizeof ifr.ifr_name - 1));
  if (ioctl(core_->fd.get(), SIOCGIFMTU, &ifr) != 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, ifr.ifr_mtu);
}

// close() -> Int32Array of (seq, errno) outcomes not yet delivered | undefined
Napi::Value CanSocketWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int32_t> outcomes;
  CloseNative(&outcomes);
  if (outcomes.empty()) return env.Undefined();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, outcomes.size() * sizeof(int32_t));
  if (env.IsExceptionPending()) return env.Undefined();
  std::memcpy(ab.Data(), outcomes.data(), outcomes.size() * sizeof(int32_t));
  return Napi::Int32Array::New(env, outcomes.size(), ab, 0);
}

Napi::Value CanSocketWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  if (!core_) return o;
  SocketStats s;
  size_t depth;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
#ifdef SO_MEMINFO
    // SO_RXQ_OVFL only arrives with a received frame; SO_MEMINFO has the drop count now.
    if (core_->fd) {
      uint32_t mem[SK_MEMINFO_VARS] = {};
      socklen_t len = sizeof mem;
      if (getsockopt(core_->fd.get(), SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len > SK_MEMINFO_DROPS * sizeof(uint32_t) &&
          mem[SK_MEMINFO_DROPS] > core_->stats.kernel_drops) {
        core_->stats.kernel_drops = mem[SK_MEMINFO_DROPS];
      }
    }
#endif
    s = core_->stats;
    depth = core_->txq.size();
  }
  auto num = [&](uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); };
  o.Set("rxFrames", num(s.rx_frames));
  o.Set("rxBytes", num(s.rx_bytes));
  o.Set("txFrames", num(s.tx_frames));
  o.Set("txBytes", num(s.tx_bytes));
  o.Set("kernelDrops", num(s.kernel_drops));
  o.Set("txQueueDepth", num(depth));
  o.Set("txErrors", num(s.tx_errors));
  o.Set("errorFrames", num(s.error_frames));
  o.Set("errors", num(s.errors));
  return o;
}

Napi::Value CanSocketWrap::Ref(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || ctx_ == nullptr) return env.Undefined();
  napi_threadsafe_function tsfn;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    tsfn = core_->tsfn;
  }
  if (tsfn != nullptr) napi_ref_threadsafe_function(env, tsfn);
  if (!ctx_->strong) {
    uint32_t count = 0;
    napi_reference_ref(env, ctx_->owner, &count);
    ctx_->strong = true;
  }
  return env.Undefined();
}

Napi::Value CanSocketWrap::Unref(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || ctx_ == nullptr) return env.Undefined();
  napi_threadsafe_function tsfn;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    tsfn = core_->tsfn;
  }
  if (tsfn != nullptr) napi_unref_threadsafe_function(env, tsfn);
  if (ctx_->strong) {
    // Unreferenced and unreachable: the socket may be garbage-collected (and closed).
    uint32_t count = 0;
    napi_reference_unref(env, ctx_->owner, &count);
    ctx_->strong = false;
  }
  return env.Undefined();
}

// fd() -> number (-1 when closed); for diagnostics and tests.
Napi::Value CanSocketWrap::Fd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) return Napi::Number::New(env, -1);
  std::lock_guard<std::mutex> lock(core_->mu);
  return Napi::Number::New(env, core_->fd.get());
}

// rebind() -> 0 | errno: after ENODEV (interface removed, socket unbound by the kernel),
// binds again to the interface of the same name if it exists again. 0 when not needed.
Napi::Value CanSocketWrap::Rebind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || !core_) return Napi::Number::New(env, EBADF);
  std::lock_guard<std::mutex> lock(core_->mu);
  if (!core_->needs_rebind) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, RebindLocked(core_.get()));
}

// setReceiving(on: boolean): off = the reactor stops reading this socket (EPOLLIN removed);
// frames then wait in the kernel buffer and, once it is full, are dropped and counted by
// the kernel (SO_RXQ_OVFL / SO_MEMINFO). On = read again.
Napi::Value CanSocketWrap::SetReceiving(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->rx_stopped = !on;
  core_->UpdateEpollLocked();
  return env.Undefined();
}

}  // namespace uvscpd
