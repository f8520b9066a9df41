// The proxy's own responses (400, 404, 413, 431, 502, 503, 504...): a status line, a short
// text/plain body saying what went wrong, and the Connection header. Built once at first use;
// the data path only takes a view.
#pragma once

#include <string>
#include <string_view>

namespace proxy::http {

// Full response bytes for `status`. With close=true it carries "Connection: close".
std::string_view errorResponse(int status, bool close);

// The reason phrase of a status code ("Found" for 302); the class's name ("Client Error") for
// codes without a well-known one.
std::string_view reasonPhrase(int status);

// Copies `response` (from errorResponse) into `out` with one more header line in its head.
void withHeader(std::string_view response, std::string_view name, std::string_view value, std::string& out);

}  // namespace proxy::http
