// The queue of sends waiting for the fleet bus (backend/bus/send_queue.h): order, bounds,
// rooms that become ready at different times, and a commit put back after a lost link.
#include <doctest/doctest.h>

#include "backend/bus/send_queue.h"

using namespace backend::bus;

namespace {
QueuedSend send(const std::string& room, const std::string& id) {
  QueuedSend s;
  s.room = room;
  s.messageId = id;
  return s;
}
std::vector<std::string> ids(const std::vector<QueuedSend>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.messageId);
  return out;
}
}  // namespace

TEST_CASE("sends leave in order; a full queue refuses and keeps the send") {
  SendQueue q(3, 10000);
  for (const char* id : {"a1", "b1", "a2"}) {
    auto s = send(id[0] == 'a' ? "a" : "b", id);
    REQUIRE(q.push(s, 100));
  }
  CHECK(q.full());
  auto extra = send("a", "a3");
  CHECK_FALSE(q.push(extra, 100));
  CHECK(extra.messageId == "a3");  // untouched: the caller answers it
  CHECK(q.hasRoom("a"));
  CHECK(ids(q.takeReady([](const std::string&) { return true; })) == std::vector<std::string>{"a1", "b1", "a2"});
  CHECK(q.empty());
  CHECK_FALSE(q.hasRoom("a"));
}

TEST_CASE("a room that is not ready keeps its sends, in order, while others leave") {
  SendQueue q(10, 10000);
  for (const char* id : {"a1", "b1", "a2", "b2", "c1"}) {
    auto s = send(std::string(1, id[0]), id);
    REQUIRE(q.push(s, 0));
  }
  int asked = 0;
  auto out = q.takeReady([&](const std::string& room) {
    ++asked;
    return room != "a";
  });
  CHECK(asked == 3);  // once per room
  CHECK(ids(out) == std::vector<std::string>{"b1", "b2", "c1"});
  CHECK(q.hasRoom("a"));
  CHECK_FALSE(q.hasRoom("b"));
  CHECK(ids(q.takeAll()) == std::vector<std::string>{"a1", "a2"});
}

TEST_CASE("a commit put back after a lost link returns to its place and keeps its age") {
  SendQueue q(10, 1000);
  for (const char* id : {"a1", "a2", "a3"}) {
    auto s = send("a", id);
    REQUIRE(q.push(s, 100));
  }
  auto first = q.takeReady([](const std::string&) { return true; });
  REQUIRE(first.size() == 3);
  auto late = send("a", "a4");
  REQUIRE(q.push(late, 500));
  // The link dropped with all three in flight: their replies come back null, in order.
  for (auto& s : first) q.putBack(std::move(s));
  CHECK(q.size() == 4);
  CHECK(q.nextExpiryMs() == 1100);
  auto expired = q.takeExpired(1100);
  CHECK(ids(expired) == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(q.nextExpiryMs() == 1500);
  CHECK(q.takeExpired(1499).empty());
  CHECK(ids(q.takeExpired(1500)) == std::vector<std::string>{"a4"});
  CHECK(q.nextExpiryMs() == 0);
}

TEST_CASE("a zero-capacity queue refuses everything") {
  SendQueue q(0, 1000);
  auto s = send("a", "x");
  CHECK_FALSE(q.push(s, 0));
  CHECK(q.empty());
}
