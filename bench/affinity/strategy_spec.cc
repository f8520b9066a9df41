// Strategy row names -> StrategySpec and tether YAML; see strategy_spec.h.
#include "bench/affinity/strategy_spec.h"

#include <algorithm>
#include <cstdio>

namespace bench::affinity {
namespace {

bool isStrategy(std::string_view s) {
  return s == "round_robin" || s == "least_conn" || s == "ip_hash" || s == "consistent_hash";
}

KeySource keyOf(std::string_view strategy) {
  if (strategy == "ip_hash") return KeySource::ClientAddress;
  if (strategy == "consistent_hash") return KeySource::ClientId;
  return KeySource::None;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace

bool StrategySpec::has(Layer l) const { return std::find(layers.begin(), layers.end(), l) != layers.end(); }

std::string parseStrategySpec(std::string_view name, StrategySpec& out) {
  out = StrategySpec{};
  out.name = std::string(name);
  const std::string known = "round_robin, least_conn, ip_hash, consistent_hash, cookie, cookie(STRATEGY), sid, "
                            "with layers sid+ cookie+ and +bounded";
  if (name.empty()) return "empty strategy name";
  if (name == "sid") name = "sid+round_robin";
  if (name == "cookie") name = "cookie(least_conn)";
  if (name.substr(0, 7) == "cookie(" && name.back() == ')') {
    std::string_view inner = name.substr(7, name.size() - 8);
    if (!isStrategy(inner)) return "unknown strategy '" + out.name + "' (known: " + known + ")";
    out.strategy = std::string(inner);
    out.key = keyOf(inner);
    out.layers = {Layer::Cookie};
    out.cookie_strategy = true;
    return "";
  }
  auto parts = split(name, '+');
  size_t i = 0;
  for (; i < parts.size(); ++i) {
    Layer l;
    if (parts[i] == "sid") l = Layer::Sid;
    else if (parts[i] == "cookie") l = Layer::Cookie;
    else break;
    if (out.has(l)) return "layer '" + std::string(parts[i]) + "' twice in '" + out.name + "'";
    out.layers.push_back(l);
  }
  if (i >= parts.size() || !isStrategy(parts[i]))
    return "unknown strategy '" + out.name + "' (known: " + known + ")";
  out.strategy = std::string(parts[i]);
  out.key = keyOf(parts[i]);
  for (++i; i < parts.size(); ++i) {
    if (parts[i] == "bounded" && out.strategy == "consistent_hash" && !out.bounded) {
      out.bounded = true;
      continue;
    }
    return "unknown strategy '" + out.name + "' (known: " + known + "; +bounded only after consistent_hash)";
  }
  return "";
}

std::string parseStrategyList(std::string_view list, std::vector<StrategySpec>& out) {
  out.clear();
  for (std::string_view item : split(list, ',')) {
    StrategySpec spec;
    std::string err = parseStrategySpec(item, spec);
    if (!err.empty()) return err;
    for (const auto& s : out)
      if (s.name == spec.name) return "strategy '" + spec.name + "' listed twice";
    out.push_back(std::move(spec));
  }
  return "";
}

std::vector<StrategySpec> defaultSpecs() {
  std::vector<StrategySpec> out;
  std::string err = parseStrategyList(
      "round_robin,least_conn,ip_hash,consistent_hash,consistent_hash+bounded,cookie(least_conn),sid+round_robin,"
      "sid+least_conn,sid+consistent_hash+bounded",
      out);
  (void)err;  // a constant list that parses
  return out;
}

std::string upstreamYaml(const StrategySpec& spec, double balance_factor) {
  std::string y;
  if (spec.cookie_strategy) {
    y += "    strategy: cookie\n    cookie: {fallback: " + spec.strategy + "}\n";
  } else {
    y += "    strategy: " + spec.strategy + "\n";
  }
  if (spec.key == KeySource::ClientId) y += "    hash_key: [header:x-client-id, remote_addr]\n";
  if (spec.bounded) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "    balance_factor: %.3g\n", balance_factor);
    y += buf;
  }
  std::vector<const char*> layers;
  for (Layer l : spec.layers)
    if (!(spec.cookie_strategy && l == Layer::Cookie)) layers.push_back(l == Layer::Sid ? "sid" : "cookie");
  if (!layers.empty()) {
    y += "    affinity: [";
    for (size_t i = 0; i < layers.size(); ++i) y += (i ? ", " : "") + std::string(layers[i]);
    y += "]\n";
  }
  return y;
}

}  // namespace bench::affinity
