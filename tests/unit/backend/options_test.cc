// tether-chat flags (backend/chat/options.h) and chat input validation.
#include <doctest/doctest.h>

#include "backend/chat/chat_app.h"
#include "backend/chat/options.h"
#include "backend/chat/web_routes.h"

using namespace backend::chat;

namespace {
std::optional<Options> parse(std::vector<std::string> args, std::string* err = nullptr) {
  std::string e;
  bool help = false;
  auto o = parseOptions(args, e, help);
  if (err) *err = e;
  return o;
}
}  // namespace

TEST_CASE("defaults follow the issue") {
  auto o = parse({});
  REQUIRE(o);
  CHECK(o->path == "/socket.io/");
  CHECK(o->pingIntervalMs == 25000);
  CHECK(o->pingTimeoutMs == 20000);
  CHECK(o->maxPayload == 1000000);
  CHECK(o->connectTimeoutMs == 45000);
  CHECK(o->maxSendQueue == 1024 * 1024);
  CHECK(o->drainMs == 10000);
  CHECK(o->maxConnections == 0);
  CHECK(o->outageQueue == 1000);
  CHECK(o->outageWaitMs == 10000);
  CHECK(o->writeDelayMs == 0);
}

TEST_CASE("--write-delay takes a duration up to one second; 0 writes at the end of the turn") {
  auto o = parse({"--write-delay", "5"});
  REQUIRE(o);
  CHECK(o->writeDelayMs == 5);
  o = parse({"--write-delay=20ms"});
  REQUIRE(o);
  CHECK(o->writeDelayMs == 20);
  o = parse({"--write-delay", "1s"});
  REQUIRE(o);
  CHECK(o->writeDelayMs == 1000);
  o = parse({"--write-delay", "0"});
  REQUIRE(o);
  CHECK(o->writeDelayMs == 0);
  std::string err;
  CHECK_FALSE(parse({"--write-delay", "1001"}, &err));
  CHECK(err.find("--write-delay") != std::string::npos);
  CHECK_FALSE(parse({"--write-delay", "-1"}, &err));
  CHECK_FALSE(parse({"--write-delay", "soon"}, &err));
}

TEST_CASE("--outage-queue and --outage-wait bound the sends held while Redis is unreachable") {
  auto o = parse({"--outage-queue", "0", "--outage-wait", "2s"});
  REQUIRE(o);
  CHECK(o->outageQueue == 0);  // refuse at once
  CHECK(o->outageWaitMs == 2000);
  std::string err;
  CHECK_FALSE(parse({"--outage-queue", "-1"}, &err));
  CHECK(err.find("--outage-queue") != std::string::npos);
  CHECK_FALSE(parse({"--outage-queue", "1000001"}, &err));
  CHECK_FALSE(parse({"--outage-wait", "0"}, &err));
  CHECK(err.find("--outage-wait") != std::string::npos);
}

TEST_CASE("flags with values, units and = form") {
  auto o = parse({"--port", "0", "--ping-interval=300", "--ping-timeout", "2s", "--max-send-queue", "64KiB",
                  "--drain", "0", "--path", "/rt", "--app", "echo", "--max-connections", "5"});
  REQUIRE(o);
  CHECK(o->port == 0);
  CHECK(o->pingIntervalMs == 300);
  CHECK(o->pingTimeoutMs == 2000);
  CHECK(o->maxSendQueue == 65536);
  CHECK(o->drainMs == 0);
  CHECK(o->path == "/rt/");
  CHECK(o->app == "echo");
  CHECK(o->maxConnections == 5);
}

TEST_CASE("bad flags are reported") {
  std::string err;
  CHECK_FALSE(parse({"--port", "70000"}, &err));
  CHECK(err.find("--port") != std::string::npos);
  CHECK_FALSE(parse({"--bogus", "1"}, &err));
  CHECK_FALSE(parse({"--port"}, &err));
  CHECK_FALSE(parse({"--app", "irc"}, &err));
  CHECK_FALSE(parse({"--ping-interval", "0"}, &err));
  CHECK_FALSE(parse({"--path", "nope"}, &err));
  CHECK_FALSE(parse({"--log-level", "loud"}, &err));
  CHECK(err.find("--log-level") != std::string::npos);
}

TEST_CASE("--help and --version are text for stdout") {
  std::string text;
  bool help = false;
  CHECK_FALSE(parseOptions({"--port", "1", "--version"}, text, help));
  CHECK(help);
  CHECK(text.rfind("tether-chat ", 0) == 0);
  CHECK_FALSE(parseOptions({"-h"}, text, help));
  CHECK(help);
  CHECK(text.find("tether-chat fleet") != std::string::npos);
  CHECK_FALSE(parseOptions({"--bogus", "1"}, text, help));
  CHECK_FALSE(help);
}

TEST_CASE("room names and HTML escaping") {
  CHECK(validRoomName("lobby", 64));
  CHECK(validRoomName("café ☕", 64));
  CHECK_FALSE(validRoomName("", 64));
  CHECK_FALSE(validRoomName(std::string(65, 'a'), 64));
  CHECK_FALSE(validRoomName("a\nb", 64));
  CHECK_FALSE(validRoomName("\xff", 64));
  CHECK(htmlEscape("<s1 & \"x\">") == "&lt;s1 &amp; &quot;x&quot;&gt;");
}

TEST_CASE("--id is printable ASCII (it is sent as the X-Served-By header)") {
  auto o = parse({"--id", "srv-1"});
  REQUIRE(o);
  CHECK(o->id == "srv-1");
  std::string err;
  CHECK_FALSE(parse({"--id", "a\r\nSet-Cookie: x=1"}, &err));
  CHECK_FALSE(parse({"--id", "two words"}, &err));
}
