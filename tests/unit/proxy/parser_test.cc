// http::Parser: what the proxy accepts, rejects, and how it reports it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proxy/http/parser.h"

using namespace proxy::http;

namespace {

struct Recorder : ParserHandler {
  std::vector<std::string> urls, bodies;
  std::vector<MessageHead> heads;
  int complete = 0;
  bool pause_on_complete = false;
  HeadAction onHead(MessageHead& h) override {
    urls.emplace_back(h.url());
    heads.push_back(h);
    bodies.emplace_back();
    return HeadAction::Continue;
  }
  void onBody(std::string_view c) override { bodies.back() += c; }
  bool onComplete() override {
    ++complete;
    return pause_on_complete;
  }
};

ParseStatus feedAll(Parser& p, const std::string& data, size_t step = 0) {
  if (step == 0) return p.feed(data.data(), data.size()).status;
  for (size_t i = 0; i < data.size(); i += step) {
    auto r = p.feed(data.data() + i, std::min(step, data.size() - i));
    if (r.status != ParseStatus::Ok) return r.status;
  }
  return ParseStatus::Ok;
}

}  // namespace

TEST_CASE("a request head split at every byte parses the same as in one piece") {
  std::string req = "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nX-Long: " + std::string(300, 'v') +
                    "\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t step : {0, 1, 3, 7}) {
    Recorder r;
    Parser p(HTTP_REQUEST, r);
    REQUIRE(feedAll(p, req, step) == ParseStatus::Ok);
    REQUIRE(r.complete == 1);
    CHECK(r.urls[0] == "/a/b?c=d");
    CHECK(r.heads[0].find("host") == "example.com");
    bool found = false;
    CHECK(r.heads[0].find("x-empty", &found).empty());
    CHECK(found);
    CHECK(r.heads[0].find("X-LONG").size() == 300);
    CHECK(r.bodies[0] == "hello");
  }
}

TEST_CASE("chunked bodies are decoded") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  REQUIRE(feedAll(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", 2) ==
          ParseStatus::Ok);
  CHECK(r.heads[0].chunked);
  CHECK(r.bodies[0] == "hello world");
}

TEST_CASE("pausing after a message leaves the next pipelined request unconsumed") {
  Recorder r;
  r.pause_on_complete = true;
  Parser p(HTTP_REQUEST, r);
  std::string two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
  FeedResult f = p.feed(two.data(), two.size());
  REQUIRE(f.status == ParseStatus::Paused);
  CHECK(f.consumed == two.size() / 2);
  p.resume();
  f = p.feed(two.data() + f.consumed, two.size() - f.consumed);
  CHECK(f.status == ParseStatus::Paused);
  CHECK(r.urls == std::vector<std::string>{"/1", "/2"});
}

TEST_CASE("request smuggling shapes and malformed heads are rejected as Malformed") {
  const char* bad[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tfolded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "NOT A REQUEST\r\n\r\n",
  };
  for (const char* b : bad) {
    CAPTURE(std::string(b));
    Recorder r;
    Parser p(HTTP_REQUEST, r);
    CHECK(feedAll(p, b) == ParseStatus::Error);
    CHECK(p.error() == ParseError::Malformed);
  }
}

TEST_CASE("framing that llhttp checks only after the head is rejected before onHead") {
  // Nothing of these may reach the upstream: the head must not be handed out at all.
  using namespace std::string_literals;
  const std::string bad[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"s,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"s,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"s,
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"s,
      "GET / HTTP/1.1\r\nX: y\r\n\r\n"s,
      "GET http://user@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n"s,
      "GET http:///p HTTP/1.1\r\nHost: a.example\r\n\r\n"s,
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"s,
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n"s,
  };
  for (const std::string& req : bad) {
    CAPTURE(req);
    for (size_t step : {0, 1}) {
      Recorder r;
      Parser p(HTTP_REQUEST, r);
      CHECK(feedAll(p, req, step) == ParseStatus::Error);
      CHECK(p.error() == ParseError::Malformed);
      CHECK(r.heads.empty());
    }
  }
}

