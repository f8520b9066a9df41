// h2 <-> HTTP/1.1 head translation; see h2_head.h.
#include "proxy/h2/h2_head.h"

#include "proxy/http/message_head.h"

namespace proxy::h2 {
namespace {

void appendLine(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// Connection-specific fields: never sent on HTTP/2 (RFC 9113 8.2.2). Told apart by length
// first: every header line of every response passes here.
bool connectionSpecific(std::string_view name) {
  using http::equalsIgnoreCase;
  switch (name.size()) {
    case 7: return equalsIgnoreCase(name, "upgrade");
    case 10: return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive");
    case 16: return equalsIgnoreCase(name, "proxy-connection");
    case 17: return equalsIgnoreCase(name, "transfer-encoding");
    default: return false;
  }
}

}  // namespace

bool http1RequestHead(std::span<const Field> fields, bool has_body, std::string& out, const char** why, std::string_view ws_key) {
  std::string_view method, path, scheme, authority, host, protocol;
  bool has_length = false, has_cookie = false;
  for (const Field& f : fields) {
    if (f.name == ":method") method = f.value;
    else if (f.name == ":path") path = f.value;
    else if (f.name == ":scheme") scheme = f.value;
    else if (f.name == ":authority") authority = f.value;
    else if (f.name == "host") host = f.value;
    else if (f.name == ":protocol") protocol = f.value;
    else if (f.name == "content-length") has_length = true;
    else if (f.name == "cookie") has_cookie = true;
  }
  bool websocket = false;
  if (method == "CONNECT") {
    if (protocol.empty()) {
      *why = "CONNECT is not served over HTTP/2";
      return false;
    }
    if (!http::equalsIgnoreCase(protocol, "websocket")) {
      *why = "extended CONNECT is served for websocket only";
      return false;
    }
    if (ws_key.empty()) {
      *why = "no WebSocket key";
      return false;
    }
    websocket = true;
    method = "GET";
    has_body = false;  // the stream's DATA is the tunnel, not a body
  } else if (!protocol.empty()) {
    *why = ":protocol without CONNECT";
    return false;
  }
  if (method.empty() || path.empty() || scheme.empty()) {
    *why = "missing :method, :path or :scheme";
    return false;
  }
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  if (websocket) {
    out.append("connection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n");
    appendLine(out, "sec-websocket-key", ws_key);
  }
  if (!authority.empty()) appendLine(out, "host", authority);
  else if (!host.empty()) appendLine(out, "host", host);
  for (const Field& f : fields) {
    if (f.name.empty() || f.name[0] == ':' || f.name == "host" || f.name == "cookie") continue;
    if (connectionSpecific(f.name)) continue;  // nghttp2 refuses these; kept out regardless
    if (websocket && (f.name == "sec-websocket-key" || f.name == "sec-websocket-version")) continue;
    appendLine(out, f.name, f.value);
  }
  if (has_cookie) {
    out.append("cookie: ");
    bool first = true;
    for (const Field& f : fields) {
      if (f.name != "cookie") continue;
      if (!first) out.append("; ");
      out.append(f.value);
      first = false;
    }
    out.append("\r\n");
  }
  if (has_body && !has_length) out.append("transfer-encoding: chunked\r\n");
  out.append("\r\n");
  return true;
}

bool h2ResponseFields(std::string& text, std::vector<Field>& out) {
  std::string_view head = text;
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos || eol < 12 || head.substr(0, 9) != "HTTP/1.1 ") return false;
  std::string_view status = head.substr(9, 3);
  for (char c : status)
    if (c < '0' || c > '9') return false;
  out.push_back({":status", status});
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;  // the blank line ends the head
    std::string_view line = head.substr(pos, end - pos);
    size_t start = pos;
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (connectionSpecific(name)) continue;
    for (size_t i = start; i < start + colon; ++i) text[i] = http::detail::asciiLower(text[i]);
    out.push_back({name, value});
  }
  return true;
}

bool isWebSocketConnect(std::span<const Field> fields) {
  bool connect = false, websocket = false;
  for (const Field& f : fields) {
    if (f.name == ":method") connect = f.value == "CONNECT";
    else if (f.name == ":protocol") websocket = http::equalsIgnoreCase(f.value, "websocket");
  }
  return connect && websocket;
}

void webSocketAccepted(std::vector<Field>& fields) {
  std::erase_if(fields, [](const Field& f) { return f.name == "sec-websocket-accept"; });
  for (Field& f : fields)
    if (f.name == ":status") f.value = "200";
}

}  // namespace proxy::h2
