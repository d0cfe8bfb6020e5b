// TLS peers for the connection tests: certificates made by the `openssl` command (a CA, a server
// certificate with the names a test asks for, a client certificate for mutual TLS, and an
// unrelated CA), and `stunnel` terminating TLS in front of a plaintext broker. Tests only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kwire::peers {

/// The whole of a text file ("" when it cannot be read).
std::string read_text_file(const std::string& path);

/// Whether the openssl and stunnel programs are installed.
bool tls_peers_available();

/// A temporary directory of PEM files, removed on destruction. Throws std::runtime_error when
/// openssl fails.
class test_certificates {
public:
    /// `server_names`: subjectAltName entries for the server certificate, e.g. {"DNS:kafka.test",
    /// "IP:127.0.0.1"}.
    explicit test_certificates(const std::vector<std::string>& server_names);
    ~test_certificates();
    test_certificates(const test_certificates&) = delete;
    test_certificates& operator=(const test_certificates&) = delete;

    const std::string& dir() const noexcept { return dir_; }
    std::string ca() const { return dir_ + "/ca.pem"; }              ///< the CA that signed both certificates
    std::string other_ca() const { return dir_ + "/other-ca.pem"; }  ///< a CA that signed nothing here
    std::string server_cert() const { return dir_ + "/server.pem"; }
    std::string server_key() const { return dir_ + "/server.key"; }
    std::string client_cert() const { return dir_ + "/client.pem"; }
    std::string client_key() const { return dir_ + "/client.key"; }
    /// The client key encrypted with `client_key_password()`.
    std::string client_key_encrypted() const { return dir_ + "/client-enc.key"; }
    static std::string client_key_password() { return "kwire-key-pass"; }

private:
    std::string dir_;
};

/// stunnel accepting TLS on 127.0.0.1 (an ephemeral port) and forwarding plaintext to
/// `upstream` ("host:port"). Killed on destruction.
class stunnel_front {
public:
    stunnel_front(const test_certificates& certs, const std::string& upstream, bool require_client_cert = false);
    ~stunnel_front();
    stunnel_front(const stunnel_front&) = delete;
    stunnel_front& operator=(const stunnel_front&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// What stunnel logged so far (connections accepted, handshake failures).
    std::string log() const;

private:
    std::string conf_;
    std::string log_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace kwire::peers
