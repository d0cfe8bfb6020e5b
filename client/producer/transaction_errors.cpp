// The transactional calls' errors: txn_errc's category, and the classes (KIP-1050) a caller tests
// any error from a transactional call against (kwire/client/transaction.hpp).
#include "kwire/client/error.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client {

namespace {

class txn_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.transaction"; }
    std::string message(int ev) const override {
        switch (static_cast<txn_errc>(ev)) {
            case txn_errc::ok: return "success";
            case txn_errc::not_transactional: return "the producer has no transactional.id";
            case txn_errc::not_initialized: return "init_transactions has not completed";
            case txn_errc::no_transaction: return "no transaction is open (call begin_transaction first)";
            case txn_errc::transaction_in_progress: return "a transaction is already open";
            case txn_errc::operation_in_progress: return "another transactional call has not completed";
            case txn_errc::must_abort: return "the transaction failed earlier and must be aborted";
            case txn_errc::aborted: return "the transaction was aborted before the record was sent";
        }
        return "unknown transaction error";
    }
};

class txn_class_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.transaction_error_class"; }
    std::string message(int ev) const override {
        switch (static_cast<txn_error_class>(ev)) {
            case txn_error_class::retriable: return "retriable: the same call may be made again";
            case txn_error_class::abortable: return "abortable: abort the transaction, then go on";
            case txn_error_class::fatal: return "fatal: close the producer";
            case txn_error_class::fenced: return "fenced: another producer with the same transactional.id took over";
        }
        return "unknown transaction error class";
    }
    bool equivalent(const std::error_code& ec, int condition) const noexcept override {
        const auto c = classify_transaction_error(ec);
        if (!c) return false;
        const auto want = static_cast<txn_error_class>(condition);
        if (want == txn_error_class::fenced) return *c == txn_error_class::fenced;
        if (want == txn_error_class::fatal) return *c == txn_error_class::fatal || *c == txn_error_class::fenced;
        return *c == want;
    }
};

std::optional<txn_error_class> classify_kafka(kafka_errc e) noexcept {
    switch (e) {
        case kafka_errc::producer_fenced:
        case kafka_errc::transaction_coordinator_fenced:
            return txn_error_class::fenced;
        case kafka_errc::invalid_producer_epoch:
            // KIP-588: a partition leader's answer to a batch of an epoch it has seen bumped --
            // the coordinator timed the transaction out and aborted it, or another producer with
            // the transactional id took over. Abortable: the abort finds out which (its EndTxn is
            // answered PRODUCER_FENCED when the producer was fenced). A coordinator's
            // INVALID_PRODUCER_EPOCH (brokers before 2.7) reaches callers as PRODUCER_FENCED.
            return txn_error_class::abortable;
        case kafka_errc::transactional_id_authorization_failed:
        case kafka_errc::cluster_authorization_failed:
        case kafka_errc::invalid_txn_state:
        case kafka_errc::invalid_transaction_timeout:
        case kafka_errc::unsupported_version:
        case kafka_errc::unsupported_for_message_format:
            return txn_error_class::fatal;
        case kafka_errc::coordinator_load_in_progress:
        case kafka_errc::coordinator_not_available:
        case kafka_errc::not_coordinator:
        case kafka_errc::concurrent_transactions:
        case kafka_errc::request_timed_out:
        case kafka_errc::network_exception:
            return txn_error_class::retriable;
        default:
            // Everything else fails the transaction, not the producer: a record the broker
            // refused, authorization of a topic or group, a lost producer id (KIP-360: the abort
            // bumps the epoch), a stale consumer generation (KIP-447), TRANSACTION_ABORTABLE.
            return txn_error_class::abortable;
    }
}

}  // namespace

const std::error_category& txn_category() noexcept {
    static const txn_category_impl c;
    return c;
}

const std::error_category& txn_error_class_category() noexcept {
    static const txn_class_category_impl c;
    return c;
}

std::optional<txn_error_class> classify_transaction_error(const std::error_code& ec) noexcept {
    if (!ec || ec.category() == txn_category()) {
        if (ec == txn_errc::must_abort || ec == txn_errc::aborted) return txn_error_class::abortable;
        return std::nullopt;
    }
    if (ec.category() == kafka_category()) return classify_kafka(static_cast<kafka_errc>(ec.value()));
    if (ec.category() == client_category()) {
        switch (static_cast<client_errc>(ec.value())) {
            case client_errc::producer_fenced: return txn_error_class::fenced;
            case client_errc::closed:
            case client_errc::invalid_config:
            case client_errc::unsupported_version:
                return txn_error_class::fatal;
            case client_errc::no_brokers:
            case client_errc::connection_closed:
            case client_errc::request_timed_out:
            case client_errc::name_resolution_failed:
                return txn_error_class::retriable;
            default:
                return txn_error_class::abortable;  // e.g. a record's delivery timeout, record_too_large
        }
    }
    // A transport error (refused, reset, TLS) on a coordinator call: the call may be made again.
    if (ec.category() == std::system_category() || ec.category() == std::generic_category())
        return txn_error_class::retriable;
    return txn_error_class::abortable;
}

}  // namespace kwire::client
