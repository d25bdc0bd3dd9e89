// addon.cc - module entry: the CanSocket class and a few stateless helpers.
//
// Exports:
//   CanSocket                         see can_socket.cc
//   interfaceState(name) -> 0 absent | 1 down | 2 up   (throws on other errors)
//   sendUnixDatagram(path, data)      AF_UNIX SOCK_DGRAM sendto; '@' = abstract name
//   setReceiveLowWater(fd, bytes)     SO_RCVLOWAT on a socket Node owns (the MQTT bridge's
//                                     broker connection); false when the kernel refuses
//   buildInfo() -> { napiVersion, buildType, sanitizer, builder }
//   layout                            record layouts and limits shared with TS (layout.h)
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "can_socket.h"
#include "errors.h"
#include "layout.h"

#ifndef UVSCPD_BUILD_TYPE
#define UVSCPD_BUILD_TYPE "Release"
#endif
#ifndef UVSCPD_BUILDER
#define UVSCPD_BUILDER "unknown"
#endif

// The build may name its sanitizers (CMakeLists.txt does); otherwise detect ASan.
#ifndef UVSCPD_SANITIZER
#if defined(__SANITIZE_ADDRESS__)
#define UVSCPD_SANITIZER "address"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UVSCPD_SANITIZER "address"
#endif
#endif
#endif
#ifndef UVSCPD_SANITIZER
#define UVSCPD_SANITIZER ""
#endif

namespace uvscpd {

namespace {

struct AddonData {
  std::shared_ptr<EnvState> state = std::make_shared<EnvState>();
  Napi::FunctionReference ctor;
  napi_threadsafe_function anchor = nullptr;
};

// Node.js (seen with 20.x) schedules the second pass of GC finalizers (a collected
// CanSocket, for one) as an immediate that unrefs the napi_env *before* draining the
// queue. If that immediate runs during env teardown after the env's own reference is
// gone, the unref deletes the env and the drain reads freed memory (valgrind: invalid
// read in node_napi_env__::DrainFinalizerQueue). A thread-safe function holds a reference
// to the env until Node's own teardown closes it, which happens after those immediates:
// this unref'd, never-called one (it keeps nothing alive) keeps the env valid for them.
void AnchorCallJs(napi_env, napi_value, void*, void*) {}

// Env teardown (process exit or worker termination): close every socket still open.
void CleanupEnv(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  std::vector<CanSocketWrap*> open(data->state->live.begin(), data->state->live.end());
  for (CanSocketWrap* w : open) w->CloseNative(nullptr);
  data->state->live.clear();
}

void FinalizeAddonData(Napi::Env env, AddonData* data) {
  napi_remove_env_cleanup_hook(env, CleanupEnv, data);  // no-op if it already ran
  CleanupEnv(data);
  delete data;
}

Napi::Value InterfaceState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "interfaceState(name: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) {
    return Napi::Number::New(env, 0);  // no such interface can exist
  }
  // Any socket will do for SIOCGIFFLAGS: AF_UNIX first (always there), AF_INET second.
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) fd.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    ThrowErrno(env, errno, "socket", name);
    return env.Undefined();
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) {
    int err = errno;
    if (err == ENODEV || err == ENXIO) return Napi::Number::New(env, 0);
    ThrowErrno(env, err, "ioctl", name);
    return env.Undefined();
  }
  return Napi::Number::New(env, (ifr.ifr_flags & IFF_UP) ? 2 : 1);
}

