// The admin API's routes, as a pure function from a request to a response, so they are tested
// without sockets and the server (admin_server.h) stays a thin HTTP shell.
//
//   GET  /                                       live HTML status page (status_page.html)
//   GET  /metrics                                Prometheus text (exposition.h)
//   GET  /status                                 JSON: upstreams, servers, state, connections
//   POST /upstreams/{u}/servers/{s}/enable|drain|disable   operator state (upstream/membership_manager.h)
//   POST /reload                                 same as SIGHUP: 200, or 400 with the config error
//
// {s} is the server's name or address, percent-encoded if needed ("[::1]:80" -> %5B%3A%3A1%5D%3A80).
// When admin.token is set every route needs "Authorization: Bearer <token>" (401 otherwise,
// compared in constant time); with admin.read_token as well, the read-only routes (GET) also take
// that one and the write routes (POST) refuse it (403). The status page is the exception only in
// that the browser must still pass the token: it reads it from the page URL's #token=... fragment,
// which never leaves the browser, and sends it as a header on its /status polls. Every write is
// logged once (admin_write: peer, action, status); no token is ever logged or echoed.
#pragma once

#include <string>
#include <string_view>

#include "proxy/admin/scrape_sources.h"

namespace proxy::admin {

struct AdminRequest {
  std::string_view method;
  std::string_view target;         // path and query as received
  std::string_view authorization;  // Authorization header value, empty if absent
  std::string_view peer;           // client IP, for the write log
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // complete "Name: value\r\n" lines
};

AdminResponse handleAdminRequest(const AdminRequest& req, const ScrapeSources& sources, const config::AdminConfig& cfg);

// The /status document (exposed for tests).
std::string renderStatusJson(const ScrapeSources& sources);

}  // namespace proxy::admin
