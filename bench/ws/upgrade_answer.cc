// readUpgradeAnswer: see upgrade_answer.h.
#include "bench/ws/upgrade_answer.h"

namespace bench::ws {

UpgradeAnswer readUpgradeAnswer(std::string_view received, size_t max_head, size_t& head_len) {
  size_t end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) return received.size() > max_head ? UpgradeAnswer::TooLarge : UpgradeAnswer::Incomplete;
  if (received.substr(0, 12) != "HTTP/1.1 101") return UpgradeAnswer::Refused;
  head_len = end + 4;
  return UpgradeAnswer::Accepted;
}

}  // namespace bench::ws
