// DNS discovery: the members of `resolve: true` servers, kept current with c-ares on the main
// loop, and the configuration the workers run that includes them.
//
// Each distinct host name of a `resolve: true` template (config.h) is looked up (A and AAAA)
// every `resolver.interval`, or after the records' TTL when that is longer (capped at 5 min).
// When the set of addresses of a name changes, `on_change` runs; main then builds the effective
// configuration with expand() and hands it to the membership manager and the workers exactly as a
// reload would, so members join and leave without a reload and without failed requests: requests
// on a removed member finish on the configuration they started with, new ones go elsewhere.
//
// Rules: a name that does not resolve yet has no members (its upstream answers 503 with
// Retry-After while it has no other server) and is logged once, not per request or per attempt;
// a DNS failure (timeout, refused, SERVFAIL) keeps the last known members; an authoritative
// "no such name" or "no records" empties them. Members are named NAME@IP:PORT (NAME: the
// template's name, by default its address as written), so each has an identity of its own for
// health, admin state, metrics, cookies and sid pins.
//
// c-ares runs without an event loop of its own: its sockets are watched with uv_poll and its
// timeouts driven by a uv_timer, all on the main loop; workers never wait on DNS.
#pragma once

#include <ares.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/config/config.h"

namespace proxy::upstream {

// Addresses per host name, as last resolved (sorted, without duplicates; port not set).
using ResolvedNames = std::map<std::string, std::vector<sockaddr_storage>>;

// The configuration workers run: `file` with each `resolve: true` template expanded into one
// server per known address of its host. Pure.
std::shared_ptr<config::Config> expandMembers(const config::Config& file, const ResolvedNames& names);

class Discovery {
 public:
  Discovery(uv_loop_t* loop, std::function<void()> on_change);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Watches the host names of `file`'s templates (start-up and every reload): names still
  // present keep their known addresses and schedule; new ones are looked up at once; others are
  // forgotten. Returns "" or an error (the resolver could not be set up).
  std::string configure(const config::Config& file);
  void stop();

  const ResolvedNames& names() const { return known_; }
  // Every watched name has had an answer (or a failure) at least once.
  bool settled() const;
  bool watching() const { return !watched_.empty(); }
  // Counters for /metrics (tether_discovery_updates_total{result}).
  uint64_t updates(int result) const { return counts_[result]; }
  enum Result { Changed = 0, Unchanged = 1, Failed = 2 };

 private:
  struct Name;
  struct Query;
  struct Poll;
  static void onSockStateCb(void* data, ares_socket_t fd, int readable, int writable);
  static void onPollCb(uv_poll_t* p, int status, int events);
  static void onAresTimerCb(uv_timer_t* t);
  static void onNameTimerCb(uv_timer_t* t);
  static void onResultCb(void* arg, int status, int timeouts, ares_addrinfo* result);
  void lookup(Name& n);
  void armAresTimer();
  void schedule(Name& n, uint64_t delay_ms);
  void forget(const std::string& host);

  uv_loop_t* loop_;
  std::function<void()> on_change_;
  ares_channel channel_ = nullptr;
  std::string servers_csv_;
  uint64_t interval_ms_ = 5'000;
  uv_timer_t ares_timer_;
  bool timer_open_ = false;
  std::map<ares_socket_t, Poll*> polls_;
  std::map<std::string, std::unique_ptr<Name>> watched_;
  ResolvedNames known_;
  uint64_t counts_[3] = {0, 0, 0};
  bool stopped_ = false;
};

}  // namespace proxy::upstream
