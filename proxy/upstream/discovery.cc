// Discovery: see discovery.h.
#include "proxy/upstream/discovery.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/log.h"
#include "common/uv_util.h"

namespace proxy::upstream {
namespace {

constexpr uint64_t kMaxTtlMs = 300'000;
constexpr uint64_t kRetrySoonMs = 100;

std::string ipText(const sockaddr_storage& ss) { return common::formatIp(reinterpret_cast<const sockaddr*>(&ss)); }

std::string joined(const std::vector<sockaddr_storage>& addrs) {
  std::string out;
  for (const auto& a : addrs) {
    if (!out.empty()) out += ',';
    out += ipText(a);
  }
  return out.empty() ? "-" : out;
}

bool sameAddresses(const std::vector<sockaddr_storage>& a, const std::vector<sockaddr_storage>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ipText(a[i]) != ipText(b[i])) return false;
  return true;
}

}  // namespace

std::shared_ptr<config::Config> expandMembers(const config::Config& file, const ResolvedNames& names) {
  auto out = std::make_shared<config::Config>(file);
  for (auto& u : out->upstreams) {
    for (const config::ServerConfig& t : u.resolve) {
      auto it = names.find(t.host);
      if (it == names.end()) continue;
      for (sockaddr_storage addr : it->second) {
        common::setPort(addr, t.port);
        config::ServerConfig s = t;
        s.sockaddr = addr;
        s.address = common::formatSockAddr(reinterpret_cast<const sockaddr*>(&addr));
        s.name = t.name + "@" + s.address;
        s.hostname = t.host;
        s.host.clear();
        s.port = 0;
        u.servers.push_back(std::move(s));
      }
    }
  }
  return out;
}

// One watched host name.
struct Discovery::Name {
  Discovery* owner = nullptr;
  std::string host;
  uv_timer_t timer;
  bool inflight = false;
  bool failing = false;   // the last lookup failed (logged once per streak)
  bool answered = false;  // at least one lookup has completed
};

// One lookup in flight; the name is found again by host when it completes (it may be gone).
struct Discovery::Query {
  Discovery* owner;
  std::string host;
};

struct Discovery::Poll {
  Discovery* owner;
  ares_socket_t fd;
  uv_poll_t handle;
};

Discovery::Discovery(uv_loop_t* loop, std::function<void()> on_change) : loop_(loop), on_change_(std::move(on_change)) {}

Discovery::~Discovery() { stop(); }

std::string Discovery::configure(const config::Config& file) {
  if (stopped_) return "discovery stopped";
  std::string csv;
  for (const auto& s : file.resolver.servers) csv += (csv.empty() ? "" : ",") + s;
  interval_ms_ = static_cast<uint64_t>(file.resolver.interval.count());
  std::set<std::string> hosts;
  for (const auto& u : file.upstreams)
    for (const auto& t : u.resolve) hosts.insert(t.host);
  if (hosts.empty() && !channel_) return {};
  if (channel_ && csv != servers_csv_) {  // other resolvers: a fresh channel (lookups in flight are retried)
    ares_destroy(channel_);
    channel_ = nullptr;
  }
  if (!channel_) {
    static const int init = ares_library_init(ARES_LIB_INIT_ALL);
    if (init != ARES_SUCCESS) return std::string("c-ares: ") + ares_strerror(init);
    ares_options opts{};
    opts.sock_state_cb = &Discovery::onSockStateCb;
    opts.sock_state_cb_data = this;
    int rc = ares_init_options(&channel_, &opts, ARES_OPT_SOCK_STATE_CB);
    if (rc != ARES_SUCCESS) {
      channel_ = nullptr;
      return std::string("c-ares: ") + ares_strerror(rc);
    }
    if (!csv.empty() && (rc = ares_set_servers_ports_csv(channel_, csv.c_str())) != ARES_SUCCESS)
      return "resolver.servers '" + csv + "': " + ares_strerror(rc);
    servers_csv_ = csv;
    if (!timer_open_) {
      if (int urc = uv_timer_init(loop_, &ares_timer_); urc < 0) return std::string("timer: ") + common::uvErr(urc);
      ares_timer_.data = this;
      timer_open_ = true;
    }
    for (auto& [host, n] : watched_) n->inflight = false;  // their queries died with the old channel
  }
  std::vector<std::string> gone;
  for (auto& [host, n] : watched_)
    if (!hosts.count(host)) gone.push_back(host);
  for (const auto& h : gone) forget(h);
  for (const auto& h : hosts) {
    auto& slot = watched_[h];
    if (!slot) {
      slot = std::make_unique<Name>();
      slot->owner = this;
      slot->host = h;
      if (int rc = uv_timer_init(loop_, &slot->timer); rc < 0) {
        watched_.erase(h);
        return std::string("timer: ") + common::uvErr(rc);
      }
      slot->timer.data = slot.get();
      common::logInfo("dns_watch", {{"host", h}, {"interval_ms", static_cast<long long>(interval_ms_)}});
    }
    if (!slot->inflight && !slot->answered) lookup(*slot);
  }
  return {};
}

