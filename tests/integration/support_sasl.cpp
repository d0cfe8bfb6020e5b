#include "support_sasl.hpp"

#include <sasl/sasl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace kwire::test {

namespace {

// Cyrus is initialised once per process; every authority adds its users to the one sasldb.
std::mutex cyrus_mutex;
std::string sasldb_path;
const std::string scram_iterations = "4096";

int get_option(void*, const char*, const char* option, const char** result, unsigned* len) {
    static const std::string auxprop = "auxprop", sasldb = "sasldb";
    const std::string* value = nullptr;
    if (std::strcmp(option, "sasldb_path") == 0) value = &sasldb_path;
    else if (std::strcmp(option, "scram_iteration_counter") == 0) value = &scram_iterations;
    else if (std::strcmp(option, "pwcheck_method") == 0) value = &auxprop;
    else if (std::strcmp(option, "auxprop_plugin") == 0) value = &sasldb;
    if (value == nullptr) return SASL_FAIL;
    *result = value->c_str();
    if (len != nullptr) *len = static_cast<unsigned>(value->size());
    return SASL_OK;
}

int quiet_log(void*, int, const char*) { return SASL_OK; }

template <typename F> int (*erase(F* f))(void) { return reinterpret_cast<int (*)(void)>(reinterpret_cast<void*>(f)); }

bool cyrus_ready() {
    static const bool ok = [] {
        char dir[] = "/tmp/kwire-sasldb-XXXXXX";
        if (!::mkdtemp(dir)) return false;
        sasldb_path = std::string(dir) + "/sasldb2";
        static const sasl_callback_t callbacks[] = {
            {SASL_CB_GETOPT, erase(&get_option), nullptr},
            {SASL_CB_LOG, erase(&quiet_log), nullptr},
            {SASL_CB_LIST_END, nullptr, nullptr},
        };
        return sasl_server_init(callbacks, "kwire-integration") == SASL_OK;
    }();
    return ok;
}

sasl_conn_t* new_conn() {
    sasl_conn_t* conn = nullptr;
    if (sasl_server_new("kafka", "localhost", nullptr, nullptr, nullptr, nullptr, SASL_SUCCESS_DATA, &conn) != SASL_OK)
        return nullptr;
    return conn;
}

class cyrus_session final : public sasl_server_session {
public:
    cyrus_session(sasl_conn_t* conn, std::string mechanism) : conn_(conn), mechanism_(std::move(mechanism)) {}
    ~cyrus_session() override {
        std::lock_guard lock(cyrus_mutex);
        sasl_dispose(&conn_);
    }
    result step(const std::vector<std::uint8_t>& message, std::vector<std::uint8_t>& reply) override {
        std::lock_guard lock(cyrus_mutex);
        const char* out = nullptr;
        unsigned out_len = 0;
        const auto* in = reinterpret_cast<const char*>(message.data());
        const auto in_len = static_cast<unsigned>(message.size());
        const int rc = started_ ? sasl_server_step(conn_, in, in_len, &out, &out_len)
                                : sasl_server_start(conn_, mechanism_.c_str(), in, in_len, &out, &out_len);
        started_ = true;
        reply.assign(reinterpret_cast<const std::uint8_t*>(out), reinterpret_cast<const std::uint8_t*>(out) + out_len);
        if (rc == SASL_OK) return result::done;
        if (rc == SASL_CONTINUE) return result::more;
        return result::failed;
    }

private:
    sasl_conn_t* conn_;
    std::string mechanism_;
    bool started_ = false;
};

class cyrus_authority final : public sasl_authority {
public:
    explicit cyrus_authority(std::vector<std::string> mechanisms) : mechanisms_(std::move(mechanisms)) {}
    std::vector<std::string> mechanisms() const override { return mechanisms_; }
    std::unique_ptr<sasl_server_session> start(const std::string& mechanism) override {
        if (std::find(mechanisms_.begin(), mechanisms_.end(), mechanism) == mechanisms_.end()) return nullptr;
        std::lock_guard lock(cyrus_mutex);
        auto* conn = new_conn();
        if (!conn) return nullptr;
        return std::make_unique<cyrus_session>(conn, mechanism);
    }

private:
    std::vector<std::string> mechanisms_;
};

class oauth_session final : public sasl_server_session {
public:
    explicit oauth_session(std::string token) : token_(std::move(token)) {}
    result step(const std::vector<std::uint8_t>& message, std::vector<std::uint8_t>& reply) override {
        const std::string m(message.begin(), message.end());
        if (rejected_) return result::failed;  // the client's answer to the error (a lone 0x01)
        // gs2 header, then key=value pairs separated by 0x01, ending 0x01 0x01 (RFC 7628 3.1).
        const std::string expected = "auth=Bearer " + token_ + "\x01";
        if (m.rfind("n,", 0) == 0 && m.find("\x01" + expected) != std::string::npos &&
            m.size() >= 2 && m.compare(m.size() - 2, 2, "\x01\x01") == 0)
            return result::done;
        rejected_ = true;
        const std::string error = R"({"status":"invalid_token"})";
        reply.assign(error.begin(), error.end());
        return result::more;
    }

private:
    std::string token_;
    bool rejected_ = false;
};

class oauth_authority final : public sasl_authority {
public:
    explicit oauth_authority(std::string token) : token_(std::move(token)) {}
    std::vector<std::string> mechanisms() const override { return {"OAUTHBEARER"}; }
    std::unique_ptr<sasl_server_session> start(const std::string& mechanism) override {
        if (mechanism != "OAUTHBEARER") return nullptr;
        return std::make_unique<oauth_session>(token_);
    }

private:
    std::string token_;
};

}  // namespace

std::shared_ptr<sasl_authority> make_sasl_authority(const std::map<std::string, std::string>& users,
                                                    const std::vector<std::string>& mechanisms) {
    std::lock_guard lock(cyrus_mutex);
    if (!cyrus_ready()) return nullptr;
    sasl_conn_t* conn = new_conn();
    if (!conn) return nullptr;
    for (const auto& [user, password] : users)
        if (sasl_setpass(conn, user.c_str(), password.c_str(), static_cast<unsigned>(password.size()), nullptr, 0,
                         SASL_SET_CREATE) != SASL_OK) {
            sasl_dispose(&conn);
            return nullptr;
        }
    const char* list = nullptr;
    std::vector<std::string> have;
    if (sasl_listmech(conn, nullptr, "", " ", "", &list, nullptr, nullptr) == SASL_OK && list) {
        std::string all = list;
        for (const std::string m : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
            if ((" " + all + " ").find(" " + m + " ") != std::string::npos &&
                (mechanisms.empty() || std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end()))
                have.push_back(m);
    }
    sasl_dispose(&conn);
    if (have.empty()) return nullptr;
    return std::make_shared<cyrus_authority>(std::move(have));
}

std::shared_ptr<sasl_authority> make_oauth_authority(const std::string& token) {
    return std::make_shared<oauth_authority>(token);
}

}  // namespace kwire::test
