# TRUSTRL_SANITIZE=address,undefined (or thread): instruments every trustrl target and test.
# scripts/test.sh --sanitize builds this way into build-asan/ and build-tsan/.
set(TRUSTRL_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined or thread")
if(TRUSTRL_SANITIZE)
  if(NOT TRUSTRL_SANITIZE MATCHES "^(address|undefined|address,undefined|undefined,address|thread)$")
    message(FATAL_ERROR "TRUSTRL_SANITIZE=${TRUSTRL_SANITIZE}: use address, undefined, "
                        "address,undefined or thread (ThreadSanitizer cannot be combined with ASan)")
  endif()
  set(sanitize_flags -fsanitize=${TRUSTRL_SANITIZE} -fno-omit-frame-pointer)
  if(TRUSTRL_SANITIZE MATCHES "undefined")
    # A UBSan report fails the test instead of printing and carrying on.
    list(APPEND sanitize_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${sanitize_flags})
  add_link_options(${sanitize_flags})
  message(STATUS "trustrl: sanitizers ${TRUSTRL_SANITIZE}")
endif()