bool Discovery::settled() const {
  for (const auto& [host, n] : watched_)
    if (!n->answered) return false;
  return true;
}

void Discovery::forget(const std::string& host) {
  auto it = watched_.find(host);
  if (it == watched_.end()) return;
  Name* n = it->second.release();
  watched_.erase(it);
  known_.erase(host);
  common::closeHandle(reinterpret_cast<uv_handle_t*>(&n->timer), [](uv_handle_t* h) { delete static_cast<Name*>(h->data); });
}

void Discovery::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (channel_) {
    ares_destroy(channel_);  // pending callbacks run with ARES_EDESTRUCTION; sockets are released
    channel_ = nullptr;
  }
  std::vector<std::string> hosts;
  for (auto& [host, n] : watched_) hosts.push_back(host);
  for (const auto& h : hosts) forget(h);
  if (timer_open_) common::closeHandle(reinterpret_cast<uv_handle_t*>(&ares_timer_));
  timer_open_ = false;
}

void Discovery::lookup(Name& n) {
  if (!channel_ || n.inflight) return;
  n.inflight = true;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(channel_, n.host.c_str(), nullptr, &hints, &Discovery::onResultCb, new Query{this, n.host});
  armAresTimer();
}

void Discovery::schedule(Name& n, uint64_t delay_ms) {
  int rc = uv_timer_start(&n.timer, &Discovery::onNameTimerCb, delay_ms, 0);
  if (rc < 0) common::logError("dns_timer_failed", {{"host", n.host}, {"error", common::uvErr(rc)}});
}

void Discovery::onNameTimerCb(uv_timer_t* t) {
  auto* n = static_cast<Name*>(t->data);
  n->owner->lookup(*n);
}

void Discovery::armAresTimer() {
  if (!channel_ || !timer_open_) return;
  timeval tv{};
  if (!ares_timeout(channel_, nullptr, &tv)) {
    uv_timer_stop(&ares_timer_);
    return;
  }
  uint64_t ms = static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000 + 1;
  int rc = uv_timer_start(&ares_timer_, &Discovery::onAresTimerCb, ms, 0);
  if (rc < 0) common::logError("dns_timer_failed", {{"error", common::uvErr(rc)}});
}

void Discovery::onAresTimerCb(uv_timer_t* t) {
  auto* self = static_cast<Discovery*>(t->data);
  if (!self->channel_) return;
  ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->armAresTimer();
}

