// Certificate expiry lines (proxy/tls/cert_expiry.h): what `tether -t` prints and when it warns.
#include <doctest/doctest.h>

#include "proxy/tls/cert_expiry.h"

using namespace proxy::tls;

TEST_CASE("certificate expiry: days, hours, expired, and the 14-day warning") {
  CertExpiry c{"web", "/etc/tether/chat.pem", 1800000000};  // 2027-01-15T08:00:00Z
  CHECK(isoUtc(c.not_after) == "2027-01-15T08:00:00Z");
  bool soon = false;
  CHECK(describeExpiry(c, c.not_after - 30 * 86400, soon) ==
        "listener web: certificate /etc/tether/chat.pem expires 2027-01-15T08:00:00Z (in 30 days)");
  CHECK_FALSE(soon);
  CHECK(describeExpiry(c, c.not_after - 14 * 86400, soon).find("(in 14 days)") != std::string::npos);
  CHECK_FALSE(soon);  // exactly 14 days left: not yet
  describeExpiry(c, c.not_after - 14 * 86400 + 1, soon);
  CHECK(soon);
  CHECK(describeExpiry(c, c.not_after - 86400 - 5, soon).find("(in 1 day)") != std::string::npos);
  CHECK(describeExpiry(c, c.not_after - 7200, soon).find("(in 2 hours)") != std::string::npos);
  CHECK(soon);
  CHECK(describeExpiry(c, c.not_after + 3 * 86400, soon) ==
        "listener web: certificate /etc/tether/chat.pem expired 2027-01-15T08:00:00Z (3 days ago)");
  CHECK(soon);
}
