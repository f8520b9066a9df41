// Durations and sizes as operators write them in tether.yaml.
#include <doctest/doctest.h>

#include "common/units.h"

using common::Millis;
using common::parseDuration;
using common::parseSize;

TEST_CASE("durations accept ms, s, m, h and nothing else") {
  CHECK(parseDuration("500ms") == Millis(500));
  CHECK(parseDuration("10s") == Millis(10'000));
  CHECK(parseDuration("2m") == Millis(120'000));
  CHECK(parseDuration("1h") == Millis(3'600'000));
  CHECK_FALSE(parseDuration("5"));       // a bare number is ambiguous
  CHECK_FALSE(parseDuration("5 sec"));
  CHECK_FALSE(parseDuration("-5s"));
  CHECK_FALSE(parseDuration("s"));
  CHECK_FALSE(parseDuration("99999999999999999999h"));
}

TEST_CASE("sizes accept binary and decimal units, bare numbers are bytes") {
  CHECK(parseSize("16KiB") == 16384u);
  CHECK(parseSize("10MiB") == 10u * 1024 * 1024);
  CHECK(parseSize("1KB") == 1000u);
  CHECK(parseSize("123") == 123u);
  CHECK_FALSE(parseSize("12XB"));
  CHECK_FALSE(parseSize("99999999999999999999GiB"));
}
