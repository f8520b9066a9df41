// The proxy's own responses (400, 404, 413, 431, 502, 503, 504...): a status line, a short
// text/plain body saying what went wrong, and the Connection header. Built once at first use;
// the data path only takes a view.
#pragma once

#include <string_view>

namespace proxy::http {

// Full response bytes for `status`. With close=true it carries "Connection: close".
std::string_view errorResponse(int status, bool close);

}  // namespace proxy::http
