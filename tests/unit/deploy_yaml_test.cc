// The deploy/ manifests cannot be run here (no container engine), so this checks what can be
// checked: every file parses as YAML (all documents), the tether configs in conf/ and deploy/
// (including the one embedded in the k8s ConfigMap) load with tether's own loader, and every
// tether-chat command line in docker-compose.yml and k8s/tether-chat.yaml uses only flags that
// tether-chat's usage text (backend/chat/options.cc) lists, with the fleet bus (--redis) on.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/config/config_loader.h"

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
const std::string kRoot = TETHER_SOURCE_DIR;

// Checks one tether-chat argument list: every "--flag" (or "--flag=value") appears in the usage
// text as "  --flag ", and --redis is given.
void checkChatArgs(const YAML::Node& args, const std::string& where) {
  static const std::string usage = slurp(kRoot + "/backend/chat/options.cc");
  REQUIRE_MESSAGE(args.IsSequence(), where);
  bool redis = false;
  for (const auto& a : args) {
    std::string s = a.as<std::string>();
    if (s.rfind("--", 0) != 0) continue;
    std::string flag = s.substr(0, s.find('='));
    CHECK_MESSAGE(usage.find("\"  " + flag + " ") != std::string::npos, where << ": tether-chat has no flag " << flag);
    redis = redis || flag == "--redis";
  }
  CHECK_MESSAGE(redis, where << ": tether-chat runs without --redis");
}
}  // namespace

TEST_CASE("deploy manifests are valid YAML") {
  for (const char* f : {"/deploy/docker-compose.yml", "/deploy/k8s/tether-chat.yaml", "/deploy/k8s/tether.yaml",
                        "/deploy/k8s/redis.yaml"}) {
    CAPTURE(f);
    std::vector<YAML::Node> docs;
    CHECK_NOTHROW(docs = YAML::LoadAll(slurp(kRoot + f)));
    CHECK(!docs.empty());
    for (auto& d : docs) CHECK(d.IsMap());
  }
}

TEST_CASE("tether configs in deploy/ and conf/ load with tether's loader") {
  proxy::config::Config c;
  for (const char* f : {"/deploy/tether-compose.yaml", "/conf/tether.yaml", "/conf/demo.yaml"}) {
    CAPTURE(f);
    auto r = proxy::config::loadConfigFile(kRoot + f, c);
    CHECK_MESSAGE(r.ok, r.error);
  }
  auto docs = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether.yaml"));
  std::string embedded = docs.at(0)["data"]["tether.yaml"].as<std::string>();
  auto r = proxy::config::loadConfigText(embedded, "k8s ConfigMap", c);
  CHECK_MESSAGE(r.ok, r.error);
}

TEST_CASE("manifests use the chat server's real flags") {
  auto k8s = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether-chat.yaml"));
  checkChatArgs(k8s.at(0)["spec"]["template"]["spec"]["containers"][0]["args"], "k8s/tether-chat.yaml");

  auto compose = YAML::Load(slurp(kRoot + "/deploy/docker-compose.yml"));
  int chats = 0;
  for (const auto& svc : compose["services"]) {
    std::string name = svc.first.as<std::string>();
    if (name.rfind("chat", 0) != 0) continue;
    ++chats;
    checkChatArgs(svc.second["command"], "docker-compose.yml " + name);
  }
  CHECK(chats == 3);
}

TEST_CASE("compose chat instances sit at the addresses tether-compose.yaml lists") {
  auto compose = YAML::Load(slurp(kRoot + "/deploy/docker-compose.yml"));
  auto tether = YAML::Load(slurp(kRoot + "/deploy/tether-compose.yaml"));
  auto servers = tether["upstreams"]["chat"]["servers"];
  REQUIRE(servers.size() == 3);
  for (size_t i = 0; i < servers.size(); ++i) {
    std::string svc = "chat" + std::to_string(i + 1);
    CAPTURE(svc);
    std::string ip = compose["services"][svc]["networks"]["tether"]["ipv4_address"].as<std::string>();
    CHECK(servers[i]["address"].as<std::string>() == ip + ":8001");
  }
}
