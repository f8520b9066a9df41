# Compile options shared by every first-party target, as INTERFACE targets:
#   tether_warnings  - strict warnings (errors in CI builds)
#   tether_sanitize  - ASan + UBSan when TETHER_SANITIZE=ON; with TETHER_FUZZ=ON (clang) also
#                      libFuzzer's coverage instrumentation, so campaigns (tests/fuzz) see the
#                      branches of the code under test
add_library(tether_warnings INTERFACE)
target_compile_options(tether_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(DEFINED ENV{CI})
  target_compile_options(tether_warnings INTERFACE -Werror)
endif()

add_library(tether_sanitize INTERFACE)
if(TETHER_SANITIZE)
  target_compile_options(tether_sanitize INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(tether_sanitize INTERFACE -fsanitize=address,undefined)
endif()
option(TETHER_FUZZ "Build libFuzzer targets (clang only)" OFF)
if(TETHER_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(tether_sanitize INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(tether_sanitize INTERFACE -fsanitize=address,undefined)
  target_compile_options(llhttp PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
endif()

add_library(tether_options INTERFACE)
target_link_libraries(tether_options INTERFACE tether_warnings tether_sanitize)
