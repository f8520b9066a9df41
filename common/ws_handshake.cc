// WebSocket handshake helpers; see ws_handshake.h.
#include "common/ws_handshake.h"

#include <openssl/sha.h>

#include "common/base64.h"

namespace common::ws {

std::string acceptKey(std::string_view clientKey) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input;
  input.reserve(clientKey.size() + kGuid.size());
  input.append(clientKey);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64Encode({reinterpret_cast<const char*>(digest), sizeof digest});
}

bool isValidClientKey(std::string_view key) {
  if (key.size() != 24) return false;
  auto decoded = base64Decode(key);
  return decoded && decoded->size() == 16;
}

std::string makeClientKey(const uint8_t (&random16)[16]) {
  return base64Encode({reinterpret_cast<const char*>(random16), 16});
}

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string_view headerValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2, end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    size_t colon = line.find(':');
    if (colon == name.size() && equalsNoCase(line.substr(0, colon), name)) return trim(line.substr(colon + 1));
    pos = end;
  }
  return {};
}

bool headerHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (equalsNoCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace common::ws
