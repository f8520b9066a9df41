// Raising the process's open-descriptor limit for the load generators and their sinks.
//
// A benchmark holds one descriptor per connection, often tens of thousands, above the usual soft
// limit of 1024. raiseFdLimit() lifts the soft RLIMIT_NOFILE to the hard limit; when the limit
// cannot be read or set it leaves it as it is (connections past it then fail with EMFILE, which
// the callers count and report as failed connections).
#pragma once

namespace bench {

void raiseFdLimit();

}  // namespace bench
