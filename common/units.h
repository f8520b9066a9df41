// Parsing of the human units used in configuration and flags.
//
// Durations: an integer followed by ms, s, m or h ("500ms", "10s", "1h"); a bare number is
// rejected so that "5" never silently means 5 ms or 5 s. Sizes: an integer followed by B, KiB,
// MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000); a bare number means bytes.
// Both reject overflow, negatives and trailing junk. Pure functions: no I/O, no exceptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace common {

using Millis = std::chrono::milliseconds;

std::optional<Millis> parseDuration(std::string_view text);
std::optional<uint64_t> parseSize(std::string_view text);

}  // namespace common
