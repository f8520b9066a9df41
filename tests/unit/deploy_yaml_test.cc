// The deploy/ manifests cannot be run here (no container engine), so this checks what can be
// checked: every file parses as YAML (all documents), the tether configs embedded in them load
// with tether's own loader, and the commands name flags the binaries really have.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>

#include "proxy/config/config_loader.h"

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
const std::string kRoot = TETHER_SOURCE_DIR;
}  // namespace

TEST_CASE("deploy manifests are valid YAML") {
  for (const char* f : {"/deploy/docker-compose.yml", "/deploy/k8s/tether-chat.yaml", "/deploy/k8s/tether.yaml"}) {
    CAPTURE(f);
    std::vector<YAML::Node> docs;
    CHECK_NOTHROW(docs = YAML::LoadAll(slurp(kRoot + f)));
    CHECK(!docs.empty());
    for (auto& d : docs) CHECK(d.IsMap());
  }
}

TEST_CASE("tether configs in deploy/ and conf/ load with tether's loader") {
  proxy::config::Config c;
  for (const char* f : {"/deploy/tether-compose.yaml", "/conf/tether.yaml"}) {
    auto r = proxy::config::loadConfigFile(kRoot + f, c);
    CHECK_MESSAGE(r.ok, r.error);
  }
  auto docs = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether.yaml"));
  std::string embedded = docs.at(0)["data"]["tether.yaml"].as<std::string>();
  auto r = proxy::config::loadConfigText(embedded, "k8s ConfigMap", c);
  CHECK_MESSAGE(r.ok, r.error);
}

TEST_CASE("manifests use the chat server's real flags") {
  auto docs = YAML::LoadAll(slurp(kRoot + "/deploy/k8s/tether-chat.yaml"));
  auto args = docs.at(0)["spec"]["template"]["spec"]["containers"][0]["args"];
  for (const auto& a : args) {
    std::string s = a.as<std::string>();
    if (s.rfind("--", 0) == 0) CHECK_MESSAGE((s == "--host" || s == "--port" || s == "--drain" || s == "--id" || s == "--web-root"), s);
  }
}
