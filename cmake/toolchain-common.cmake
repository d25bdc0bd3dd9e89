# Shared part of cmake/toolchain-arm64.cmake and cmake/toolchain-armhf.cmake, which set
# CMAKE_SYSTEM_PROCESSOR, _uvscpd_triple and _uvscpd_qemu and then include this file.

foreach(_v UVSCPD_CROSS_PREFIX UVSCPD_SYSROOT)
  if(NOT DEFINED ${_v} AND DEFINED ENV{${_v}})
    set(${_v} "$ENV{${_v}}")
  endif()
  # try_compile() projects re-read this file without our cache: hand the values on
  if(DEFINED ${_v})
    set(ENV{${_v}} "${${_v}}")
  endif()
endforeach()
if(NOT UVSCPD_CROSS_PREFIX)
  set(UVSCPD_CROSS_PREFIX "${_uvscpd_triple}-")
endif()
set(CMAKE_C_COMPILER   "${UVSCPD_CROSS_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${UVSCPD_CROSS_PREFIX}g++")

# Debian's cross compilers know their target libc/libstdc++ under /usr/<triple>.
set(CMAKE_FIND_ROOT_PATH /usr/${_uvscpd_triple})
if(UVSCPD_SYSROOT)
  get_filename_component(UVSCPD_SYSROOT "${UVSCPD_SYSROOT}" ABSOLUTE)
  if(NOT EXISTS "${UVSCPD_SYSROOT}/usr/include/${_uvscpd_triple}")
    message(FATAL_ERROR "UVSCPD_SYSROOT=${UVSCPD_SYSROOT} has no usr/include/${_uvscpd_triple} (libc6-dev)")
  endif()
  set(CMAKE_SYSROOT "${UVSCPD_SYSROOT}")
  list(PREPEND CMAKE_FIND_ROOT_PATH "${UVSCPD_SYSROOT}")
  # Headers: -nostdinc, then the sysroot's libstdc++ headers, the compiler's builtin headers
  # (stddef.h, intrinsics) and the sysroot's libc headers. Without -nostdinc a Debian cross g++
  # also searches its own, newer, /usr/<triple>/include, and e.g. __has_include(<sys/single_threaded.h>)
  # there makes the code reference __libc_single_threaded (glibc 2.32): a load failure on 2.31.
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=include
                  OUTPUT_VARIABLE _uvscpd_gcc_inc OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _uvscpd_rc)
  if(NOT _uvscpd_rc EQUAL 0 OR NOT IS_DIRECTORY "${_uvscpd_gcc_inc}")
    message(FATAL_ERROR "${CMAKE_CXX_COMPILER} not found (install g++-${_uvscpd_triple} or set UVSCPD_CROSS_PREFIX)")
  endif()
  file(GLOB _uvscpd_cxxv RELATIVE "${UVSCPD_SYSROOT}/usr/include/c++" "${UVSCPD_SYSROOT}/usr/include/c++/*")
  list(SORT _uvscpd_cxxv COMPARE NATURAL ORDER DESCENDING)
  list(GET _uvscpd_cxxv 0 _uvscpd_cxxv)
  if(NOT _uvscpd_cxxv OR NOT IS_DIRECTORY "${UVSCPD_SYSROOT}/usr/include/${_uvscpd_triple}/c++/${_uvscpd_cxxv}")
    message(FATAL_ERROR "UVSCPD_SYSROOT=${UVSCPD_SYSROOT} has no libstdc++ headers (libstdc++-N-dev)")
  endif()
  set(_uvscpd_libc_inc "${UVSCPD_SYSROOT}/usr/include/${_uvscpd_triple}" "${UVSCPD_SYSROOT}/usr/include")
  set(CMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES
      "${UVSCPD_SYSROOT}/usr/include/c++/${_uvscpd_cxxv}"
      "${UVSCPD_SYSROOT}/usr/include/${_uvscpd_triple}/c++/${_uvscpd_cxxv}"
      "${UVSCPD_SYSROOT}/usr/include/c++/${_uvscpd_cxxv}/backward"
      "${_uvscpd_gcc_inc}" ${_uvscpd_libc_inc})
  set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES "${_uvscpd_gcc_inc}" ${_uvscpd_libc_inc})
  # cmake-js sets CMAKE_CXX_FLAGS itself (so *_FLAGS_INIT is ignored) but always a build type:
  # -nostdinc goes into the per-configuration flags (CMake appends its defaults, -O3 etc.).
  foreach(_l C CXX)
    foreach(_c RELEASE DEBUG RELWITHDEBINFO MINSIZEREL)
      set(CMAKE_${_l}_FLAGS_${_c}_INIT "-nostdinc")
    endforeach()
  endforeach()
  # Libraries and start files: the linker's default path puts the compiler's libstdc++ and
  # /usr/<triple>/lib before the sysroot: name the sysroot's directories first (-B: crti.o).
  set(_uvscpd_ld "-L${UVSCPD_SYSROOT}/usr/lib/gcc/${_uvscpd_triple}/${_uvscpd_cxxv} -L${UVSCPD_SYSROOT}/lib/${_uvscpd_triple} -L${UVSCPD_SYSROOT}/usr/lib/${_uvscpd_triple} -B${UVSCPD_SYSROOT}/usr/lib/${_uvscpd_triple}/")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_uvscpd_ld}")
  set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_uvscpd_ld}")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${_uvscpd_ld}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# try_run()/ctest run target programs through qemu-user when it is installed
if(EXISTS /usr/bin/${_uvscpd_qemu})
  if(UVSCPD_SYSROOT)
    set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/${_uvscpd_qemu} -L ${UVSCPD_SYSROOT})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/${_uvscpd_qemu} -L /usr/${_uvscpd_triple})
  endif()
endif()
