// errors.cc - see errors.h.
#include "errors.h"

#include <string.h>

namespace uvscpd {

namespace {
// strerror_r is the XSI (int) or the GNU (char*) variant depending on the libc.
[[maybe_unused]] const char* PickMessage(int r, const char* buf) { return r == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* PickMessage(const char* r, const char*) { return r; }
}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& ifname) {
  char buf[128];
  buf[0] = 0;
  const char* text = PickMessage(strerror_r(err, buf, sizeof buf), buf);
  std::string msg = std::string(syscall) + ": " + (text ? text : "unknown error");
  if (!ifname.empty()) msg += " (" + ifname + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (!ifname.empty()) o.Set("interfaceName", Napi::String::New(env, ifname));
  return e;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& ifname) {
  ErrnoError(env, err, syscall, ifname).ThrowAsJavaScriptException();
}

}  // namespace uvscpd