void Discovery::onSockStateCb(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<Discovery*>(data);
  auto it = self->polls_.find(fd);
  if (!readable && !writable) {
    if (it == self->polls_.end()) return;
    Poll* p = it->second;
    self->polls_.erase(it);
    uv_poll_stop(&p->handle);
    common::closeHandle(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
    return;
  }
  Poll* p;
  if (it == self->polls_.end()) {
    p = new Poll{self, fd, {}};
    if (int rc = uv_poll_init_socket(self->loop_, &p->handle, fd); rc < 0) {
      common::logError("dns_poll_failed", {{"error", common::uvErr(rc)}});
      delete p;
      return;  // the query times out through ares_timeout
    }
    p->handle.data = p;
    self->polls_[fd] = p;
  } else {
    p = it->second;
  }
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  if (int rc = uv_poll_start(&p->handle, events, &Discovery::onPollCb); rc < 0)
    common::logError("dns_poll_failed", {{"error", common::uvErr(rc)}});
}

void Discovery::onPollCb(uv_poll_t* h, int status, int events) {
  auto* p = static_cast<Poll*>(h->data);
  Discovery* self = p->owner;
  if (!self->channel_) return;
  ares_socket_t fd = p->fd;  // `p` may be freed by what ares_process_fd does
  bool r = status < 0 || (events & UV_READABLE);
  bool w = status < 0 || (events & UV_WRITABLE);
  ares_process_fd(self->channel_, r ? fd : ARES_SOCKET_BAD, w ? fd : ARES_SOCKET_BAD);
  self->armAresTimer();
}

void Discovery::onResultCb(void* arg, int status, int, ares_addrinfo* result) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  Discovery* self = q->owner;
  std::vector<sockaddr_storage> addrs;
  uint64_t ttl_ms = kMaxTtlMs;
  if (status == ARES_SUCCESS && result) {
    for (ares_addrinfo_node* a = result->nodes; a; a = a->ai_next) {
      sockaddr_storage ss{};
      if (a->ai_family == AF_INET) std::memcpy(&ss, a->ai_addr, sizeof(sockaddr_in));
      else if (a->ai_family == AF_INET6) std::memcpy(&ss, a->ai_addr, sizeof(sockaddr_in6));
      else continue;
      common::setPort(ss, 0);
      addrs.push_back(ss);
      ttl_ms = std::min<uint64_t>(ttl_ms, static_cast<uint64_t>(std::max(a->ai_ttl, 0)) * 1000);
    }
  }
  if (result) ares_freeaddrinfo(result);
  if (self->stopped_) return;
  auto it = self->watched_.find(q->host);
  if (it == self->watched_.end()) return;  // no longer watched
  Name& n = *it->second;
  n.inflight = false;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {  // the channel was replaced
    self->schedule(n, kRetrySoonMs);
    return;
  }
  common::sortUniqueAddresses(addrs);
  bool authoritative_none = status == ARES_ENOTFOUND || status == ARES_ENODATA ||
                            (status == ARES_SUCCESS && addrs.empty());
  n.answered = true;
  if (status != ARES_SUCCESS && !authoritative_none) {  // timeout, refused, SERVFAIL: keep the last members
    ++self->counts_[Failed];
    if (!n.failing) {
      auto known = self->known_.find(n.host);
      common::logWarn("dns_resolve_failed", {{"host", n.host}, {"error", ares_strerror(status)},
                                             {"kept_members", known == self->known_.end() ? 0 : known->second.size()}});
    }
    n.failing = true;
    self->schedule(n, self->interval_ms_);
    return;
  }
  if (n.failing) common::logInfo("dns_resolve_recovered", {{"host", n.host}});
  n.failing = false;
  auto known = self->known_.find(n.host);
  bool changed = known == self->known_.end() || !sameAddresses(known->second, addrs);
  if (changed) {
    if (addrs.empty())
      common::logWarn("dns_no_members", {{"host", n.host}, {"reason", status == ARES_SUCCESS ? "no A/AAAA records" : ares_strerror(status)},
                                         {"effect", "no members from this name until it resolves"}});
    else
      common::logInfo("dns_members", {{"host", n.host}, {"addresses", joined(addrs)},
                                      {"before", known == self->known_.end() ? std::string("-") : joined(known->second)}});
    self->known_[n.host] = std::move(addrs);
  }
  ++self->counts_[changed ? Changed : Unchanged];
  uint64_t next = std::max(self->interval_ms_, authoritative_none ? 0 : ttl_ms);
  self->schedule(n, std::min(next, std::max(self->interval_ms_, kMaxTtlMs)));
  if (changed && self->on_change_) self->on_change_();
}

}  // namespace proxy::upstream
