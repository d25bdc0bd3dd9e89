// errors.h - JS errors from errno values, without C++ exceptions.
#pragma once

#include <napi.h>

#include <string>

namespace uvscpd {

// An Error with `errno` (positive), `syscall` and, when given, `interfaceName`. The
// TypeScript layer adds `code` and a message saying what to do.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& ifname = std::string());

// Throws ErrnoError as a pending JS exception.
void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& ifname = std::string());

}  // namespace uvscpd
