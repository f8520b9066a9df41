// A parsed HTTP/1.x message head (request line or status line, plus headers).
//
// The parser copies the head's bytes into one buffer owned by this object and records offsets,
// because llhttp may deliver a header in several pieces across reads. The buffer and the index
// keep their capacity across messages, so a keep-alive connection parses every request after the
// first without allocating. Views returned here are valid until the next reset().
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::http {

struct HeaderRef {
  uint32_t name_off, name_len, value_off, value_len;
};

class MessageHead {
 public:
  // Request line / status line.
  uint8_t method = 0;          // llhttp_method_t for requests
  uint16_t status = 0;         // responses
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  bool keep_alive = true;      // as the peer asked (HTTP/1.0 default close, 1.1 default keep-alive)
  bool chunked = false;        // Transfer-Encoding: chunked
  bool has_content_length = false;
  bool upgrade = false;        // request carries Upgrade + Connection: upgrade (or CONNECT)
  uint64_t content_length = 0;

  std::string_view url() const { return view(url_off_, url_len_); }
  std::string_view reason() const { return view(url_off_, url_len_); }  // responses reuse the slot
  size_t headerCount() const { return headers_.size(); }
  std::string_view name(size_t i) const { return view(headers_[i].name_off, headers_[i].name_len); }
  std::string_view value(size_t i) const { return view(headers_[i].value_off, headers_[i].value_len); }
  // First header named `name` (case-insensitive), or an empty view with found=false.
  std::string_view find(std::string_view name, bool* found = nullptr) const;
  size_t byteSize() const { return buf_.size(); }
  // How many Connection headers the message has (counted while parsing).
  unsigned connectionHeaders() const { return connection_headers_; }
  // The authority of an absolute-form target ("GET http://a.example:8080/p HTTP/1.1" gives
  // "a.example:8080", and url() is then "/p"), or "" for the usual origin-form.
  std::string_view authority() const { return view(authority_off_, authority_len_); }
  // The host the request is for: the absolute-form authority, else the first Host header.
  std::string_view host() const { return authority_len_ ? authority() : find("host"); }

  void reset();
  // reset() and give the buffers' memory back (for connections that stop speaking HTTP).
  void release();

  // Building (used by the parser).
  void appendUrl(std::string_view piece);
  void appendName(std::string_view piece);  // the first piece of a name starts a new header
  void endName();
  void appendValue(std::string_view piece);
  void endValue() { in_value_ = false; }
  // Turns an absolute-form http(s) target into origin-form plus authority() (RFC 9112 3.2.2).
  // False when the target is absolute-form without a usable authority (empty, or with userinfo).
  bool splitAbsoluteForm();

 private:
  std::string_view view(uint32_t off, uint32_t len) const { return std::string_view(buf_).substr(off, len); }

  std::string buf_;
  std::vector<HeaderRef> headers_;
  uint32_t url_off_ = 0, url_len_ = 0;
  uint32_t authority_off_ = 0, authority_len_ = 0;
  unsigned connection_headers_ = 0;
  bool in_name_ = false;
  bool in_value_ = false;
};

namespace detail {
// Eight bytes with A-Z turned into a-z and every other byte (non-letters, bytes >= 0x80) kept.
inline uint64_t asciiLower8(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  uint64_t low7 = x & ~kHigh;
  uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');   // high bit set where byte >= 'A'
  uint64_t above_z = low7 + kOnes * (0x7f - 'Z');      // high bit set where byte > 'Z'
  uint64_t upper = (at_least_a ^ above_z) & ~x & kHigh;  // ASCII and in 'A'..'Z'
  return x | (upper >> 2);                              // 0x80 >> 2 == 0x20
}
inline char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
}  // namespace detail

// ASCII case-insensitive equality (header names, tokens): eight bytes per step, then four, then
// single bytes. Header names are compared on every request, so this stays inline.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y && detail::asciiLower8(x) != detail::asciiLower8(y)) return false;
  }
  if (i + 4 <= n) {
    uint32_t x32, y32;
    std::memcpy(&x32, a.data() + i, 4);
    std::memcpy(&y32, b.data() + i, 4);
    if (x32 != y32 && detail::asciiLower8(x32) != detail::asciiLower8(y32)) return false;
    i += 4;
  }
  for (; i < n; ++i)
    if (detail::asciiLower(a[i]) != detail::asciiLower(b[i])) return false;
  return true;
}
// True if the comma-separated list `list` contains `token` (case-insensitive, spaces trimmed).
bool hasToken(std::string_view list, std::string_view token);

}  // namespace proxy::http
