// One row of `tether-bench affinity`: a strategy with its affinity layers, named as the user
// writes it on the command line, and what it means to the simulation and to tether's YAML.
//
// Grammar: layers, then the strategy, then options, joined by '+':
//   [sid+][cookie+]STRATEGY[+bounded]     STRATEGY: round_robin least_conn ip_hash consistent_hash
//   cookie  | cookie(STRATEGY)            tether's `strategy: cookie` (the cookie layer in front of
//                                         STRATEGY, least_conn by default)
//   sid                                   sid in front of round_robin
// Examples: "sid+consistent_hash+bounded" -> strategy consistent_hash, balance_factor,
// affinity [sid]; "sid+cookie+least_conn" -> least_conn with affinity [sid, cookie].
// consistent_hash hashes the client's id (header X-Client-Id, which the e2e clients send; the
// simulation hashes the same "user-N" value); ip_hash hashes the client's address. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bench::affinity {

enum class KeySource { None, ClientAddress, ClientId };
enum class Layer { Sid, Cookie };

struct StrategySpec {
  std::string name;                 // as given, the row's name
  std::string strategy;             // the selector behind the layers
  KeySource key = KeySource::None;
  bool bounded = false;             // consistent_hash with balance_factor
  std::vector<Layer> layers;        // in front of the strategy, in order
  bool cookie_strategy = false;     // written as `strategy: cookie` (cookie / cookie(S))

  bool has(Layer l) const;
};

// The header the e2e clients send and consistent_hash hashes (hash_key: header:x-client-id).
inline constexpr const char* kClientIdHeader = "X-Client-Id";

// Returns "" and fills `out`, or says what is wrong with `name`.
std::string parseStrategySpec(std::string_view name, StrategySpec& out);
// Parses a comma-separated list; "" or an error naming the bad entry.
std::string parseStrategyList(std::string_view list, std::vector<StrategySpec>& out);
// The simulation's default rows (docs/affinity.md's table).
std::vector<StrategySpec> defaultSpecs();
// The upstream's YAML lines (indented four spaces, without `servers:`) for tether.
std::string upstreamYaml(const StrategySpec& spec, double balance_factor);

}  // namespace bench::affinity
