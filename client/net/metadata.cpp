// One-shot cluster metadata for tools (see kwire/client/metadata.hpp): a temporary cluster,
// one Metadata request, the answer.
#include "kwire/client/metadata.hpp"


#include "core/completion.hpp"
#include "net/cluster.hpp"
#include "kwire/protocol/messages/metadata.hpp"

namespace kwire::client::detail {

namespace {

struct metadata_op : std::enable_shared_from_this<metadata_op> {
    metadata_op(net::any_io_executor e, connection_config c, std::vector<std::string> t,
                boost::asio::any_completion_handler<metadata_signature> h)
        : ex(e), cfg(std::move(c)), topics(std::move(t)), done(e, std::move(h), stop_waiting, [this] { stop(); }) {}

    net::any_io_executor ex;
    connection_config cfg;
    std::vector<std::string> topics;
    completion<metadata_signature> done;
    std::size_t next = 0;
    std::shared_ptr<broker_connection> conn;
    std::error_code last_error = make_error_code(client_errc::no_brokers);
    bool stopped = false;

    /// Cancelled: nothing is left to do, so the connection closes now. (Its pending request holds
    /// this operation, which holds the connection: left open, the pair would outlive the caller's
    /// io_context.)
    void stop() {
        stopped = true;
        if (conn) conn->close();
    }

    void try_next() {
        if (stopped || !done.pending()) return;  // cancelled
        if (next >= cfg.bootstrap_servers.size()) return finish(last_error, {});
        auto [host, port] = split_broker_address(cfg.bootstrap_servers[next++]);
        conn = std::make_shared<broker_connection>(ex, cfg, -1, host, port);
        const bool allow = cfg.allow_auto_create_topics;
        conn->request_built([t = topics, allow](std::int16_t v) { return metadata_request(t, allow, v); },
                            [self = shared_from_this(), allow](std::error_code ec, protocol::MetadataResponse resp,
                                                               std::int16_t version) {
                                self->conn->close();
                                if (ec) {
                                    self->last_error = ec;
                                    return self->try_next();
                                }
                                restrict_metadata(resp, self->topics,
                                                  metadata_asks_for_all(self->topics, allow, version));
                                self->finish({}, to_cluster_metadata(resp));
                            },
                            {.min_version = 0, .max_version = 12});
    }

    void finish(std::error_code ec, cluster_metadata md) { done(ec, std::move(md)); }
};

}  // namespace

void start_metadata(net::any_io_executor ex, connection_config cfg, std::vector<std::string> topics,
                    boost::asio::any_completion_handler<metadata_signature> handler) {
    std::make_shared<metadata_op>(ex, std::move(cfg), std::move(topics), std::move(handler))->try_next();
}

}  // namespace kwire::client::detail
