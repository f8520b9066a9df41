// Trailer blocks; see trailers.h.
#include "proxy/http/trailers.h"

#include "proxy/http/message_head.h"

namespace proxy::http {

bool trailerNameAllowed(std::string_view name) {
  if (name.empty() || name[0] == ':') return false;
  static constexpr std::string_view kForbidden[] = {
      "content-length", "transfer-encoding", "connection",       "keep-alive",          "proxy-connection",
      "te",             "trailer",           "upgrade",          "host",                "content-encoding",
      "content-type",   "content-range",     "authorization",    "proxy-authorization", "cookie",
      "set-cookie",
  };
  for (std::string_view f : kForbidden)
    if (name.size() == f.size() && equalsIgnoreCase(name, f)) return false;
  return true;
}

bool trailerValueAllowed(std::string_view value) {
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool appendTrailer(std::string& block, std::string_view name, std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!trailerNameAllowed(name) || !trailerValueAllowed(value)) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    // A token (RFC 9110 5.6.2): no separators, blanks or control bytes.
    if (u <= 0x20 || u >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos) return false;
  }
  for (char c : name) block.push_back(detail::asciiLower(c));
  block.append(": ").append(value).append("\r\n");
  return true;
}

}  // namespace proxy::http
