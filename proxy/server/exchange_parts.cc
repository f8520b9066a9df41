// Protocol-independent pieces of an exchange; see exchange_parts.h.
#include "proxy/server/exchange_parts.h"

#include <algorithm>

#include "proxy/config/template.h"
#include "proxy/route/router.h"

namespace proxy::server {

void assignRequestId(const config::Config& cfg, edge::RequestIdGenerator& ids, const http::MessageHead& head, std::string& out) {
  out.clear();
  const std::string& name = cfg.request_id;
  if (name.empty()) return;
  std::string_view given = head.find(name);
  if (edge::saneRequestId(given)) {
    out.assign(given);
    return;
  }
  out.resize(edge::kGeneratedIdBytes);
  ids.next(out.data());
}

void expandHeaderRules(const config::RouteConfig& route, const http::MessageHead& head, std::string_view scheme,
                       std::string_view client, std::string_view request_id, std::string& lines, size_t& split) {
  lines.clear();
  split = 0;
  if (route.request_headers.add.empty() && route.response_headers.add.empty()) return;
  config::TemplateValues values{route::hostWithoutPort(head.host()), head.url(), scheme, client, request_id};
  auto expand = [&](const config::HeaderRules& rules) {
    for (const auto& line : rules.add) {
      lines.append(line.name).append(": ");
      config::expandTemplate(line.value, values, lines);
      lines.append("\r\n");
    }
  };
  expand(route.request_headers);
  split = lines.size();
  expand(route.response_headers);
}

std::string rewriteTarget(const config::RouteConfig& route, std::string_view target) {
  std::string_view rest = target.substr(std::min(route.path_prefix.size(), target.size()));
  std::string out;
  out.reserve(route.rewrite_prefix.size() + rest.size() + 1);
  if (!route.rewrite_prefix.empty()) out.append(route.rewrite_prefix);
  else if (rest.empty() || rest.front() != '/') out.push_back('/');
  out.append(rest);
  return out;
}

const char* passiveFailureReason(upstream::UpstreamError error, bool reused_connection) {
  switch (error) {
    case upstream::UpstreamError::ConnectFailed: return "connect_failed";
    case upstream::UpstreamError::ConnectTimeout: return "connect_timeout";
    case upstream::UpstreamError::ResponseTimeout: return "response_timeout";
    case upstream::UpstreamError::TlsFailed: return "tls_failed";
    case upstream::UpstreamError::Closed: return reused_connection ? nullptr : "reset";
    case upstream::UpstreamError::BadResponse: return nullptr;
  }
  return nullptr;
}

RetryStep decideRetry(const RetryInputs& in) {
  bool stale = in.stale_ok && in.reused && !in.upstream_response_started;
  bool replayable = !in.response_started && !in.body_forwarded;
  if (replayable && stale && !in.stale_retry_used) return RetryStep::Stale;
  if (replayable && in.next_ok) return RetryStep::Next;
  return RetryStep::Fail;
}

bool sendRequestHead(upstream::UpstreamConn& up, std::string& head, bool request_is_head,
                     const config::RouteConfig* route, const config::Config& cfg) {
  uv_buf_t b = uv_buf_init(head.data(), static_cast<unsigned>(head.size()));
  if (up.write(&b, 1) < 0) return false;
  up.expectResponse(request_is_head, static_cast<uint64_t>(
      (route && route->upstream_response.count() ? route->upstream_response : cfg.timeouts.upstream_response).count()));
  return true;
}

}  // namespace proxy::server
