// Trailer fields (RFC 9110 6.5) as tether passes them on: from an HTTP/1.1 chunked body's
// trailer section or an HTTP/2 trailing HEADERS frame, into the other one. Pure functions over a
// "trailer block": lines "name: value\r\n" with lower-case names, the form an HTTP/1.1 chunked
// body carries between its last chunk ("0\r\n") and the final "\r\n", so the block is written
// to an HTTP/1.1 peer as it is and read field by field for an HTTP/2 one.
//
// Not every field may be a trailer: the ones that frame the message, route it, or say how to
// read its content are only meaningful in a head (RFC 9110 6.5.1), and pseudo-headers belong to
// HTTP/2 heads. Such fields are left out of a block (a sender may not rely on them being
// processed), and so are values with control bytes.
#pragma once

#include <string>
#include <string_view>

namespace proxy::http {

// False for names that may not be forwarded as trailers: pseudo-headers (":..."), framing and
// connection fields (Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection,
// TE, Trailer, Upgrade), routing (Host), content handling (Content-Encoding, Content-Type,
// Content-Range) and credentials (Authorization, Proxy-Authorization, Cookie, Set-Cookie).
// Any case.
bool trailerNameAllowed(std::string_view name);

// False when `value` holds NUL, CR, LF, DEL or another control byte but HTAB.
bool trailerValueAllowed(std::string_view value);

// Appends "name: value\r\n" with `name` lower-cased and `value` without surrounding blanks,
// when both are allowed; returns whether the line was added.
bool appendTrailer(std::string& block, std::string_view name, std::string_view value);

// Calls f(name, value) for every line of a block written by appendTrailer.
template <typename F>
void forEachTrailer(std::string_view block, F&& f) {
  while (!block.empty()) {
    size_t end = block.find("\r\n");
    std::string_view line = block.substr(0, end);
    block.remove_prefix(end == std::string_view::npos ? block.size() : end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    f(line.substr(0, colon), value);
  }
}

}  // namespace proxy::http
