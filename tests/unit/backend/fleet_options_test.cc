// tether-chat fleet flags (backend/fleet/fleet_options.h): its own flags, pass-through server
// flags validated before anything starts, help and version as text for stdout.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/fleet/fleet_options.h"

using backend::fleet::FleetOptions;

namespace {
struct Parsed {
  bool ok = false;
  bool info = false;
  std::string text;
  FleetOptions opt;
};

Parsed parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Parsed p;
  p.ok = backend::fleet::parseFleetArgs(static_cast<int>(argv.size()), argv.data(), p.opt, p.text, p.info);
  return p;
}
}  // namespace

TEST_CASE("fleet flags and pass-through server flags") {
  auto p = parse({"--instances", "3", "--base-port", "9000", "--redis", "redis://127.0.0.1:6379", "--drain=2s"});
  REQUIRE(p.ok);
  CHECK(p.opt.instances == 3);
  CHECK(p.opt.base_port == 9000);
  CHECK(p.opt.child_args == std::vector<std::string>{"--redis", "redis://127.0.0.1:6379", "--drain=2s"});
}

TEST_CASE("a bad server flag fails the fleet, not every instance") {
  auto p = parse({"--instances", "2", "--bogus", "1"});
  CHECK_FALSE(p.ok);
  CHECK_FALSE(p.info);
  CHECK(p.text == "unknown flag --bogus");
  p = parse({"--history", "0"});
  CHECK_FALSE(p.ok);
  CHECK(p.text.find("--history") != std::string::npos);
  p = parse({"--port", "8000"});
  CHECK_FALSE(p.ok);
  CHECK(p.text.find("--base-port") != std::string::npos);
  p = parse({"--base-port", "65535", "--instances", "2"});
  CHECK_FALSE(p.ok);
}

TEST_CASE("help and version are text for stdout") {
  auto p = parse({"--instances", "2", "--help"});
  CHECK_FALSE(p.ok);
  CHECK(p.info);
  CHECK(p.text.rfind("usage: tether-chat fleet", 0) == 0);
  p = parse({"--version"});
  CHECK(p.info);
  CHECK(p.text.rfind("tether-chat ", 0) == 0);
}
