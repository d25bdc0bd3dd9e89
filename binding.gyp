{
  "targets": [
    {
      "target_name": "uvscpd",
      "sources": [
        "native/addon.cc",
        "native/can_socket.cc",
        "native/errors.cc",
        "native/reactor.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "UVSCPD_BUILDER=\"node-gyp\""
      ],
      "cflags": [ "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden" ],
      "cflags_cc": [ "-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Werror" ],
      "ldflags": [ "-Wl,-z,now", "-Wl,-z,relro", "-pthread" ],
      "configurations": {
        "Debug": { "defines": [ "UVSCPD_BUILD_TYPE=\"Debug\"" ] },
        "Release": { "defines": [ "UVSCPD_BUILD_TYPE=\"Release\"" ] }
      },
      "conditions": [
        [ "OS!='linux'", {
          "sources!": [ "native/addon.cc", "native/can_socket.cc", "native/errors.cc", "native/reactor.cc" ],
          "type": "none"
        } ]
      ]
    }
  ]
}
