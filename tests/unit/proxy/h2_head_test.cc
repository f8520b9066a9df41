// HTTP/2 <-> HTTP/1.1 head translation (proxy/h2/h2_head.h) and the listener's http2 config.
#include <doctest/doctest.h>

#include <vector>

#include "proxy/config/config_loader.h"
#include "proxy/h2/h2_head.h"

using proxy::h2::Field;

TEST_CASE("an h2 request becomes an HTTP/1.1 head with Host from :authority and cookies joined") {
  std::vector<Field> f = {{":method", "POST"}, {":scheme", "https"}, {":authority", "a.example:8443"}, {":path", "/p?q=1"},
                          {"cookie", "a=1"}, {"user-agent", "t"}, {"cookie", "b=2"}};
  std::string out;
  const char* why = "";
  REQUIRE(proxy::h2::http1RequestHead(f, true, out, &why));
  CHECK(out == "POST /p?q=1 HTTP/1.1\r\nhost: a.example:8443\r\nuser-agent: t\r\ncookie: a=1; b=2\r\ntransfer-encoding: chunked\r\n\r\n");
  out.clear();
  f.push_back({"content-length", "5"});
  REQUIRE(proxy::h2::http1RequestHead(f, true, out, &why));
  CHECK(out.find("transfer-encoding") == std::string::npos);
  CHECK(out.find("content-length: 5\r\n") != std::string::npos);
}

TEST_CASE("h2 requests without the pseudo-headers, or CONNECT, are refused") {
  std::string out;
  const char* why = "";
  std::vector<Field> no_path = {{":method", "GET"}, {":scheme", "http"}};
  CHECK_FALSE(proxy::h2::http1RequestHead(no_path, false, out, &why));
  std::vector<Field> connect = {{":method", "CONNECT"}, {":authority", "x:443"}};
  CHECK_FALSE(proxy::h2::http1RequestHead(connect, false, out, &why));
  CHECK(std::string(why).find("CONNECT") != std::string::npos);
}

TEST_CASE("an extended CONNECT for websocket becomes the HTTP/1.1 handshake with the given key") {
  std::vector<Field> f = {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "a.example"},
                          {":path", "/ws?sid=1"}, {"sec-websocket-version", "13"}, {"sec-websocket-protocol", "chat"},
                          {"sec-websocket-extensions", "permessage-deflate"}};
  CHECK(proxy::h2::isWebSocketConnect(f));
  std::string out;
  const char* why = "";
  CHECK_FALSE(proxy::h2::http1RequestHead(f, true, out, &why));  // no key: refused
  out.clear();
  REQUIRE(proxy::h2::http1RequestHead(f, true, out, &why, "dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(out ==
        "GET /ws?sid=1 HTTP/1.1\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nhost: a.example\r\nsec-websocket-protocol: chat\r\n"
        "sec-websocket-extensions: permessage-deflate\r\n\r\n");
  std::vector<Field> other = {{":method", "CONNECT"}, {":protocol", "h2tunnel"}, {":scheme", "https"}, {":path", "/"}};
  CHECK_FALSE(proxy::h2::isWebSocketConnect(other));
  CHECK_FALSE(proxy::h2::http1RequestHead(other, true, out, &why, "k"));
  std::vector<Field> stray = {{":method", "GET"}, {":protocol", "websocket"}, {":scheme", "https"}, {":path", "/"}};
  CHECK_FALSE(proxy::h2::http1RequestHead(stray, false, out, &why, "k"));
}

TEST_CASE("an upstream's 101 answers an extended CONNECT as 200 without Sec-WebSocket-Accept") {
  std::vector<Field> out;
  std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                     "Sec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
  REQUIRE(proxy::h2::h2ResponseFields(head, out));
  proxy::h2::webSocketAccepted(out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].name == ":status");
  CHECK(out[0].value == "200");
  CHECK(out[1].name == "sec-websocket-protocol");
  CHECK(out[1].value == "chat");
}

TEST_CASE("a response head becomes lower-case h2 fields without connection-specific ones") {
  std::vector<Field> out;
  std::string head = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\nSet-Cookie: s=1\r\nKeep-Alive: 5\r\n\r\n";
  REQUIRE(proxy::h2::h2ResponseFields(head, out));
  REQUIRE(out.size() == 3);
  CHECK(out[0].name == ":status");
  CHECK(out[0].value == "404");
  CHECK(out[1].name == "content-type");
  CHECK(out[2].name == "set-cookie");
  CHECK(out[2].value == "s=1");
  CHECK(head.find("content-type: text/plain\r\n") != std::string::npos);  // names lower-cased in place
  out.clear();
  std::string garbage = "garbage";
  CHECK_FALSE(proxy::h2::h2ResponseFields(garbage, out));
}

TEST_CASE("listener http2: true or a map of limits") {
  using namespace proxy::config;
  const char* up = "upstreams:\n  a: {servers: [127.0.0.1:8001]}\n";
  Config c;
  REQUIRE(loadConfigText(std::string("listeners: [{address: 127.0.0.1:8080, http2: true}]\n") + up, "t.yaml", c).ok);
  CHECK(c.listeners[0].http2.enabled);
  CHECK(c.listeners[0].http2.max_concurrent_streams == 128);
  Config d;
  REQUIRE(loadConfigText(std::string("listeners: [{address: 127.0.0.1:8080, http2: {max_concurrent_streams: 10, initial_window_bytes: 1MiB}}]\n") + up,
                         "t.yaml", d).ok);
  CHECK(d.listeners[0].http2.enabled);
  CHECK(d.listeners[0].http2.max_concurrent_streams == 10);
  CHECK(d.listeners[0].http2.initial_window_bytes == 1024 * 1024);
  CHECK(d.listeners[0].http2.connection_window_bytes == 1024 * 1024);
  Config e;
  LoadResult r = loadConfigText(std::string("listeners: [{address: 127.0.0.1:8080, http2: {initial_window_bytes: 10}}]\n") + up, "t.yaml", e);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("http2.initial_window_bytes") != std::string::npos);
  Config f;
  REQUIRE(loadConfigText(std::string("listeners: [{address: 127.0.0.1:8080}]\n") + up, "t.yaml", f).ok);
  CHECK_FALSE(f.listeners[0].http2.enabled);
}
