// Admin routes: see admin_routes.h.
#include "proxy/admin/admin_routes.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <vector>

#include "common/log.h"
#include "proxy/admin/status_page.h"
#include "proxy/admin/exposition.h"

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

AdminResponse changeServerState(const std::vector<std::string>& parts, const ScrapeSources& src) {
  // parts: upstreams {u} servers {s} {action}
  const config::Config& cfg = src.members->config();
  const std::string& action = parts[4];
  lb::AdminState state;
  if (action == "enable") state = lb::AdminState::Enabled;
  else if (action == "drain") state = lb::AdminState::Drain;
  else if (action == "disable") state = lb::AdminState::Disabled;
  else return text(404, "unknown action '" + action + "' (enable, drain, disable)");
  for (size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const config::UpstreamConfig& u = cfg.upstreams[ui];
    if (u.name != parts[1]) continue;
    for (size_t s = 0; s < u.servers.size(); ++s) {
      if (u.servers[s].name != parts[3] && u.servers[s].address != parts[3]) continue;
      lb::AdminState old;
      src.members->setAdmin(ui, s, state, old);
      common::logInfo("server_admin_state", {{"upstream", u.name}, {"server", u.servers[s].name}, {"from", lb::adminStateName(old)},
                                             {"to", lb::adminStateName(state)}});
      return json(200, {{"upstream", u.name}, {"server", u.servers[s].name}, {"admin_state", lb::adminStateName(state)},
                        {"previous", lb::adminStateName(old)}});
    }
    return text(404, "no server '" + parts[3] + "' in upstream '" + u.name + "'");
  }
  return text(404, "no upstream '" + parts[1] + "'");
}

}  // namespace

std::string renderStatusJson(const ScrapeSources& src) {
  using nlohmann::json;
  const config::Config& cfg = src.members->config();
  json doc;
  doc["version"] = src.version;
  doc["generation"] = src.process ? src.process->generation() : 1;
  doc["workers"] = src.workers.size();
  doc["start_time"] = src.start_time_unix;
  doc["uptime_seconds"] = static_cast<uint64_t>(std::time(nullptr)) - src.start_time_unix;
  json listeners = json::array();
  for (size_t li = 0; li < cfg.listeners.size(); ++li) {
    int64_t n = 0;
    for (const auto* w : src.workers)
      if (li < w->downstream_connections.size()) n += w->downstream_connections[li]->value();
    listeners.push_back({{"name", cfg.listeners[li].name}, {"address", cfg.listeners[li].address}, {"connections", n}});
  }
  doc["listeners"] = listeners;
  json upstreams = json::array();
  for (size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const config::UpstreamConfig& u = cfg.upstreams[ui];
    json servers = json::array();
    uint64_t up_requests = 0;
    // Responses by class (1xx..5xx) of one server series, summed over workers.
    auto classes = [](const metrics::ServerSeries& series, uint64_t& total) {
      uint64_t c[5] = {0, 0, 0, 0, 0};
      for (unsigned w = 0; w < series.count; ++w)
        for (size_t code = 0; code < metrics::kStatusSlots; ++code) c[code / 100] += series.slots[w].responses[code].value();
      total = c[0] + c[1] + c[2] + c[3] + c[4];
      return json{{"1xx", c[0]}, {"2xx", c[1]}, {"3xx", c[2]}, {"4xx", c[3]}, {"5xx", c[4]}};
    };
    for (size_t s = 0; s < u.servers.size(); ++s) {
      const config::ServerConfig& sc = u.servers[s];
      auto series = src.series->server(u.name, sc.name);
      uint64_t requests = 0;
      json resp = classes(*series, requests);
      up_requests += requests;
      int64_t active = 0, tunnels = 0;
      for (unsigned w = 0; w < series->count; ++w) {
        active += series->slots[w].active.value();
        tunnels += series->slots[w].tunnels_active.value();
      }
      upstream::ServerView view = src.members->server(ui, s);
      json server = {{"name", sc.name},
                     {"address", sc.address},
                     {"weight", sc.weight},
                     {"backup", sc.backup},
                     {"health", view.healthy ? "up" : "down"},
                     {"admin_state", lb::adminStateName(view.admin)},
                     {"active_connections", active},
                     {"tunnels", tunnels},
                     {"requests", requests},
                     {"responses", resp}};
      if (u.health_check.enabled) server["health_checks"] = {{"success", view.checks_ok}, {"failure", view.checks_failed}};
      servers.push_back(std::move(server));
    }
    uint64_t local_requests = 0;
    json local_resp = classes(*src.series->server(u.name, metrics::SeriesRegistry::kNone), local_requests);
    up_requests += local_requests;
    auto up = src.series->upstream(u.name);
    json affinity;
    for (size_t a = 0; a < metrics::kAffinityResults; ++a)
      affinity[metrics::kAffinityResultNames[a]] = up->sum([a](const metrics::UpstreamMetrics& m) { return m.affinity[a].value(); });
    lb::MembershipPtr m = src.members->membership(ui);
    upstreams.push_back({{"name", u.name},
                         {"strategy", u.strategy},
                         {"retries_allowed", u.retries},
                         {"keepalive", u.keepalive},
                         {"members", u.servers.size()},
                         {"all_down", m && m->all_down},
                         {"servers", servers},
                         {"requests", up_requests},
                         {"local_responses", {{"requests", local_requests}, {"responses", local_resp}}},
                         {"retries", up->sum([](const metrics::UpstreamMetrics& x) { return x.retries.value(); })},
                         {"tunnels_total", up->sum([](const metrics::UpstreamMetrics& x) { return x.tunnels_total.value(); })},
                         {"affinity", affinity}});
  }
  doc["upstreams"] = upstreams;
  return doc.dump();
}

