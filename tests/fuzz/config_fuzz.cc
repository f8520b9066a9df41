// Fuzz target for the configuration loader (proxy/config/config_loader.h) through its string
// entry point, loadConfigText(): YAML text in, a validated Config or one error out. The first byte
// is the control byte (bit 0: the source name has a folder, so relative certificate and token
// paths resolve against it); the rest is the YAML.
// Invariants, abort() on violation:
//  - no crash, no sanitizer report, and no exception leaves the loader (yaml-cpp's and the
//    loader's own are all turned into errors; an escaping one would end the process);
//  - failure: ok is false, the Config passed in is untouched, and the message has the form
//    "SOURCE:LINE:COL: what" ("SOURCE: what" when YAML gives no position, e.g. an empty
//    document), naming the source given;
//  - success: no message, and the Config is valid as the loader promises: at least one listener
//    and one upstream, every listener address parsed, every route resolved to an existing
//    upstream, server weights within 1..256;
//  - loading is deterministic: the same text gives the same result twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proxy/config/config_loader.h"

namespace {

namespace config = proxy::config;

void check(bool ok) {
  if (!ok) std::abort();
}

bool digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string source = (data[0] & 1) ? "fuzz-conf/tether.yaml" : "tether.yaml";
  std::string_view yaml(reinterpret_cast<const char*>(data + 1), size - 1);

  config::Config c;
  c.workers = 12345;  // a marker: a failed load leaves the Config alone
  config::LoadResult r;
  try {
    r = config::loadConfigText(yaml, source, c);
  } catch (...) {
    std::abort();  // an exception escaped the loader
  }
  if (!r.ok) {
    check(c.workers == 12345 && c.listeners.empty());
    // "SOURCE:LINE:COL: message", or "SOURCE: message" when YAML gives no position
    check(r.error.compare(0, source.size() + 1, source + ":") == 0);
    std::string_view rest = std::string_view(r.error).substr(source.size());
    if (rest.compare(0, 2, ": ") != 0) {
      rest.remove_prefix(1);
      size_t colon1 = rest.find(':');
      check(colon1 != std::string_view::npos && digits(rest.substr(0, colon1)));
      size_t colon2 = rest.find(':', colon1 + 1);
      check(colon2 != std::string_view::npos && digits(rest.substr(colon1 + 1, colon2 - colon1 - 1)));
      rest.remove_prefix(colon2);
    }
    check(rest.compare(0, 2, ": ") == 0 && rest.size() > 2);
  } else {
    check(r.error.empty());
    check(c.workers >= 1 && !c.listeners.empty() && !c.upstreams.empty());
    for (const auto& l : c.listeners) check(l.sockaddr.ss_family == AF_INET || l.sockaddr.ss_family == AF_INET6);
    for (const auto& rt : c.routes) check(rt.upstream_index < c.upstreams.size());
    for (const auto& u : c.upstreams)
      for (const auto& s : u.servers) check(s.weight >= 1 && s.weight <= 256);
  }
  config::Config again;
  config::LoadResult r2 = config::loadConfigText(yaml, source, again);
  check(r2.ok == r.ok && r2.error == r.error);
  return 0;
}