TEST_CASE("control bytes are refused at every position of a header value; HTAB and UTF-8 pass") {
  const std::string ok_value = "a\tb caf\xc3\xa9 ~!\x80\xff" + std::string(20, 'v');
  {
    Recorder r;
    Parser p(HTTP_REQUEST, r);
    REQUIRE(feedAll(p, "GET / HTTP/1.1\r\nHost: x\r\nX: " + ok_value + "\r\n\r\n") == ParseStatus::Ok);
    CHECK(r.heads[0].find("x") == ok_value);
  }
  for (int c : {0x00, 0x01, 0x08, 0x0b, 0x1f, 0x7f}) {
    for (size_t pos : {size_t{0}, size_t{5}, size_t{7}, size_t{8}, size_t{15}, size_t{23}}) {
      std::string value(24, 'v');
      value[pos] = static_cast<char>(c);
      CAPTURE(c);
      CAPTURE(pos);
      Recorder r;
      Parser p(HTTP_REQUEST, r);
      CHECK(feedAll(p, "GET / HTTP/1.1\r\nHost: x\r\nX: " + value + "\r\n\r\n") == ParseStatus::Error);
      CHECK(r.heads.empty());
    }
  }
}

TEST_CASE("chunk data must end in CRLF (strict llhttp)") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  CHECK(feedAll(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n") == ParseStatus::Error);
  CHECK(r.complete == 0);
}

TEST_CASE("HTTP/0.9 request lines fail at once, versions other than 1.x are VersionNotSupported") {
  for (const char* line : {"GET /\r\n", "GET /\n", "GET /x\r\n\r\n"}) {
    CAPTURE(line);
    for (size_t step : {0, 1}) {
      Recorder r;
      Parser p(HTTP_REQUEST, r);
      CHECK(feedAll(p, line, step) == ParseStatus::Error);
      CHECK(p.error() == ParseError::Malformed);
    }
  }
  // llhttp itself refuses versions other than 0.9, 1.0, 1.1 and 2.0 (Malformed, 400).
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  CHECK(feedAll(p, "GET / HTTP/2.0\r\nHost: x\r\n\r\n") == ParseStatus::Error);
  CHECK(p.error() == ParseError::VersionNotSupported);
  CHECK(r.heads.empty());
}

TEST_CASE("Host rules: HTTP/1.0 may omit it, HTTP/1.1 must send exactly one") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  REQUIRE(feedAll(p, "GET / HTTP/1.0\r\n\r\n") == ParseStatus::Ok);
  CHECK(r.heads[0].host().empty());
  Parser p11(HTTP_REQUEST, r);
  REQUIRE(feedAll(p11, "GET / HTTP/1.1\r\nhost: a\r\n\r\n") == ParseStatus::Ok);
  CHECK(r.heads[1].host() == "a");
}

TEST_CASE("absolute-form targets route on the path and take the authority as the host") {
  struct Case {
    const char* req;
    const char* url;
    const char* host;
  } cases[] = {
      {"GET http://chat.example:8080/socket.io/?EIO=4 HTTP/1.1\r\nHost: other\r\n\r\n", "/socket.io/?EIO=4", "chat.example:8080"},
      {"GET HTTPS://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", "/", "a.example"},
      {"GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", "/?x=1", "a.example"},
      {"GET /plain HTTP/1.1\r\nHost: b\r\n\r\n", "/plain", "b"},
  };
  for (auto& c : cases) {
    CAPTURE(c.req);
    for (size_t step : {0, 1}) {
      Recorder r;
      Parser p(HTTP_REQUEST, r);
      REQUIRE(feedAll(p, c.req, step) == ParseStatus::Ok);
      CHECK(r.heads[0].url() == c.url);
      CHECK(r.heads[0].host() == c.host);
    }
  }
}

TEST_CASE("an HTTP/1.0 request with Transfer-Encoding closes the connection after it") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  REQUIRE(feedAll(p, "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") ==
          ParseStatus::Ok);
  CHECK(r.bodies[0] == "abc");
  CHECK_FALSE(r.heads[0].keep_alive);
}

TEST_CASE("obs-fold is caught even when a read ends right after the CRLF") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  std::string a = "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n", b = " folded\r\n\r\n";
  CHECK(p.feed(a.data(), a.size()).status == ParseStatus::Ok);
  CHECK(p.feed(b.data(), b.size()).status == ParseStatus::Error);
}

