// Pieces of a proxied exchange that do not depend on the client protocol: shared by the HTTP/1.1
// session (session_exchange.cc) and HTTP/2 streams (h2/h2_stream.cc), so both route, name and
// rewrite a request the same way.
#pragma once

#include <string>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/edge/request_id.h"
#include "proxy/http/message_head.h"
#include "proxy/upstream/upstream_conn.h"

namespace proxy::server {

// Request ids on (`cfg.request_id` names the header): keeps the client's id when sane, else makes
// one with `ids`; off: `out` is left empty.
void assignRequestId(const config::Config& cfg, edge::RequestIdGenerator& ids, const http::MessageHead& head, std::string& out);

// A route's header rules expanded for one request: request lines first, then the response lines
// from `split` on.
void expandHeaderRules(const config::RouteConfig& route, const http::MessageHead& head, std::string_view scheme,
                       std::string_view client, std::string_view request_id, std::string& lines, size_t& split);

// strip_prefix / rewrite_prefix: `target` with the route's path_prefix replaced.
std::string rewriteTarget(const config::RouteConfig& route, std::string_view target);

// What an upstream failure tells passive health detection: the reason to note against the
// server, or null when it says nothing about the server (a reused connection that closed before
// answering is the ordinary keep-alive race; a bad response is the exchange's problem).
const char* passiveFailureReason(upstream::UpstreamError error, bool reused_connection);

}  // namespace proxy::server
