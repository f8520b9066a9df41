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

// What an exchange does after its upstream connection failed.
enum class RetryStep {
  Stale,  // replay once on a fresh connection to the same server
  Next,   // replay on a server not tried yet (startAttempt counts the attempts against `retries`)
  Fail,   // answer the client with the error, or cut the response that already started
};

// What decideRetry looks at, taken just before the failed connection is released.
struct RetryInputs {
  bool stale_ok = false;               // the failure may be the keep-alive race (a close before answering)
  bool reused = false;                 // the failed connection was a reused keep-alive connection
  bool upstream_response_started = false;  // the failed connection had begun a response
  bool response_started = false;      // response bytes went to the client
  bool body_forwarded = false;        // request body bytes went upstream
  bool stale_retry_used = false;      // the exchange already replayed once on the same server
  bool next_ok = false;               // the failure allows moving to another server
};

// The replay rule shared by HTTP/1.1 sessions and HTTP/2 streams: a request can be replayed while
// none of its body has been forwarded and no response byte went to the client; on a reused
// keep-alive connection the server had closed, once and to the same server (`stale_ok`);
// otherwise on a server not tried yet when `next_ok`.
RetryStep decideRetry(const RetryInputs& in);

// Writes the request head on `up` and arms its response timeout (the route's upstream_response,
// else the global one). False: the write failed (the error arrives asynchronously).
bool sendRequestHead(upstream::UpstreamConn& up, std::string& head, bool request_is_head,
                     const config::RouteConfig* route, const config::Config& cfg);

}  // namespace proxy::server
