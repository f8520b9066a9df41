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
  REQUIRE(compose["services"]["chat"]);
  checkChatArgs(compose["services"]["chat"]["command"], "docker-compose.yml chat");
  CHECK(compose["services"]["chat"]["deploy"]["replicas"].as<int>() == 3);
}

TEST_CASE("tether finds the chat servers by DNS name in compose and k8s") {
  proxy::config::Config c;
  REQUIRE(proxy::config::loadConfigFile(kRoot + "/deploy/tether-compose.yaml", c).ok);
  REQUIRE(c.upstreams.at(0).resolve.size() == 1);
  auto compose = YAML::Load(slurp(kRoot + "/deploy/docker-compose.yml"));
  CHECK(compose["services"][c.upstreams[0].resolve[0].host]);  // the compose service name
  CHECK(c.upstreams[0].resolve[0].port == 8001);

  auto docs = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether.yaml"));
  proxy::config::Config k;
  REQUIRE(proxy::config::loadConfigText(docs.at(0)["data"]["tether.yaml"].as<std::string>(), "k8s ConfigMap", k).ok);
  REQUIRE(k.upstreams.at(0).resolve.size() == 1);
  // The headless Service of tether-chat.yaml: one A record per pod.
  auto chat = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether-chat.yaml"));
  bool headless = false;
  for (const auto& d : chat)
    if (d["kind"].as<std::string>() == "Service" && d["spec"]["clusterIP"] && d["spec"]["clusterIP"].as<std::string>() == "None")
      headless = k.upstreams[0].resolve[0].host.rfind(d["metadata"]["name"].as<std::string>() + ".", 0) == 0;
  CHECK(headless);
}
