// Admin routes: see admin_routes.h.
#include "proxy/admin/admin_routes.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <vector>

#include "common/log.h"
#include "proxy/admin/status_page.h"
#include "proxy/metrics/exposition.h"

namespace proxy::admin {
namespace {

AdminResponse text(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body += "\n";
  return r;
}

AdminResponse json(int status, const nlohmann::json& j) {
  AdminResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = j.dump();
  return r;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(percentDecode(path.substr(i, j - i)));
    i = j;
  }
  return parts;
}

bool tokenMatches(std::string_view authorization, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() != kBearer.size() + token.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < kBearer.size(); ++i)
    diff |= static_cast<unsigned>(std::tolower(static_cast<unsigned char>(authorization[i])) ^ std::tolower(static_cast<unsigned char>(kBearer[i])));
  for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(authorization[kBearer.size() + i] ^ token[i]);
  return diff == 0;
}

AdminResponse changeServerState(const std::vector<std::string>& parts, const metrics::ScrapeSources& src) {
  // parts: upstreams {u} servers {s} {action}
  const config::Config& cfg = *src.config;
  const std::string& action = parts[4];
  upstream::AdminState state;
  if (action == "enable") state = upstream::AdminState::Enabled;
  else if (action == "drain") state = upstream::AdminState::Drain;
  else if (action == "disable") state = upstream::AdminState::Disabled;
  else return text(404, "unknown action '" + action + "' (enable, drain, disable)");
  for (size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const config::UpstreamConfig& u = cfg.upstreams[ui];
    if (u.name != parts[1]) continue;
    for (size_t s = 0; s < u.servers.size(); ++s) {
      if (u.servers[s].name != parts[3] && u.servers[s].address != parts[3]) continue;
      upstream::AdminState old = src.admin_states->get(ui, s);
      src.admin_states->set(ui, s, state);
      common::logInfo("server_admin_state", {{"upstream", u.name}, {"server", u.servers[s].name}, {"from", upstream::adminStateName(old)},
                                             {"to", upstream::adminStateName(state)}});
      return json(200, {{"upstream", u.name}, {"server", u.servers[s].name}, {"admin_state", upstream::adminStateName(state)},
                        {"previous", upstream::adminStateName(old)}});
    }
    return text(404, "no server '" + parts[3] + "' in upstream '" + u.name + "'");
  }
  return text(404, "no upstream '" + parts[1] + "'");
}

}  // namespace

