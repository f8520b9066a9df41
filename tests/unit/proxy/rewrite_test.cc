// Header rewriting towards the upstream and towards the client.
#include <doctest/doctest.h>

#include <string>

#include "proxy/http/parser.h"
#include "proxy/http/rewrite.h"

using namespace proxy::http;

namespace {

struct Keep : ParserHandler {
  MessageHead head;
  HeadAction onHead(MessageHead& h) override {
    head = h;
    return HeadAction::Continue;
  }
  void onBody(std::string_view) override {}
  bool onComplete() override { return false; }
};

MessageHead parse(llhttp_type_t type, const std::string& text) {
  Keep k;
  Parser p(type, k);
  p.feed(text.data(), text.size());
  return k.head;
}

}  // namespace

TEST_CASE("upstream request: hop-by-hop removed, forwarding headers from an untrusted client replaced, Host kept") {
  MessageHead h = parse(HTTP_REQUEST,
                        "GET /chat?x=1 HTTP/1.0\r\nHost: chat.example.com\r\nConnection: keep-alive, X-Drop\r\n"
                        "X-Drop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\n"
                        "X-Forwarded-For: 10.0.0.2\r\nX-Real-IP: spoofed\r\nX-Forwarded-Proto: https\r\n"
                        "X-Forwarded-Host: forged.example\r\nAccept: */*\r\n\r\n");
  std::string out;
  writeUpstreamRequestHead(h, {"192.0.2.7", "http", "127.0.0.1:8001", false}, out);
  CHECK(out ==
        "GET /chat?x=1 HTTP/1.1\r\nHost: chat.example.com\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\n"
        "X-Real-IP: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: chat.example.com\r\n\r\n");
}

