// Parsing of durations and sizes: see units.h.
#include "common/units.h"

#include <charconv>
#include <limits>

namespace common {
namespace {

// Splits "123unit" into its number and unit; nullopt if there is no leading number.
struct NumberUnit {
  uint64_t number;
  std::string_view unit;
};

std::optional<NumberUnit> splitNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  return NumberUnit{n, text.substr(static_cast<size_t>(ptr - text.data()))};
}

std::optional<uint64_t> multiply(uint64_t n, uint64_t factor) {
  if (factor != 0 && n > std::numeric_limits<uint64_t>::max() / factor) return std::nullopt;
  return n * factor;
}

}  // namespace

std::optional<Millis> parseDuration(std::string_view text) {
  auto nu = splitNumber(text);
  if (!nu) return std::nullopt;
  uint64_t factor;
  if (nu->unit == "ms") factor = 1;
  else if (nu->unit == "s") factor = 1000;
  else if (nu->unit == "m") factor = 60'000;
  else if (nu->unit == "h") factor = 3'600'000;
  else return std::nullopt;
  auto ms = multiply(nu->number, factor);
  if (!ms || *ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return Millis(static_cast<int64_t>(*ms));
}

std::optional<uint64_t> parseSize(std::string_view text) {
  auto nu = splitNumber(text);
  if (!nu) return std::nullopt;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000'000}, {"GB", 1000'000'000}, {"k", 1000}, {"K", 1ull << 10},
      {"M", 1ull << 20}, {"G", 1ull << 30}};
  for (auto& [unit, factor] : kUnits)
    if (nu->unit == unit) return multiply(nu->number, factor);
  return std::nullopt;
}

}  // namespace common
