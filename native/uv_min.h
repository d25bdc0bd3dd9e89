// uv_min.h - the few libuv calls the addon makes: a uv_poll on each env's direct-read
// epoll descriptor (direct.cc), in the loop napi_get_uv_event_loop() returns.
//
// node-gyp compiles against Node's full headers, which ship uv.h; cmake-js here (and the
// cross builds) compile against the node-api-headers package, which has only the Node-API
// headers. Without uv.h, declare the handful of libuv 1.x functions used, which Node
// exports to addons and whose ABI is stable across libuv 1.x; uv_poll_t stays opaque and
// is allocated with uv_handle_size(), so no struct layout is assumed.
#pragma once

#include <cstddef>

#if __has_include(<uv.h>)
#include <uv.h>
static_assert(UV_POLL == 8 && UV_READABLE == 1, "the fallback declarations below assume these values");
#else
extern "C" {
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;
typedef void (*uv_close_cb)(uv_handle_t* handle);
typedef void (*uv_poll_cb)(uv_poll_t* handle, int status, int events);
// Values of libuv 1.x's uv_handle_type and uv_poll_event used here.
typedef enum { UV_POLL = 8 } uv_handle_type;
enum uv_poll_event { UV_READABLE = 1 };
size_t uv_handle_size(uv_handle_type type);
void* uv_handle_get_data(const uv_handle_t* handle);
void uv_handle_set_data(uv_handle_t* handle, void* data);
void uv_close(uv_handle_t* handle, uv_close_cb close_cb);
void uv_unref(uv_handle_t* handle);
int uv_poll_init(uv_loop_t* loop, uv_poll_t* handle, int fd);
int uv_poll_start(uv_poll_t* handle, int events, uv_poll_cb cb);
int uv_poll_stop(uv_poll_t* handle);
}
#endif
