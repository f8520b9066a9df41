// Canned error responses: see error_response.h.
#include "proxy/http/error_response.h"

#include <algorithm>
#include <array>
#include <string>

namespace proxy::http {
namespace {

struct Canned {
  int status;
  const char* reason;
  const char* body;
};

constexpr Canned kCanned[] = {
    {400, "Bad Request", "400 Bad Request: the request could not be parsed\n"},
    {404, "Not Found", "404 Not Found: no route matches this host and path\n"},
    {408, "Request Timeout", "408 Request Timeout: the request head did not arrive in time\n"},
    {413, "Content Too Large", "413 Content Too Large: the request body exceeds limits.max_body_bytes\n"},
    {429, "Too Many Requests", "429 Too Many Requests: this client is over limits.per_client\n"},
    {431, "Request Header Fields Too Large", "431 Request Header Fields Too Large: the request head exceeds limits.max_header_bytes\n"},
    {500, "Internal Server Error", "500 Internal Server Error\n"},
    {502, "Bad Gateway", "502 Bad Gateway: no upstream server could answer\n"},
    {503, "Service Unavailable", "503 Service Unavailable: no upstream server is available\n"},
    {504, "Gateway Timeout", "504 Gateway Timeout: the upstream server did not answer in time\n"},
    {505, "HTTP Version Not Supported", "505 HTTP Version Not Supported: this port speaks HTTP/1.0 and HTTP/1.1\n"},
};
constexpr size_t kCount = sizeof(kCanned) / sizeof(kCanned[0]);

std::string build(const Canned& c, bool close) {
  std::string body = c.body;
  std::string r = "HTTP/1.1 " + std::to_string(c.status) + " " + c.reason + "\r\n";
  r += "Content-Type: text/plain; charset=utf-8\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (c.status == 503 || c.status == 429) r += "Retry-After: 1\r\n";
  r += close ? "Connection: close\r\n" : "";
  r += "\r\n" + body;
  return r;
}

struct Table {
  std::array<std::string, kCount> keep, close;
  Table() {
    for (size_t i = 0; i < kCount; ++i) {
      keep[i] = build(kCanned[i], false);
      close[i] = build(kCanned[i], true);
    }
  }
};

}  // namespace

std::string_view errorResponse(int status, bool close) {
  static const Table table;
  for (size_t i = 0; i < kCount; ++i)
    if (kCanned[i].status == status) return close ? table.close[i] : table.keep[i];
  constexpr size_t k500 = 6;
  static_assert(kCanned[k500].status == 500);
  return close ? table.close[k500] : table.keep[k500];
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "Success" : status < 400 ? "Redirection" : status < 500 ? "Client Error" : "Server Error";
  }
}

void withHeader(std::string_view response, std::string_view name, std::string_view value, std::string& out) {
  size_t end = response.find("\r\n\r\n");
  if (end == std::string_view::npos) end = response.size();  // not ours: append at the end
  out.assign(response.substr(0, end + 2));
  out.append(name).append(": ").append(value).append("\r\n");
  out.append(response.substr(std::min(end + 2, response.size())));
}

}  // namespace proxy::http
