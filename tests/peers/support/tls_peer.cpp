#include "tls_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "subprocess.hpp"

namespace kwire::peers {

namespace {

void openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_process(argv);
    if (!r.ok()) throw std::runtime_error("openssl " + args.front() + " failed: " + r.describe() + "\n" + r.err);
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

}  // namespace

std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool tls_peers_available() { return program_available("openssl") && program_available("stunnel"); }

test_certificates::test_certificates(const std::vector<std::string>& server_names) {
    char tmpl[] = "/tmp/kwire-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    const auto p = [&](const char* f) { return dir_ + "/" + f; };
    const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    const auto make_ca = [&](const char* name, const char* cn) {
        std::vector<std::string> a{"req", "-x509"};
        a.insert(a.end(), ec_key.begin(), ec_key.end());
        a.insert(a.end(), {"-keyout", p(name) + std::string(".key"), "-out", p(name) + std::string(".pem"), "-days",
                           "3", "-subj", std::string("/CN=") + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                           "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
        openssl(a);
    };
    make_ca("ca", "kwire test CA");
    make_ca("other-ca", "kwire unrelated CA");
    const auto make_leaf = [&](const char* name, const char* cn, const std::string& extensions) {
        std::vector<std::string> a{"req"};
        a.insert(a.end(), ec_key.begin(), ec_key.end());
        a.insert(a.end(), {"-keyout", p(name) + std::string(".key"), "-out", p(name) + std::string(".csr"), "-subj",
                           std::string("/CN=") + cn});
        openssl(a);
        write_file(p(name) + std::string(".ext"), extensions);
        openssl({"x509", "-req", "-in", p(name) + std::string(".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                 "-CAcreateserial", "-out", p(name) + std::string(".pem"), "-days", "3", "-extfile",
                 p(name) + std::string(".ext")});
    };
    std::string san;
    for (const auto& n : server_names) san += (san.empty() ? "" : ",") + n;
    make_leaf("server", "kwire test broker",
              "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" +
                  (san.empty() ? std::string() : "subjectAltName=" + san + "\n"));
    make_leaf("client", "kwire test client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    openssl({"pkey", "-in", p("client.key"), "-out", p("client-enc.key"), "-aes256", "-passout",
             "pass:" + client_key_password()});
}

test_certificates::~test_certificates() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

stunnel_front::stunnel_front(const test_certificates& certs, const std::string& upstream, bool require_client_cert) {
    port_ = free_port();
    conf_ = certs.dir() + "/stunnel-" + std::to_string(port_) + ".conf";
    log_ = certs.dir() + "/stunnel-" + std::to_string(port_) + ".log";
    std::string conf = "foreground = yes\npid =\ndebug = 5\noutput = " + log_ +
                       "\n[kafka]\naccept = 127.0.0.1:" + std::to_string(port_) + "\nconnect = " + upstream +
                       "\ncert = " + certs.server_cert() + "\nkey = " + certs.server_key() +
                       "\nsslVersionMin = TLSv1.2\n";
    if (require_client_cert) conf += "CAfile = " + certs.ca() + "\nverifyChain = yes\nrequireCert = yes\n";
    write_file(conf_, conf);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
        }
        ::execlp("stunnel", "stunnel", conf_.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts(port_)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("stunnel exited: " + read_text_file(log_));
        }
        if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("stunnel did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

stunnel_front::~stunnel_front() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

std::string stunnel_front::log() const { return read_text_file(log_); }

}  // namespace kwire::peers