Napi::Value SendUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendUnixDatagram(path: string, data: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socklen_t addrlen;
  if (path.empty()) {
    ThrowErrno(env, EINVAL, "sendto", path);
    return env.Undefined();
  }
  if (path[0] == '@') {
    // Abstract namespace: a leading NUL, then the name (not NUL-terminated).
    if (path.size() > sizeof(addr.sun_path)) {
      ThrowErrno(env, ENAMETOOLONG, "sendto", path);
      return env.Undefined();
    }
    addr.sun_path[0] = '\0';
    std::memcpy(addr.sun_path + 1, path.data() + 1, path.size() - 1);
    addrlen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    if (path.size() >= sizeof(addr.sun_path) || path.find('\0') != std::string::npos) {
      ThrowErrno(env, ENAMETOOLONG, "sendto", path);
      return env.Undefined();
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    addrlen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    ThrowErrno(env, errno, "socket", path);
    return env.Undefined();
  }
  ssize_t n;
  do {
    n = sendto(fd.get(), data.Data(), data.Length(), MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr),
               addrlen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ThrowErrno(env, errno, "sendto", path);
    return env.Undefined();
  }
  return env.Undefined();
}

// Node has no setsockopt(). The MQTT bridge sets SO_RCVLOWAT on its broker connection so
// that epoll reports it readable once a whole batch of 4-byte acknowledgements is there,
// not once per acknowledgement (lib/mqtt/ack-wakeups.ts). Called once per batch, so it
// makes that one system call and no other: false when the kernel refuses (not a socket).
Napi::Value SetReceiveLowWater(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "setReceiveLowWater(fd: number, bytes: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double fd_value = info[0].As<Napi::Number>().DoubleValue();
  const double bytes_value = info[1].As<Napi::Number>().DoubleValue();
  if (!(fd_value >= 0 && fd_value <= INT_MAX && fd_value == static_cast<int>(fd_value)) ||
      !(bytes_value >= 1 && bytes_value <= INT_MAX && bytes_value == static_cast<int>(bytes_value))) {
    Napi::RangeError::New(env, "setReceiveLowWater: fd must be a descriptor number and bytes 1..2^31-1")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = static_cast<int>(fd_value);
  const int bytes = static_cast<int>(bytes_value);
  return Napi::Boolean::New(env, setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0);
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  o.Set("buildType", Napi::String::New(env, UVSCPD_BUILD_TYPE));
  o.Set("sanitizer", Napi::String::New(env, UVSCPD_SANITIZER));
  o.Set("builder", Napi::String::New(env, UVSCPD_BUILDER));
  return o;
}

Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (const LayoutField& f : kLayoutFields) o.Set(f.name, Napi::Number::New(env, f.value));
  return o;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function ctor = CanSocketWrap::Init(env);
  data->ctor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData, FinalizeAddonData>(data);
  if (napi_add_env_cleanup_hook(env, CleanupEnv, data) != napi_ok) {
    Napi::Error::New(env, "napi_add_env_cleanup_hook failed").ThrowAsJavaScriptException();
    return exports;
  }
  napi_value anchor_name;
  if (napi_create_string_utf8(env, "uvscpd:envAnchor", NAPI_AUTO_LENGTH, &anchor_name) == napi_ok &&
      napi_create_threadsafe_function(env, nullptr, nullptr, anchor_name, 0, 1, nullptr, nullptr, nullptr,
                                      AnchorCallJs, &data->anchor) == napi_ok) {
    napi_unref_threadsafe_function(env, data->anchor);
  }
  exports.Set("CanSocket", ctor);
  exports.Set("interfaceState", Napi::Function::New(env, InterfaceState, "interfaceState"));
  exports.Set("sendUnixDatagram", Napi::Function::New(env, SendUnixDatagram, "sendUnixDatagram"));
  exports.Set("setReceiveLowWater", Napi::Function::New(env, SetReceiveLowWater, "setReceiveLowWater"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("layout", Layout(env));
  return exports;
}

std::shared_ptr<EnvState> GetEnvState(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  return data ? data->state : std::make_shared<EnvState>();
}

}  // namespace uvscpd

static Napi::Object InitUvscpd(Napi::Env env, Napi::Object exports) { return uvscpd::Init(env, exports); }

NODE_API_MODULE(uvscpd, InitUvscpd)
