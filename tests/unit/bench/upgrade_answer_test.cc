// The load generators' reading of a WebSocket upgrade answer (bench/ws/upgrade_answer.h).
#include <doctest/doctest.h>

#include <string>

#include "bench/ws/upgrade_answer.h"

using bench::ws::UpgradeAnswer;
using bench::ws::readUpgradeAnswer;

TEST_CASE("an upgrade answer is accepted only as a whole 101 head, within the size limit") {
  size_t head_len = 0;
  std::string ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  CHECK(readUpgradeAnswer(ok + "\x81\x01x", 1024, head_len) == UpgradeAnswer::Accepted);
  CHECK(head_len == ok.size());  // the frame after the head is not part of it
  CHECK(readUpgradeAnswer(ok.substr(0, ok.size() - 1), 1024, head_len) == UpgradeAnswer::Incomplete);
  CHECK(readUpgradeAnswer("HTTP/1.1 400 Bad Request\r\n\r\n", 1024, head_len) == UpgradeAnswer::Refused);
  CHECK(readUpgradeAnswer(std::string(2000, 'x'), 1024, head_len) == UpgradeAnswer::TooLarge);
}
