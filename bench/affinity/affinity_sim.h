// tether-bench affinity: a pure simulation of a Socket.IO client population against every
// balancing strategy and affinity layer, using the proxy's real selectors (proxy/lb), with a
// server removed and one added mid-run. No sockets: it measures placement, not the network.
//
// Model. `clients` clients sit behind `nat_groups` addresses (ip_hash sees only those). Each
// client runs one Engine.IO session per phase: a polling handshake, `polls` polling requests,
// then the websocket upgrade — every one a separate pick, as separate HTTP requests are. Sessions
// start in waves of `wave` concurrent clients, step by step, so loads move between a session's
// requests as they do in a live fleet. A session holds one live upstream connection (its pending
// long-poll, then its tunnel) at its handshake server; a request sent elsewhere breaks it
// ("Session ID unknown") and it is dropped.
//
// Phases: (1) all `servers` healthy; (2) one server removed, every client reconnects (cookies
// kept); (3) a new server added, every client reconnects again. Reported per strategy:
// load spread of the sessions placed per server in (1) and in (3) (max/mean and stddev/mean;
// for bounded loads the live counts they read are the same sessions), % clients
// whose new session lands on another server than in the previous phase (remap on remove /
// add), % sessions broken in (1), and picks per second of one core over a key stream.
// With hot_share > 0 a share of the clients shares a few keys (skewed run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/affinity/strategy_spec.h"

namespace bench::affinity {

struct SimConfig {
  size_t clients = 100'000;
  size_t nat_groups = 20'000;
  size_t servers = 10;
  size_t polls = 3;
  size_t wave = 1'000;
  double balance_factor = 1.25;
  size_t pick_iterations = 10'000'000;
  // Skew: this share of clients uses one of `hot_keys` keys (one big NAT, one shared user id),
  // the case bounded loads exist for. 0 = uniform keys.
  double hot_share = 0;
  size_t hot_keys = 4;
  // Server names; empty: srv-0 .. srv-(servers-1), srv-(servers/2) removed, srv-(servers) added.
  // Given: `servers` is their count, the middle one is removed and "added-server" added.
  std::vector<std::string> server_names;
  // Client addresses (ip_hash keys): NAT group g is the IPv4 address address_base + g.
  uint32_t address_base = 0x0A000000;  // 10.0.0.0
};

// The address ip_hash sees for `client` (uniform keys): its NAT group's, as text.
std::string clientAddress(const SimConfig& cfg, size_t client);
// The client id consistent_hash hashes for `client` (uniform keys).
std::string clientId(size_t client);

struct StrategyResult {
  std::string name;
  double spread = 0, stddev = 0;              // after phase 1
  double spread_after_add = 0;                // after phase 3
  double remap_remove = 0, remap_add = 0;     // % of clients
  double broken = 0;                          // % of sessions, phase 1
  double picks_per_sec = 0;
};

// One row per spec, in order (default: defaultSpecs()). Server names srv-0 .. srv-(N-1);
// srv-(N/2) is removed, srv-N added.
std::vector<StrategyResult> runSimulation(const SimConfig& cfg, const std::vector<StrategySpec>& specs);
std::vector<StrategyResult> runSimulation(const SimConfig& cfg);
std::string formatTable(const SimConfig& cfg, const std::vector<StrategyResult>& results);
std::string toCsv(const std::vector<StrategyResult>& results);
// gnuplot script reading the uniform and skewed CSVs and writing `png`.
std::string gnuplotScript(const std::string& csv, const std::string& skewed_csv, const std::string& png);

}  // namespace bench::affinity
