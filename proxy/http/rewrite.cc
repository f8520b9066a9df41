// Header rewriting: see rewrite.h.
#include "proxy/http/rewrite.h"

#include <llhttp.h>

#include <charconv>

#include "proxy/http/error_response.h"

namespace proxy::http {
namespace {

enum class Kind : uint8_t {
  Other, Connection, KeepAlive, Te, Trailer, TransferEncoding, ProxyConnection, Upgrade,
  XForwardedFor, XRealIp, XForwardedProto, XForwardedHost, Host, ContentLength, XClientCertSubject,
};

// Classifies a header name; switching on the length first keeps this to one or two compares.
Kind classify(std::string_view n) {
  switch (n.size()) {
    case 2: return equalsIgnoreCase(n, "te") ? Kind::Te : Kind::Other;
    case 4: return equalsIgnoreCase(n, "host") ? Kind::Host : Kind::Other;
    case 7:
      if (equalsIgnoreCase(n, "upgrade")) return Kind::Upgrade;
      return equalsIgnoreCase(n, "trailer") ? Kind::Trailer : Kind::Other;
    case 9: return equalsIgnoreCase(n, "x-real-ip") ? Kind::XRealIp : Kind::Other;
    case 10:
      if (equalsIgnoreCase(n, "connection")) return Kind::Connection;
      return equalsIgnoreCase(n, "keep-alive") ? Kind::KeepAlive : Kind::Other;
    case 14: return equalsIgnoreCase(n, "content-length") ? Kind::ContentLength : Kind::Other;
    case 15: return equalsIgnoreCase(n, "x-forwarded-for") ? Kind::XForwardedFor : Kind::Other;
    case 16:
      if (equalsIgnoreCase(n, "x-forwarded-host")) return Kind::XForwardedHost;
      return equalsIgnoreCase(n, "proxy-connection") ? Kind::ProxyConnection : Kind::Other;
    case 17:
      if (equalsIgnoreCase(n, "transfer-encoding")) return Kind::TransferEncoding;
      return equalsIgnoreCase(n, "x-forwarded-proto") ? Kind::XForwardedProto : Kind::Other;
    case 21: return equalsIgnoreCase(n, "x-client-cert-subject") ? Kind::XClientCertSubject : Kind::Other;
    default: return Kind::Other;
  }
}

bool isHopByHop(Kind k) {
  return k == Kind::Connection || k == Kind::KeepAlive || k == Kind::Te || k == Kind::Trailer ||
         k == Kind::TransferEncoding || k == Kind::ProxyConnection || k == Kind::Upgrade;
}

// Values of all Connection headers, for the "names listed in Connection" rule.
struct ConnectionTokens {
  std::string_view values[4];
  size_t count = 0;
  bool lists(std::string_view name) const {
    for (size_t i = 0; i < count; ++i)
      if (hasToken(values[i], name)) return true;
    return false;
  }
};

ConnectionTokens connectionTokens(const MessageHead& h) {
  ConnectionTokens t;
  if (h.connectionHeaders() == 0) return t;
  for (size_t i = 0; i < h.headerCount() && t.count < 4; ++i)
    if (equalsIgnoreCase(h.name(i), "connection")) t.values[t.count++] = h.value(i);
  return t;
}

bool listedByConnection(const ConnectionTokens& t, std::string_view name) {
  // Never let a Connection token strip the headers the proxy itself relies on.
  return t.count && t.lists(name) && !equalsIgnoreCase(name, "host") && !equalsIgnoreCase(name, "content-length");
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ", 2).append(value).append("\r\n", 2);
}

// appendHeader unless a rule removes the name (inlined: four calls per request).
[[gnu::always_inline]] inline void appendOwn(std::string& out, const HeaderEdits& edits, std::string_view name, std::string_view value) {
  if (edits.remove.empty() || !edits.removes(name)) appendHeader(out, name, value);
}

void appendNumber(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace

bool HeaderEdits::removes(std::string_view name) const {
  for (const std::string& r : remove)
    if (equalsIgnoreCase(name, r)) return true;
  return false;
}

void writeUpstreamRequestHead(const MessageHead& req, const ForwardInfo& fwd, std::string& out) {
  out.append(llhttp_method_name(static_cast<llhttp_method_t>(req.method)));
  out.push_back(' ');
  out.append(fwd.url.empty() ? req.url() : fwd.url);
  out.append(" HTTP/1.1\r\n", 11);
  ConnectionTokens tokens = connectionTokens(req);
  // An absolute-form target's authority replaces any Host header (RFC 9112 3.2.2).
  std::string_view host = req.authority();
  if (!host.empty()) appendOwn(out, fwd.edits, "Host", host);
  bool have_xff = false, have_proto = false, have_fhost = false;
  const bool ids = !fwd.request_id_name.empty();
  const bool rules = !fwd.edits.remove.empty();
  for (size_t i = 0; i < req.headerCount(); ++i) {
    std::string_view name = req.name(i), value = req.value(i);
    Kind k = classify(name);
    if (rules && fwd.edits.removes(name)) {
      if (k == Kind::Host && host.empty()) host = value;  // still the X-Forwarded-Host
      if (k == Kind::XForwardedFor) have_xff = true;  // removed by the route: not re-added either
      if (k == Kind::XForwardedProto) have_proto = true;
      if (k == Kind::XForwardedHost) have_fhost = true;
      continue;
    }
    switch (k) {
      case Kind::Upgrade:
        if (fwd.upgrade) appendHeader(out, name, value);
        continue;
      case Kind::Connection: case Kind::KeepAlive: case Kind::Te: case Kind::Trailer:
      case Kind::TransferEncoding: case Kind::ProxyConnection: case Kind::XRealIp:
      case Kind::XClientCertSubject:
        continue;
      case Kind::XForwardedProto:
      case Kind::XForwardedHost:
        if (!fwd.trusted) continue;
        (k == Kind::XForwardedProto ? have_proto : have_fhost) = true;
        break;
      case Kind::XForwardedFor:
        // A trusted proxy's chain is kept, all of its X-Forwarded-For headers merged into the
        // first, with the peer appended.
        if (!fwd.trusted || have_xff) continue;
        out.append(name).append(": ", 2).append(value);
        for (size_t j = i + 1; j < req.headerCount(); ++j)
          if (equalsIgnoreCase(req.name(j), "x-forwarded-for")) out.append(", ", 2).append(req.value(j));
        out.append(", ", 2).append(fwd.client_ip).append("\r\n", 2);
        have_xff = true;
        continue;
      case Kind::ContentLength:
        if (req.chunked) continue;  // llhttp rejects both; belt and braces
        break;
      case Kind::Host:
        if (!req.authority().empty()) continue;
        if (host.empty()) host = value;
        break;
      case Kind::Other:
        if (listedByConnection(tokens, name)) continue;
        if (ids && equalsIgnoreCase(name, fwd.request_id_name)) continue;
        break;
    }
    appendHeader(out, name, value);
  }
  if (host.empty() && !fwd.default_host.empty()) appendOwn(out, fwd.edits, "Host", fwd.default_host);
  if (!have_xff) appendOwn(out, fwd.edits, "X-Forwarded-For", fwd.client_ip);
  appendOwn(out, fwd.edits, "X-Real-IP", fwd.real_ip.empty() ? fwd.client_ip : fwd.real_ip);
  if (!have_proto) appendOwn(out, fwd.edits, "X-Forwarded-Proto", fwd.proto);
  if (!have_fhost && !host.empty()) appendOwn(out, fwd.edits, "X-Forwarded-Host", host);
  if (ids) appendOwn(out, fwd.edits, fwd.request_id_name, fwd.request_id);
  if (!fwd.client_cert_subject.empty()) appendOwn(out, fwd.edits, "X-Client-Cert-Subject", fwd.client_cert_subject);
  if (!fwd.edits.add.empty()) out.append(fwd.edits.add);
  if (req.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (fwd.upgrade) out.append("Connection: upgrade\r\n");
  out.append("\r\n", 2);
}

BodyFraming responseFraming(const MessageHead& resp, bool request_was_head, bool client_http11) {
  uint16_t s = resp.status;
  if (request_was_head || (s >= 100 && s < 200) || s == 204 || s == 304) return BodyFraming::None;
  if (resp.has_content_length) return BodyFraming::ContentLength;
  return client_http11 ? BodyFraming::Chunked : BodyFraming::UntilClose;
}

void writeDownstreamResponseHead(const MessageHead& resp, const DownstreamInfo& info, std::string& out) {
  out.append("HTTP/1.1 ", 9);
  appendNumber(out, resp.status);
  out.push_back(' ');
  out.append(resp.reason());
  out.append("\r\n", 2);
  ConnectionTokens tokens = connectionTokens(resp);
  for (size_t i = 0; i < resp.headerCount(); ++i) {
    std::string_view name = resp.name(i);
    Kind k = classify(name);
    if (k == Kind::Upgrade && info.upgrade) {
      appendHeader(out, name, resp.value(i));
      continue;
    }
    if (isHopByHop(k)) continue;
    if (k == Kind::Other && listedByConnection(tokens, name)) continue;
    if (k == Kind::Other && !info.request_id_name.empty() && equalsIgnoreCase(name, info.request_id_name)) continue;
    if (!info.edits.remove.empty() && k == Kind::Other && info.edits.removes(name)) continue;
    if (k == Kind::ContentLength && info.framing != BodyFraming::ContentLength && info.framing != BodyFraming::None) continue;
    appendHeader(out, name, resp.value(i));
  }
  if (!info.request_id_name.empty()) appendHeader(out, info.request_id_name, info.request_id);
  if (!info.edits.add.empty()) out.append(info.edits.add);
  if (info.framing == BodyFraming::Chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (info.upgrade) out.append("Connection: upgrade\r\n");
  else if (!info.keep_alive) out.append("Connection: close\r\n");
  else if (info.client_http10) out.append("Connection: keep-alive\r\n");
  out.append("\r\n", 2);
}

void writeLocalResponseHead(uint16_t status, std::string_view content_type, std::string_view location,
                            uint64_t content_length, const DownstreamInfo& info, std::string& out) {
  out.append("HTTP/1.1 ", 9);
  appendNumber(out, status);
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\n", 2);
  if (!location.empty()) appendHeader(out, "Location", location);
  appendHeader(out, "Content-Type", content_type);
  out.append("Content-Length: ");
  appendNumber(out, content_length);
  out.append("\r\n", 2);
  if (!info.request_id_name.empty()) appendHeader(out, info.request_id_name, info.request_id);
  if (!info.edits.add.empty()) out.append(info.edits.add);
  if (!info.keep_alive) out.append("Connection: close\r\n");
  else if (info.client_http10) out.append("Connection: keep-alive\r\n");
  out.append("\r\n", 2);
}

bool setContentLength(std::string& head, uint64_t length) {
  size_t line = head.find("\r\n");
  while (line != std::string::npos && line + 2 < head.size()) {
    size_t start = line + 2, end = head.find("\r\n", start);
    if (end == std::string::npos) return false;
    size_t colon = head.find(':', start);
    if (colon < end && equalsIgnoreCase(std::string_view(head).substr(start, colon - start), "content-length")) {
      std::string value = " ";
      appendNumber(value, length);
      head.replace(colon + 1, end - colon - 1, value);
      return true;
    }
    line = end;
  }
  return false;
}

size_t writeChunkHeader(size_t len, char* out) {
  auto r = std::to_chars(out, out + 16, len, 16);
  size_t n = static_cast<size_t>(r.ptr - out);
  out[n++] = '\r';
  out[n++] = '\n';
  return n;
}

}  // namespace proxy::http
