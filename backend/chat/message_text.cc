// Socket.IO text of committed room messages by splicing; see message_text.h.
#include "backend/chat/message_text.h"

#include <charconv>

namespace backend::chat {
namespace {
bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

bool messageEventText(std::string_view json, uint64_t seq, bool replay, std::string& out) {
  size_t first = 0, last = json.size();
  while (first < last && blank(json[first])) ++first;
  while (last > first && blank(json[last - 1])) --last;
  if (last - first < 2 || json[first] != '{' || json[last - 1] != '}') return false;
  size_t close = last - 1;  // the object's closing brace
  size_t inner = close;
  while (inner > first + 1 && blank(json[inner - 1])) --inner;
  bool empty = inner == first + 1;  // "{}" or "{ }"
  constexpr std::string_view head = "2[\"message\",";
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
  if (ec != std::errc()) return false;  // cannot happen: 20 digits hold any uint64_t
  std::string text;
  text.reserve(head.size() + json.size() + 48);
  text.append(head).append(json.substr(first, close - first));
  if (!empty) text.push_back(',');
  text.append("\"seq\":").append(digits, static_cast<size_t>(end - digits));
  if (replay) text.append(",\"replay\":true");
  text.append("}]");
  out = std::move(text);
  return true;
}

}  // namespace backend::chat
