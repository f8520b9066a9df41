// Fuzz target for the HTTP/2 frame path up to the upstream head: bytes from a client go into an
// nghttp2 server session configured exactly as tether's (proxy/h2/server_settings.h), with
// callbacks that gather each stream's header fields as h2_session.cc does and, at the end of a
// request's HEADERS, translate them into an HTTP/1.1 head (proxy/h2/h2_head.h) that the request
// parser must read. The input is fed after the client preface, in reads whose size the first
// byte picks (bits 0-5: 1..64 bytes), and every output nghttp2 queues is drained after each read.
// Invariants, abort() on violation:
//  - no crash or sanitizer report;
//  - mem_recv never reports more bytes consumed than it was given;
//  - a translated head always parses, as one complete head, with the request's :method and :path
//    (the fields nghttp2 lets through cannot smuggle a second request or a broken line);
//  - the header list a stream gathers never exceeds 16 x max_header_list_bytes without the
//    target noticing (the connection's bomb cap would have fired).
//  - a request's trailing HEADERS, gathered into a trailer block as h2_stream.cc does
//    (http/trailers.h), written as the trailer section of a chunked body parses back as exactly
//    that block, in one complete message (no field can smuggle a line or end the body early).
#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "proxy/h2/h2_head.h"
#include "proxy/h2/h2_session.h"
#include "proxy/h2/server_settings.h"
#include "proxy/http/parser.h"
#include "proxy/http/trailers.h"

namespace {

struct Streams {
  std::map<int32_t, std::vector<std::pair<std::string, std::string>>> fields;
  std::map<int32_t, uint64_t> bytes;
  std::map<int32_t, std::string> trailers;  // trailer blocks
  uint64_t cap = 0;
};

struct HeadOnly : proxy::http::ParserHandler {
  bool seen = false;
  std::string method, url;
  proxy::http::HeadAction onHead(proxy::http::MessageHead& head) override {
    seen = true;
    method = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
    url = head.url();
    return proxy::http::HeadAction::Pause;
  }
  void onBody(std::string_view) override {}
  bool onComplete() override { return true; }
};

int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen, const uint8_t* value,
             size_t valuelen, uint8_t, void* user) {
  auto& s = *static_cast<Streams*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
    proxy::http::appendTrailer(s.trailers[frame->hd.stream_id], std::string_view(reinterpret_cast<const char*>(name), namelen),
                               std::string_view(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  uint64_t& n = s.bytes[frame->hd.stream_id];
  n += namelen + valuelen + 32;
  if (n > 16 * s.cap) return NGHTTP2_ERR_CALLBACK_FAILURE;  // the connection's bomb cap
  s.fields[frame->hd.stream_id].push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                                           std::string(reinterpret_cast<const char*>(value), valuelen)});
  return 0;
}

struct TrailersOnly : proxy::http::ParserHandler {
  proxy::http::Parser* parser = nullptr;
  int complete = 0;
  std::string trailers;
  proxy::http::HeadAction onHead(proxy::http::MessageHead&) override { return proxy::http::HeadAction::Continue; }
  void onBody(std::string_view) override {}
  bool onComplete() override {
    ++complete;
    trailers.assign(parser->trailers());
    return true;
  }
};

// A trailer block as the end of a chunked request body: it must parse back as itself.
void checkTrailerBlock(const std::string& block) {
  std::string msg = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + block + "\r\n";
  TrailersOnly h;
  proxy::http::Parser parser(HTTP_REQUEST, h, proxy::http::ParserLimits{1 << 20, UINT64_MAX});
  h.parser = &parser;
  proxy::http::FeedResult r = parser.feed(msg.data(), msg.size());
  if (r.status == proxy::http::ParseStatus::Error || h.complete != 1 || r.consumed != msg.size() || h.trailers != block) std::abort();
}

int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& s = *static_cast<Streams*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
    auto t = s.trailers.find(frame->hd.stream_id);
    if (t != s.trailers.end()) {
      checkTrailerBlock(t->second);
      s.trailers.erase(t);
    }
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto it = s.fields.find(frame->hd.stream_id);
  if (it == s.fields.end()) return 0;
  std::string head;
  const char* why = "";
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  std::vector<proxy::h2::Field> fields;
  for (const auto& [name, value] : it->second) fields.push_back({name, value});
  if (s.bytes[frame->hd.stream_id] <= s.cap && proxy::h2::http1RequestHead(fields, !end_stream, head, &why)) {
    std::string method, path;
    for (const auto& f : fields) {
      if (f.name == ":method") method = f.value;
      if (f.name == ":path") path = f.value;
    }
    HeadOnly h;
    proxy::http::Parser parser(HTTP_REQUEST, h, proxy::http::ParserLimits{16 * s.cap, UINT64_MAX});
    proxy::http::FeedResult r = parser.feed(head.data(), head.size());
    // The parser may refuse what HTTP/1.1 forbids (a method llhttp does not know, a control
    // byte in the path); what it accepts must be this request and nothing else.
    if (r.status != proxy::http::ParseStatus::Error) {
      if (!h.seen || h.method != method || h.url != path) std::abort();
      if (r.consumed != head.size()) std::abort();
    }
  }
  s.fields.erase(it);
  s.bytes.erase(frame->hd.stream_id);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = (data[0] & 0x3f) + 1;
  ++data;
  --size;
  proxy::config::Http2Config cfg;
  cfg.enabled = true;
  cfg.max_header_list_bytes = 4096;
  Streams streams;
  streams.cap = cfg.max_header_list_bytes;
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return 0;
  nghttp2_session_callbacks_set_on_header_callback(cbs, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &onFrameRecv);
  nghttp2_session* ng = proxy::h2::newServerSession(cbs, &streams, cfg);
  nghttp2_session_callbacks_del(cbs);
  if (!ng) std::abort();
  std::string input(proxy::h2::H2Session::kPreface);
  input.append(reinterpret_cast<const char*>(data), size);
  for (size_t off = 0; off < input.size(); off += step) {
    size_t n = std::min(step, input.size() - off);
    ssize_t rc = nghttp2_session_mem_recv(ng, reinterpret_cast<const uint8_t*>(input.data() + off), n);
    if (rc < 0) break;
    if (static_cast<size_t>(rc) > n) std::abort();
    const uint8_t* out = nullptr;
    while (nghttp2_session_mem_send(ng, &out) > 0) {
    }
  }
  nghttp2_session_del(ng);
  return 0;
}
