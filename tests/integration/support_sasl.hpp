// The broker side of SASL for the test proxy's gateway (support_proxy.hpp): Cyrus SASL (libsasl2,
// an independent implementation) for PLAIN and SCRAM, with the users' secrets in a sasldb file
// in a temporary directory; and a small OAUTHBEARER checker (RFC 7628) for one expected token.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support_proxy.hpp"

namespace kwire::test {

/// Users and passwords; `mechanisms` restricts what is enabled (empty: every mechanism of PLAIN,
/// SCRAM-SHA-256 and SCRAM-SHA-512 that Cyrus has). nullptr if Cyrus cannot be set up.
std::shared_ptr<sasl_authority> make_sasl_authority(const std::map<std::string, std::string>& users,
                                                    const std::vector<std::string>& mechanisms = {});

/// OAUTHBEARER only: accepts exactly `token`; anything else gets RFC 7628's error JSON, then
/// fails once the client has answered it.
std::shared_ptr<sasl_authority> make_oauth_authority(const std::string& token);

}  // namespace kwire::test
