# Warnings as an INTERFACE target: every trustrl target links it privately.
add_library(trustrl_warnings INTERFACE)
add_library(trustrl::warnings ALIAS trustrl_warnings)
target_compile_options(trustrl_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict on std::string concatenation at -O2 (GCC bug 105329) ...
  -Wno-restrict
  # ... and false -Wstringop-overflow on std::vector copies (GCC bug 106199).
  -Wno-stringop-overflow)
if(TRUSTRL_WERROR)
  target_compile_options(trustrl_warnings INTERFACE -Werror)
endif()
