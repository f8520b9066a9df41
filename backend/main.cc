// tether-chat entry point: parse flags, run. Everything else lives in backend/chat/runner.cc.
#include <cstdio>
#include <string>
#include <vector>

#include "backend/chat/options.h"
#include "backend/chat/runner.h"

#ifndef TETHER_DEFAULT_WEB_ROOT
#define TETHER_DEFAULT_WEB_ROOT "backend/web"
#endif

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  bool help = false;
  auto options = backend::chat::parseOptions(args, error, help);
  if (!options) {
    std::fprintf(help ? stdout : stderr, "%s\n", error.c_str());
    if (!help) std::fprintf(stderr, "%s", backend::chat::usage());
    return help ? 0 : 2;
  }
  if (options->webRoot.empty()) options->webRoot = TETHER_DEFAULT_WEB_ROOT;
  return backend::chat::run(*options);
}
