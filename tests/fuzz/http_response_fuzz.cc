// Fuzz target for http::Parser on the upstream side: responses handled as UpstreamConn and
// Session handle them. The first byte is the control byte: bit 0 says the request was HEAD,
// bit 1 that the client speaks HTTP/1.1, bit 2 that the client connection stays open, bits 3-7
// the read size (1..32 bytes). Each response head gets what the proxy does with it: 101 and other
// 1xx heads are rewritten as interim heads (1xx without a body), a HEAD request's final response
// gets no body, every other head goes through responseFraming() and writeDownstreamResponseHead(),
// and a Content-Length head through setContentLength(). A final response pauses the parser (the
// connection waits for its next request); the target resumes and goes on with the rest, and at
// the end of input calls finish() as on the upstream's EOF (read-until-close bodies).
// Invariants, abort() on violation: no crash or sanitizer report; a feed never reports consuming
// more than it was given; the head stays within the header limit; the events (heads, body bytes,
// completions, the final status) are the same whether the input arrives in small reads or in one;
// every head the proxy writes to the client starts with "HTTP/1.1 " and a 3-digit status, ends
// with one blank line, parses back as a response with the same status, carries the framing
// header its BodyFraming asks for and none of the hop-by-hop ones, and setContentLength() finds
// its Content-Length when its framing is ContentLength.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proxy/http/parser.h"
#include "proxy/http/rewrite.h"

namespace {

namespace http = proxy::http;
constexpr uint64_t kMaxHeader = 4096;

void check(bool ok) {
  if (!ok) std::abort();
}

// Parses a head written for the client; records what it says.
struct Reparse : http::ParserHandler {
  bool got_head = false;
  uint16_t status = 0;
  unsigned transfer_encoding = 0, hop_by_hop = 0, content_length = 0;
  uint64_t length_value = 0;
  http::HeadAction onHead(http::MessageHead& h) override {
    got_head = true;
    status = h.status;
    for (size_t i = 0; i < h.headerCount(); ++i) {
      std::string_view n = h.name(i);
      if (http::equalsIgnoreCase(n, "transfer-encoding")) ++transfer_encoding;
      if (http::equalsIgnoreCase(n, "content-length")) ++content_length;
      if (http::equalsIgnoreCase(n, "keep-alive") || http::equalsIgnoreCase(n, "te") ||
          http::equalsIgnoreCase(n, "trailer") || http::equalsIgnoreCase(n, "proxy-connection"))
        ++hop_by_hop;
    }
    length_value = h.content_length;
    return http::HeadAction::Pause;
  }
  void onBody(std::string_view) override {}
  bool onComplete() override { return true; }
};

void checkDownstreamHead(const std::string& out, const http::MessageHead& resp, http::BodyFraming framing) {
  check(out.compare(0, 9, "HTTP/1.1 ") == 0);
  check(out.size() >= 13 && out[9] >= '1' && out[9] <= '9' && out[12] == ' ');
  check(out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0);
  check(out.find("\r\n\r\n") == out.size() - 4);
  Reparse r;
  http::Parser p(HTTP_RESPONSE, r, http::ParserLimits{1 << 20, UINT64_MAX});
  http::FeedResult fr = p.feed(out.data(), out.size());
  check(fr.status != http::ParseStatus::Error && fr.consumed <= out.size());
  check(r.got_head && r.status == resp.status);
  check(r.hop_by_hop == 0);
  check(r.transfer_encoding == (framing == http::BodyFraming::Chunked ? 1u : 0u));
  if (framing == http::BodyFraming::ContentLength) {
    check(r.content_length == 1 && r.length_value == resp.content_length);
    std::string copy = out;
    check(http::setContentLength(copy, 12345));
    Reparse r2;
    http::Parser p2(HTTP_RESPONSE, r2);
    check(p2.feed(copy.data(), copy.size()).status != http::ParseStatus::Error);
    check(r2.got_head && r2.length_value == 12345);
  }
}

// The upstream connection and the session, reduced to what they do with response events.
struct Upstream : http::ParserHandler {
  bool head_request = false, client_http11 = true, client_keep_alive = true;
  std::string events;  // compared between the split and the whole run
  std::string body;    // body bytes since the last other event (reads split bodies anywhere)
  std::string down;
  http::Parser* parser = nullptr;

  http::HeadAction onHead(http::MessageHead& h) override {
    check(h.byteSize() <= kMaxHeader);
    check(h.status >= 100 && h.status <= 999);
    flush();
    events += "H" + std::to_string(h.status) + "/" + std::to_string(h.headerCount()) + (h.keep_alive ? "k" : "c");
    down.clear();
    if (h.status == 101) {
      http::writeDownstreamResponseHead(h, {http::BodyFraming::None, true, false, true}, down);
      checkDownstreamHead(down, h, http::BodyFraming::None);
      return http::HeadAction::Continue;
    }
    if (h.status < 200) {
      http::writeDownstreamResponseHead(h, {http::BodyFraming::None, true, false}, down);
      checkDownstreamHead(down, h, http::BodyFraming::None);
      return http::HeadAction::NoBody;
    }
    http::BodyFraming framing = http::responseFraming(h, head_request, client_http11);
    if (framing == http::BodyFraming::ContentLength) check(h.has_content_length);
    bool keep_alive = client_keep_alive && framing != http::BodyFraming::UntilClose;
    http::writeDownstreamResponseHead(h, {framing, keep_alive, !client_http11}, down);
    checkDownstreamHead(down, h, framing);
    if (head_request) return http::HeadAction::NoBody;
    return http::HeadAction::Continue;
  }
  void onBody(std::string_view c) override { body.append(c); }
  void flush() {
    if (body.empty()) return;
    events += "B" + std::to_string(body.size()) + ":" + body;
    body.clear();
  }
  bool onComplete() override {
    uint16_t s = parser->head().status;
    flush();
    events += "C";
    return s >= 200;  // a final response: the connection waits for the next request
  }
};

std::string run(const char* p, size_t n, size_t step, uint8_t ctl) {
  Upstream up;
  up.head_request = ctl & 1;
  up.client_http11 = ctl & 2;
  up.client_keep_alive = ctl & 4;
  http::Parser parser(HTTP_RESPONSE, up, http::ParserLimits{kMaxHeader, 1 << 20});
  up.parser = &parser;
  size_t off = 0;
  http::FeedResult r{http::ParseStatus::Ok, 0};
  while (off < n) {
    size_t len = std::min(step, n - off);
    r = parser.feed(p + off, len);
    check(r.consumed <= len);
    if (r.status == http::ParseStatus::Error || r.status == http::ParseStatus::Upgrade) break;
    if (r.status == http::ParseStatus::Paused) {
      parser.resume();
      off += r.consumed;
      continue;
    }
    off += len;
  }
  up.flush();
  std::string& ev = up.events;
  if (r.status == http::ParseStatus::Error) {
    ev += "E" + std::to_string(static_cast<int>(parser.error()));
  } else if (r.status == http::ParseStatus::Upgrade) {
    ev += "U" + std::to_string(off + r.consumed);
  } else if (parser.messageInProgress()) {
    ev += parser.finish() ? "F" : "X";
  }
  return ev;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  size_t step = 1 + (ctl >> 3);  // reads of 1..32 bytes
  std::string split = run(p, n, step, ctl);
  std::string whole = run(p, n, n ? n : 1, ctl);
  check(split == whole);
  return 0;
}