std::string renderStatusJson(const metrics::ScrapeSources& src) {
  using nlohmann::json;
  const config::Config& cfg = *src.config;
  json doc;
  doc["version"] = src.version;
  doc["generation"] = src.process ? src.process->generation() : 1;
  doc["workers"] = src.workers.size();
  doc["start_time"] = src.start_time_unix;
  doc["uptime_seconds"] = static_cast<uint64_t>(std::time(nullptr)) - src.start_time_unix;
  json listeners = json::array();
  for (size_t li = 0; li < cfg.listeners.size(); ++li) {
    int64_t n = 0;
    for (const auto* w : src.workers) n += w->downstream_connections[li]->value();
    listeners.push_back({{"name", cfg.listeners[li].name}, {"address", cfg.listeners[li].address}, {"connections", n}});
  }
  doc["listeners"] = listeners;
  json upstreams = json::array();
  for (size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const config::UpstreamConfig& u = cfg.upstreams[ui];
    json servers = json::array();
    uint64_t up_requests = 0;
    json local_responses;
    for (size_t s = 0; s <= u.servers.size(); ++s) {
      uint64_t classes[5] = {0, 0, 0, 0, 0};  // 1xx..5xx
      int64_t active = 0, tunnels = 0;
      for (const auto* w : src.workers) {
        const metrics::ServerMetrics& m = w->upstreams[ui]->servers[s];
        for (size_t c = 0; c < metrics::kStatusSlots; ++c) classes[c / 100] += m.responses[c].value();
        active += m.active.value();
        tunnels += m.tunnels_active.value();
      }
      uint64_t requests = classes[0] + classes[1] + classes[2] + classes[3] + classes[4];
      up_requests += requests;
      json resp = {{"1xx", classes[0]}, {"2xx", classes[1]}, {"3xx", classes[2]}, {"4xx", classes[3]}, {"5xx", classes[4]}};
      if (s == u.servers.size()) {  // answered by the proxy itself (no server)
        local_responses = {{"requests", requests}, {"responses", resp}};
        continue;
      }
      const config::ServerConfig& sc = u.servers[s];
      upstream::AdminState st = src.admin_states ? src.admin_states->get(ui, s) : upstream::AdminState::Enabled;
      servers.push_back({{"name", sc.name},
                         {"address", sc.address},
                         {"weight", sc.weight},
                         {"backup", sc.backup},
                         {"health", "up"},  // TODO(health): the health engine's state
                         {"admin_state", upstream::adminStateName(st)},
                         {"active_connections", active},
                         {"tunnels", tunnels},
                         {"requests", requests},
                         {"responses", resp},
                         {"health_checks", {{"success", src.process ? src.process->healthChecks(ui, s, true) : 0},
                                            {"failure", src.process ? src.process->healthChecks(ui, s, false) : 0}}}});
    }
    uint64_t retries = 0, tunnels_total = 0;
    uint64_t aff[metrics::kAffinityResults] = {};
    for (const auto* w : src.workers) {
      retries += w->upstreams[ui]->retries.value();
      tunnels_total += w->upstreams[ui]->tunnels_total.value();
      for (size_t a = 0; a < metrics::kAffinityResults; ++a) aff[a] += w->upstreams[ui]->affinity[a].value();
    }
    json affinity;
    for (size_t a = 0; a < metrics::kAffinityResults; ++a) affinity[metrics::kAffinityResultNames[a]] = aff[a];
    upstreams.push_back({{"name", u.name},
                         {"strategy", u.strategy},
                         {"retries_allowed", u.retries},
                         {"keepalive", u.keepalive},
                         {"servers", servers},
                         {"requests", up_requests},
                         {"local_responses", local_responses},
                         {"retries", retries},
                         {"tunnels_total", tunnels_total},
                         {"affinity", affinity}});
  }
  doc["upstreams"] = upstreams;
  return doc.dump();
}

AdminResponse handleAdminRequest(const AdminRequest& req, const metrics::ScrapeSources& src, const std::string& token) {
  std::string_view path = req.target.substr(0, req.target.find('?'));
  if (!token.empty() && !tokenMatches(req.authorization, token)) {
    // The page itself carries no data; serving it lets a browser show a token prompt.
    if (req.method == "GET" && path == "/") {
      AdminResponse r;
      r.content_type = "text/html; charset=utf-8";
      r.body = std::string(kStatusPageHtml);
      return r;
    }
    AdminResponse r = text(401, "unauthorized: send Authorization: Bearer <admin.token>");
    r.extra_headers = "WWW-Authenticate: Bearer realm=\"tether-admin\"\r\n";
    return r;
  }
  std::vector<std::string> parts = splitPath(path);
  bool get = req.method == "GET" || req.method == "HEAD";
  if (parts.empty()) {
    if (!get) return text(405, "method not allowed");
    AdminResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(kStatusPageHtml);
    return r;
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!get) return text(405, "method not allowed");
    AdminResponse r;
    r.content_type = metrics::kPrometheusContentType;
    r.body = metrics::renderPrometheus(src);
    return r;
  }
  if (parts.size() == 1 && parts[0] == "status") {
    if (!get) return text(405, "method not allowed");
    AdminResponse r;
    r.content_type = "application/json";
    r.body = renderStatusJson(src);
    return r;
  }
  if (parts.size() == 1 && parts[0] == "reload") {
    if (req.method != "POST") return text(405, "use POST");
    if (!src.reload) return text(503, "reload is not available");
    std::string error = src.reload();
    if (!error.empty()) return text(400, "reload refused, the running configuration stays: " + error);
    return text(200, "reloaded");
  }
  if (parts.size() == 5 && parts[0] == "upstreams" && parts[2] == "servers") {
    if (req.method != "POST") return text(405, "use POST");
    if (!src.admin_states) return text(503, "no admin state");
    return changeServerState(parts, src);
  }
  return text(404, "not found");
}

}  // namespace proxy::admin