TEST_CASE("limits classify oversize heads and bodies") {
  Recorder r;
  Parser p(HTTP_REQUEST, r, ParserLimits{512, 10});
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(600, 'a') + "\r\n\r\n";
  CHECK(feedAll(p, big, 64) == ParseStatus::Error);
  CHECK(p.error() == ParseError::HeaderTooLarge);

  Recorder r2;
  Parser p2(HTTP_REQUEST, r2, ParserLimits{512, 10});
  CHECK(feedAll(p2, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n") == ParseStatus::Error);
  CHECK(p2.error() == ParseError::BodyTooLarge);

  Recorder r3;
  Parser p3(HTTP_REQUEST, r3, ParserLimits{512, 10});
  CHECK(feedAll(p3, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n") ==
        ParseStatus::Error);
  CHECK(p3.error() == ParseError::BodyTooLarge);
}

TEST_CASE("keep-alive follows the version and Connection header") {
  struct Case {
    const char* req;
    bool keep;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (auto& c : cases) {
    Recorder r;
    Parser p(HTTP_REQUEST, r);
    REQUIRE(feedAll(p, c.req) == ParseStatus::Ok);
    CHECK(r.heads[0].keep_alive == c.keep);
  }
}

TEST_CASE("an upgrade request stops the parser with the following bytes unconsumed") {
  Recorder r;
  Parser p(HTTP_REQUEST, r);
  std::string req = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  std::string all = req + "\x81\x05hello";
  FeedResult f = p.feed(all.data(), all.size());
  CHECK(f.status == ParseStatus::Upgrade);
  CHECK(f.consumed == req.size());
  CHECK(r.heads[0].upgrade);
}

TEST_CASE("responses: no body for HEAD via NoBody, body until close completes on finish") {
  struct HeadOnly : Recorder {
    HeadAction onHead(MessageHead& h) override {
      Recorder::onHead(h);
      return HeadAction::NoBody;
    }
  } r;
  Parser p(HTTP_RESPONSE, r);
  CHECK(feedAll(p, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n") == ParseStatus::Ok);
  CHECK(r.complete == 2);

  Recorder r2;
  Parser p2(HTTP_RESPONSE, r2);
  CHECK(feedAll(p2, "HTTP/1.1 200 OK\r\n\r\nuntil the end") == ParseStatus::Ok);
  CHECK(r2.complete == 0);
  CHECK(p2.finish());
  CHECK(r2.complete == 1);
  CHECK(r2.bodies[0] == "until the end");

  Recorder r3;
  Parser p3(HTTP_RESPONSE, r3);
  CHECK(feedAll(p3, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort") == ParseStatus::Ok);
  CHECK_FALSE(p3.finish());  // cut short
}

TEST_CASE("equalsIgnoreCase matches a byte-by-byte ASCII fold for every byte pair at every width") {
  auto reference = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
      if (fold(a[i]) != fold(b[i])) return false;
    }
    return true;
  };
  // Lengths 1..13 reach the 8-byte, 4-byte and single-byte steps; the probe byte sits last.
  for (size_t len : {size_t{1}, size_t{4}, size_t{8}, size_t{12}, size_t{13}}) {
    std::string a(len, 'k'), b(len, 'K');
    int mismatches = 0;
    for (int x = 0; x < 256; ++x)
      for (int y = 0; y < 256; ++y) {
        a[len - 1] = static_cast<char>(x);
        b[len - 1] = static_cast<char>(y);
        if (equalsIgnoreCase(a, b) != reference(a, b)) ++mismatches;
      }
    CAPTURE(len);
    CHECK(mismatches == 0);
  }
  CHECK(equalsIgnoreCase("Sec-WebSocket-Key", "sec-websocket-key"));
  CHECK_FALSE(equalsIgnoreCase("Sec-WebSocket-Key", "sec-websocket-kez"));
  CHECK_FALSE(equalsIgnoreCase("host", "hos"));
}

TEST_CASE("responses: a status code below 100 (llhttp reads a missing or short one so) is Malformed before onHead") {
  for (const char* line : {"HTTP/1.1  200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 099 OK", "HTTP/1.1 0 OK"}) {
    CAPTURE(line);
    Recorder r;
    Parser p(HTTP_RESPONSE, r);
    CHECK(feedAll(p, std::string(line) + "\r\nContent-Length: 0\r\n\r\n") == ParseStatus::Error);
    CHECK(p.error() == ParseError::Malformed);
    CHECK(r.heads.empty());
  }
  Recorder r;
  Parser p(HTTP_RESPONSE, r);
  CHECK(feedAll(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", 3) == ParseStatus::Ok);
  REQUIRE(r.heads.size() == 2);
  CHECK(r.heads[0].status == 100);
  CHECK(r.heads[1].status == 999);
}
