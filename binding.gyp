{
  "variables": {
    # -Werror only when asked (CI): `npm_config_uvscpd_werror=true npm ci` or
    # `node-gyp rebuild --uvscpd_werror=true`. A user's newer compiler must not fail
    # `npm install` over a new warning (in our code or in node-addon-api's headers).
    "uvscpd_werror%": "false"
  },
  "targets": [
    {
      "target_name": "uvscpd",
      "sources": [
        "native/addon.cc",
        "native/can_socket.cc",
        "native/direct.cc",
        "native/errors.cc",
        "native/reactor.cc",
        "native/rx.cc",
        "native/tx.cc"
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
      "cflags": [ "-Wall", "-Wextra", "-fvisibility=hidden" ],
      "cflags_cc": [ "-std=c++17", "-fno-exceptions", "-Wall", "-Wextra" ],
      "ldflags": [ "-Wl,-z,now", "-Wl,-z,relro", "-pthread" ],
      "configurations": {
        "Debug": { "defines": [ "UVSCPD_BUILD_TYPE=\"Debug\"" ] },
        "Release": { "defines": [ "UVSCPD_BUILD_TYPE=\"Release\"" ] }
      },
      "conditions": [
        [ "uvscpd_werror=='true'", {
          "cflags": [ "-Werror" ],
          "cflags_cc": [ "-Werror" ]
        } ],
        [ "OS!='linux'", {
          "sources!": [ "native/addon.cc", "native/can_socket.cc", "native/direct.cc", "native/errors.cc", "native/reactor.cc", "native/rx.cc", "native/tx.cc" ],
          "type": "none"
        } ]
      ]
    }
  ]
}
