// One parsed HTTP/1.1 request as the backend sees it: method, split URL, the headers it needs,
// the body. Filled by Connection (llhttp callbacks); read by the Engine.IO server and the page
// routes. Plain data, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backend::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string url;     // raw target, e.g. "/socket.io/?EIO=4&transport=polling"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool upgrade = false;     // llhttp saw Connection: upgrade + Upgrade
  bool keepAlive = true;

  std::string_view path() const;
  std::string_view query() const;
  // Header value by case-insensitive name; empty when absent.
  std::string_view header(std::string_view name) const;
  // Query parameter value (not percent-decoded: Engine.IO values are plain tokens); `found`
  // tells an empty value from a missing one.
  std::string_view queryParam(std::string_view name, bool* found = nullptr) const;

  void clear();
};

}  // namespace backend::http
