// Request accessors; see request.h.
#include "backend/http/request.h"

namespace backend::http {
namespace {
bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}
}  // namespace

std::string_view Request::path() const {
  std::string_view u(url);
  return u.substr(0, u.find('?'));
}

std::string_view Request::query() const {
  std::string_view u(url);
  size_t q = u.find('?');
  return q == std::string_view::npos ? std::string_view() : u.substr(q + 1);
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsNoCase(k, name)) return v;
  }
  return {};
}

std::string_view Request::queryParam(std::string_view name, bool* found) const {
  std::string_view q = query();
  if (found) *found = false;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    size_t eq = item.find('=');
    if (item.substr(0, eq) == name) {
      if (found) *found = true;
      return eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

void Request::clear() {
  method.clear();
  url.clear();
  headers.clear();
  body.clear();
  upgrade = false;
  keepAlive = true;
}

}  // namespace backend::http
