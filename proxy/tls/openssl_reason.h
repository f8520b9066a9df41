// OpenSSL's error queue as one reason in plain words, for configuration errors (a certificate,
// key or CA file that cannot be used). Shared by the listener and the upstream contexts.
#pragma once

#include <string>

namespace proxy::tls {

// The reason for the failure in plain words. OpenSSL queues a chain of errors, the root cause
// first ("no start line", then "PEM lib"): the common causes anywhere in it are rephrased,
// otherwise the root cause is named as OpenSSL names it. `cert` names the certificate in a
// key-mismatch message. Empties the queue.
std::string opensslReason(const std::string& cert);

}  // namespace proxy::tls
