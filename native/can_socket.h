// can_socket.h - the JS-facing CAN_RAW socket object (one per SocketCanSocket).
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_set>

#include "reactor.h"

namespace uvscpd {

class CanSocketWrap;
class DirectReader;

// Per-env state (worker-thread safe): the sockets this env has open, closed by the env
// cleanup hook when the env (main thread or worker) is torn down, and the env's direct
// reader (direct.h; null until the first socket, or when unavailable).
struct EnvState {
  std::unordered_set<CanSocketWrap*> live;
  DirectReader* direct = nullptr;
  bool direct_unavailable = false;
};

// Context of a socket's thread-safe function; lives until the TSFN is finalized.
struct TsfnContext {
  std::shared_ptr<SocketCore> core;
  napi_ref owner = nullptr;     // the TypeScript SocketCanSocket; strong while ref'd
  bool strong = false;
  CanSocketWrap* wrap = nullptr;  // cleared when the wrap is destroyed
};

class CanSocketWrap : public Napi::ObjectWrap<CanSocketWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit CanSocketWrap(const Napi::CallbackInfo& info);
  ~CanSocketWrap() override;

  // Closes everything native (idempotent). Collects outcomes of parked frames.
  void CloseNative(std::vector<int32_t>* outcomes);
  void OnTsfnFinalized();
  // Reads the socket on its JS thread and hands the frames to JS (direct.h).
  void ReadDirect(DirectReader* reader);

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Configure(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Rebind(const Napi::CallbackInfo& info);
  Napi::Value SetReceiving(const Napi::CallbackInfo& info);
  Napi::Value Mtu(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env);
  int ApplyOptions(Napi::Env env, const Napi::Object& opts, int* granted);

  std::shared_ptr<SocketCore> core_;
  std::shared_ptr<EnvState> env_state_;
  TsfnContext* ctx_ = nullptr;  // owned by the TSFN
  Napi::FunctionReference dispatch_;  // the JS dispatch function, for direct reads
  napi_env env_ = nullptr;
  bool closed_ = false;
};

std::shared_ptr<EnvState> GetEnvState(Napi::Env env);

}  // namespace uvscpd