TEST_CASE("upstream request: a trusted proxy's chain, proto and host are kept; X-Real-IP is the resolved client") {
  MessageHead h = parse(HTTP_REQUEST,
                        "GET / HTTP/1.1\r\nHost: chat.example.com\r\nX-Forwarded-For: 203.0.113.9\r\n"
                        "X-Real-IP: spoofed\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 10.0.0.2\r\n"
                        "X-Forwarded-Host: www.example\r\n\r\n");
  ForwardInfo fwd{"10.0.0.1", "http", "", false};
  fwd.trusted = true;
  fwd.real_ip = "203.0.113.9";
  std::string out;
  writeUpstreamRequestHead(h, fwd, out);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: chat.example.com\r\nX-Forwarded-For: 203.0.113.9, 10.0.0.2, 10.0.0.1\r\n"
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example\r\nX-Real-IP: 203.0.113.9\r\n\r\n");

  // A trusted proxy that sent no X-Forwarded-* gets ours.
  MessageHead bare = parse(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  out.clear();
  writeUpstreamRequestHead(bare, fwd, out);
  CHECK(out == "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 203.0.113.9\r\n"
               "X-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n");
}

TEST_CASE("request ids: the client's header is replaced upstream and in the response") {
  MessageHead h = parse(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nx-request-id: bad id\r\nX-Request-Id: two\r\n\r\n");
  ForwardInfo fwd{"192.0.2.7", "http", "", false};
  fwd.request_id_name = "X-Request-Id";
  fwd.request_id = "0123456789abcdef0123456789abcdef";
  std::string out;
  writeUpstreamRequestHead(h, fwd, out);
  CHECK(out.find("bad id") == std::string::npos);
  CHECK(out.find("two") == std::string::npos);
  CHECK(out.find("X-Request-Id: 0123456789abcdef0123456789abcdef\r\n") != std::string::npos);

  MessageHead r = parse(HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nX-Request-Id: upstream-own\r\nContent-Length: 0\r\n\r\n");
  DownstreamInfo info{BodyFraming::ContentLength, true, false};
  info.request_id_name = "X-Request-Id";
  info.request_id = "abc";
  out.clear();
  writeDownstreamResponseHead(r, info, out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Request-Id: abc\r\n\r\n");
}

TEST_CASE("upstream request: an absolute-form target's authority is the Host") {
  MessageHead h = parse(HTTP_REQUEST, "GET http://chat.example:8080/a?b HTTP/1.1\r\nHost: elsewhere\r\nAccept: */*\r\n\r\n");
  std::string out;
  writeUpstreamRequestHead(h, {"192.0.2.7", "http", "127.0.0.1:8001", false}, out);
  CHECK(out ==
        "GET /a?b HTTP/1.1\r\nHost: chat.example:8080\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\n"
        "X-Real-IP: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: chat.example:8080\r\n\r\n");
}

TEST_CASE("upstream request: missing Host (HTTP/1.0) gets the default, chunked is re-declared, upgrade kept when asked") {
  MessageHead h = parse(HTTP_REQUEST, "POST /u HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string out;
  writeUpstreamRequestHead(h, {"::1", "http", "127.0.0.1:8001", false}, out);
  CHECK(out.find("Host: 127.0.0.1:8001\r\n") != std::string::npos);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(out.find("X-Forwarded-Host") == std::string::npos);

  MessageHead ws = parse(HTTP_REQUEST, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  out.clear();
  writeUpstreamRequestHead(ws, {"::1", "http", "", true}, out);
  CHECK(out.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(out.find("Connection: upgrade\r\n") != std::string::npos);
  out.clear();
  writeUpstreamRequestHead(ws, {"::1", "http", "", false}, out);
  CHECK(out.find("Upgrade") == std::string::npos);
}

TEST_CASE("response framing follows status, method, length and client version") {
  MessageHead cl = parse(HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
  MessageHead none = parse(HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  MessageHead nc = parse(HTTP_RESPONSE, "HTTP/1.1 304 Not Modified\r\n\r\n");
  CHECK(responseFraming(cl, false, true) == BodyFraming::ContentLength);
  CHECK(responseFraming(cl, true, true) == BodyFraming::None);
  CHECK(responseFraming(nc, false, true) == BodyFraming::None);
  CHECK(responseFraming(none, false, true) == BodyFraming::Chunked);
  CHECK(responseFraming(none, false, false) == BodyFraming::UntilClose);
}

TEST_CASE("client response head: hop-by-hop dropped, framing and Connection match what we do") {
  MessageHead h = parse(HTTP_RESPONSE,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, X-Internal\r\n"
                        "X-Internal: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string out;
  writeDownstreamResponseHead(h, {BodyFraming::Chunked, true, false}, out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
  out.clear();
  writeDownstreamResponseHead(h, {BodyFraming::UntilClose, false, true}, out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
  MessageHead k = parse(HTTP_RESPONSE, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  out.clear();
  writeDownstreamResponseHead(k, {BodyFraming::ContentLength, true, true}, out);
  CHECK(out == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("chunk-size lines are lower-case hex") {
  char buf[20];
  CHECK(std::string(buf, writeChunkHeader(0, buf)) == "0\r\n");
  CHECK(std::string(buf, writeChunkHeader(65536, buf)) == "10000\r\n");
}

TEST_CASE("header rules: removals apply to the client's headers and tether's own, additions come last") {
  MessageHead h = parse(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nX-Debug: 1\r\nx-debug: 2\r\nX-Keep: k\r\n\r\n");
  const std::string remove[] = {"x-debug", "x-forwarded-proto", "host"};
  ForwardInfo fwd{"192.0.2.7", "http", "", false};
  fwd.edits = {remove, "X-Forwarded-Proto: https\r\nHost: b.internal\r\n"};
  std::string out;
  writeUpstreamRequestHead(h, fwd, out);
  CHECK(out == "GET / HTTP/1.1\r\nX-Keep: k\r\nX-Forwarded-For: 192.0.2.7\r\nX-Real-IP: 192.0.2.7\r\n"
               "X-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nHost: b.internal\r\n\r\n");

  MessageHead r = parse(HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n");
  const std::string server[] = {"server"};
  DownstreamInfo info{BodyFraming::ContentLength, true, false};
  info.edits = {server, "Server: tether\r\nX-Frame-Options: DENY\r\n"};
  out.clear();
  writeDownstreamResponseHead(r, info, out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: tether\r\nX-Frame-Options: DENY\r\n\r\n");
}
