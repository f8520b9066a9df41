// Trailer fields: the block codec (http/trailers.h) and the parser gathering a chunked body's
// trailer section apart from the head.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "proxy/http/parser.h"
#include "proxy/http/trailers.h"

using namespace proxy::http;

namespace {

struct Capture : ParserHandler {
  Parser* parser = nullptr;
  std::vector<std::string> trailers;
  size_t head_fields = 0;
  HeadAction onHead(MessageHead& h) override {
    head_fields = h.headerCount();
    return HeadAction::Continue;
  }
  void onBody(std::string_view) override {}
  bool onComplete() override {
    trailers.emplace_back(parser->trailers());
    return false;
  }
};

}  // namespace

TEST_CASE("a trailer block keeps allowed fields, lower-cased and trimmed, and leaves out the others") {
  std::string block;
  CHECK(appendTrailer(block, "X-Checksum", "  abc \t"));
  CHECK_FALSE(appendTrailer(block, "Content-Length", "5"));
  CHECK_FALSE(appendTrailer(block, "transfer-encoding", "chunked"));
  CHECK_FALSE(appendTrailer(block, "HOST", "evil"));
  CHECK_FALSE(appendTrailer(block, "connection", "close"));
  CHECK_FALSE(appendTrailer(block, ":path", "/x"));
  CHECK_FALSE(appendTrailer(block, "x-bad", "a\r\nInjected: 1"));
  CHECK_FALSE(appendTrailer(block, "x bad", "1"));
  CHECK(appendTrailer(block, "grpc-status", "0"));
  CHECK(block == "x-checksum: abc\r\ngrpc-status: 0\r\n");
  std::vector<std::pair<std::string, std::string>> seen;
  forEachTrailer(block, [&seen](std::string_view n, std::string_view v) { seen.emplace_back(n, v); });
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::pair<std::string, std::string>("x-checksum", "abc"));
  CHECK(seen[1] == std::pair<std::string, std::string>("grpc-status", "0"));
}

TEST_CASE("the parser gathers a chunked body's trailers apart from the head, split at any byte") {
  std::string msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: 1\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42 \r\nContent-Length: 9\r\n"
      "X-Empty:\r\nX-Last: z\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (size_t step : {size_t(0), size_t(1), size_t(5)}) {
    Capture c;
    Parser p(HTTP_RESPONSE, c);
    c.parser = &p;
    if (step == 0) {
      REQUIRE(p.feed(msg.data(), msg.size()).status == ParseStatus::Ok);
    } else {
      for (size_t i = 0; i < msg.size(); i += step) REQUIRE(p.feed(msg.data() + i, std::min(step, msg.size() - i)).status == ParseStatus::Ok);
    }
    REQUIRE(c.trailers.size() == 2);
    CHECK(c.trailers[0] == "x-sum: 42\r\nx-empty: \r\nx-last: z\r\n");
    CHECK(c.trailers[1].empty());  // the next message starts without the previous one's
    CHECK(c.head_fields == 1);
  }
}

TEST_CASE("trailers count against the header-size limit") {
  Capture c;
  Parser p(HTTP_REQUEST, c, ParserLimits{256, UINT64_MAX});
  c.parser = &p;
  std::string msg = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Big: " + std::string(400, 'b') + "\r\n\r\n";
  CHECK(p.feed(msg.data(), msg.size()).status == ParseStatus::Error);
  CHECK(p.error() == ParseError::HeaderTooLarge);
}

TEST_CASE("a control byte in a request trailer value is refused like one in the head") {
  Capture c;
  Parser p(HTTP_REQUEST, c);
  c.parser = &p;
  std::string msg = std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: a\x01") + "b\r\n\r\n";
  CHECK(p.feed(msg.data(), msg.size()).status == ParseStatus::Error);
}