namespace {

AdminResponse statusPage() {
  AdminResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(kStatusPageHtml);
  return r;
}

AdminResponse unauthorized() {
  AdminResponse r = text(401, "unauthorized: send Authorization: Bearer <admin.token>");
  r.extra_headers = "WWW-Authenticate: Bearer realm=\"tether-admin\"\r\n";
  return r;
}

AdminResponse route(const AdminRequest& req, std::string_view path, const ScrapeSources& src);

}  // namespace

AdminResponse handleAdminRequest(const AdminRequest& req, const ScrapeSources& src, const config::AdminConfig& cfg) {
  std::string_view path = req.target.substr(0, req.target.find('?'));
  bool write = req.method == "POST";
  if (!cfg.token.empty() && !tokenMatches(req.authorization, cfg.token)) {
    bool reader = !cfg.read_token.empty() && tokenMatches(req.authorization, cfg.read_token);
    if (reader && write) {
      common::logWarn("admin_write", {{"peer", req.peer}, {"action", path}, {"status", 403LL}, {"reason", "read_token cannot write"}});
      return text(403, "forbidden: the read-only token cannot change anything; use admin.token");
    }
    if (!reader) {
      // The page itself carries no data; serving it lets a browser show a token prompt.
      if (req.method == "GET" && path == "/") return statusPage();
      if (write) common::logWarn("admin_write", {{"peer", req.peer}, {"action", path}, {"status", 401LL}});
      return unauthorized();
    }
  }
  AdminResponse r = route(req, path, src);
  if (write) common::logInfo("admin_write", {{"peer", req.peer}, {"action", path}, {"status", static_cast<long long>(r.status)}});
  return r;
}

namespace {

AdminResponse route(const AdminRequest& req, std::string_view path, const ScrapeSources& src) {
  std::vector<std::string> parts = splitPath(path);
  bool get = req.method == "GET" || req.method == "HEAD";
  if (parts.empty()) {
    if (!get) return text(405, "method not allowed");
    return statusPage();
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!get) return text(405, "method not allowed");
    AdminResponse r;
    r.content_type = kPrometheusContentType;
    r.body = renderPrometheus(src);
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
    return changeServerState(parts, src);
  }
  return text(404, "not found");
}

}  // namespace
}  // namespace proxy::admin
