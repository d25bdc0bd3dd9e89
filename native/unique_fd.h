// unique_fd.h - RAII owner of one file descriptor.
#pragma once

#include <unistd.h>

#include <utility>

namespace uvscpd {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Closes the current descriptor (exactly once) and takes ownership of `fd`.
  void reset(int fd = -1) {
    int old = fd_;
    fd_ = fd;
    if (old >= 0) ::close(old);  // close(2) on Linux releases the fd even on EINTR
  }

 private:
  int fd_ = -1;
};

}  // namespace uvscpd
