// Fuzz target for http::Parser (requests and responses). The first input byte picks the message
// type and how the rest is split into reads; the parser must never crash, never report consuming
// more than it was given, and keep its head within the header limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proxy/http/parser.h"

namespace {

struct Sink : proxy::http::ParserHandler {
  uint64_t body = 0;
  bool pause_next = false;
  proxy::http::HeadAction onHead(proxy::http::MessageHead& h) override {
    for (size_t i = 0; i < h.headerCount(); ++i) (void)h.find(h.name(i));
    if (h.byteSize() > 4096) std::abort();  // the limit below must hold
    return pause_next ? proxy::http::HeadAction::Pause : proxy::http::HeadAction::Continue;
  }
  void onBody(std::string_view c) override { body += c.size(); }
  bool onComplete() override { return pause_next; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  Sink sink;
  sink.pause_next = ctl & 0x40;
  proxy::http::Parser parser((ctl & 1) ? HTTP_RESPONSE : HTTP_REQUEST, sink, proxy::http::ParserLimits{4096, 1 << 20});
  size_t step = 1 + ((ctl >> 1) & 0x1f);  // reads of 1..32 bytes
  size_t off = 0;
  while (off < n) {
    size_t len = std::min(step, n - off);
    proxy::http::FeedResult r = parser.feed(p + off, len);
    if (r.consumed > len) std::abort();
    if (r.status == proxy::http::ParseStatus::Error || r.status == proxy::http::ParseStatus::Upgrade) break;
    if (r.status == proxy::http::ParseStatus::Paused) {
      parser.resume();
      off += r.consumed;
      continue;
    }
    off += len;
  }
  parser.finish();
  return 0;
}
