// Transactions (KIP-98, KIP-447, KIP-890): the errors of the transactional calls, and the classes
// a caller tests them against (KIP-1050).
//
// A transactional call (init_transactions, begin_transaction, send_offsets_to_transaction,
// commit_transaction, abort_transaction) fails either with a misuse of the API (txn_errc: a call
// out of order) or with the cause itself (a Kafka error, a client error such as a delivery
// timeout). What to do next is one test away:
//
//   if (ec == kwire::txn_error_class::retriable)  ... call the same function again
//   if (ec == kwire::txn_error_class::abortable)  ... abort_transaction, then go on
//   if (ec == kwire::txn_error_class::fatal)      ... close the producer (fenced is one of these)
//
// The classes follow the Java client's handling of each error (KIP-1050); a call-order mistake
// (txn_errc) is in none of them: it leaves the producer as it was.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace kwire::client {

enum class txn_errc {
    ok = 0,
    not_transactional = 1,    ///< the producer has no transactional.id
    not_initialized,          ///< init_transactions has not completed
    no_transaction,           ///< no transaction is open (begin_transaction first)
    transaction_in_progress,  ///< a transaction is already open
    operation_in_progress,    ///< another transactional call has not completed
    must_abort,               ///< the transaction failed earlier (a record or a call): abort it
    aborted,                  ///< a record of a transaction that was aborted before it was sent
};

/// What a caller does about an error from a transactional call.
enum class txn_error_class {
    retriable = 1,  ///< nothing was lost: the same call may be made again
    abortable,      ///< the open transaction cannot commit: abort it, then go on
    fatal,          ///< the producer cannot go on: close it (fenced, unauthorized, a broken invariant)
    fenced,         ///< fatal because another producer with the same transactional.id took over
};

const std::error_category& txn_category() noexcept;
const std::error_category& txn_error_class_category() noexcept;

inline std::error_code make_error_code(txn_errc e) noexcept { return {static_cast<int>(e), txn_category()}; }
inline std::error_condition make_error_condition(txn_error_class c) noexcept {
    return {static_cast<int>(c), txn_error_class_category()};
}

/// What a transactional producer commits offsets for (KIP-447): the consumer's group and its
/// membership at the time, so that the group coordinator refuses the offsets of a consumer that
/// has been replaced (a zombie) -- consumer::group_metadata() gives it.
struct consumer_group_metadata {
    std::string group_id;
    std::int32_t generation_id = -1;  ///< -1: no generation check (a consumer outside a group)
    std::string member_id;
    std::optional<std::string> group_instance_id;
};

/// The class of an error from a transactional call: fatal for fenced errors too (the condition
/// `fenced` is the narrower test); none for success and for a txn_errc call-order mistake.
std::optional<txn_error_class> classify_transaction_error(const std::error_code& ec) noexcept;

}  // namespace kwire::client

namespace kwire {
using client::consumer_group_metadata;
using client::txn_errc;
using client::txn_error_class;
}  // namespace kwire

template <> struct std::is_error_code_enum<kwire::client::txn_errc> : std::true_type {};
template <> struct std::is_error_condition_enum<kwire::client::txn_error_class> : std::true_type {};
