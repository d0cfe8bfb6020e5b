// The classic group protocol's error rules (classify_group_error), as the Java client applies
// them: which errors retry, rediscover the coordinator, rejoin, reset the membership, or stop.
#include <gtest/gtest.h>

#include "group/group_errors.hpp"

namespace {

using kwire::client::detail::classify_group_error;
using kwire::client::detail::group_action;
using kwire::client::detail::group_api;

constexpr group_api every_api[] = {group_api::find_coordinator, group_api::join, group_api::sync, group_api::heartbeat,
                                   group_api::commit, group_api::offset_fetch, group_api::leave};

TEST(GroupErrors, SuccessIsNothingToDo) {
    for (const auto api : every_api) EXPECT_EQ(classify_group_error(api, 0, false), group_action::none);
}

TEST(GroupErrors, ALostConnectionOrAMovedCoordinatorMeansFindItAgain) {
    for (const auto api : every_api) {
        EXPECT_EQ(classify_group_error(api, 0, true), group_action::rediscover_coordinator);
        EXPECT_EQ(classify_group_error(api, 15, false), group_action::rediscover_coordinator);  // COORDINATOR_NOT_AVAILABLE
        EXPECT_EQ(classify_group_error(api, 16, false), group_action::rediscover_coordinator);  // NOT_COORDINATOR
    }
}

TEST(GroupErrors, LoadingCoordinatorsAndTimeoutsAreRetried) {
    for (const auto api : every_api) {
        EXPECT_EQ(classify_group_error(api, 14, false), group_action::retry);  // COORDINATOR_LOAD_IN_PROGRESS
        EXPECT_EQ(classify_group_error(api, 7, false), group_action::retry);   // REQUEST_TIMED_OUT
    }
}

TEST(GroupErrors, RebalanceInProgressMeansJoinExceptForAJoinStillCollecting) {
    EXPECT_EQ(classify_group_error(group_api::join, 27, false), group_action::retry);
    EXPECT_EQ(classify_group_error(group_api::sync, 27, false), group_action::rejoin);
    EXPECT_EQ(classify_group_error(group_api::heartbeat, 27, false), group_action::rejoin);
    EXPECT_EQ(classify_group_error(group_api::commit, 27, false), group_action::rejoin);
}

TEST(GroupErrors, AGoneMembershipIsResetExceptWhenLeavingOrReading) {
    for (const std::int16_t e : {std::int16_t{22}, std::int16_t{25}}) {  // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
        EXPECT_EQ(classify_group_error(group_api::join, e, false), group_action::reset_and_rejoin);
        EXPECT_EQ(classify_group_error(group_api::sync, e, false), group_action::reset_and_rejoin);
        EXPECT_EQ(classify_group_error(group_api::heartbeat, e, false), group_action::reset_and_rejoin);
        EXPECT_EQ(classify_group_error(group_api::commit, e, false), group_action::reset_and_rejoin);
        EXPECT_EQ(classify_group_error(group_api::leave, e, false), group_action::none);
        EXPECT_EQ(classify_group_error(group_api::offset_fetch, e, false), group_action::fail_request);
    }
}

TEST(GroupErrors, MemberIdRequiredMeansJoinAgainWithTheGivenId) {
    EXPECT_EQ(classify_group_error(group_api::join, 79, false), group_action::rejoin_with_member_id);
}

TEST(GroupErrors, FencedStaticMembersAndAuthorizationFailuresStop) {
    EXPECT_EQ(classify_group_error(group_api::join, 82, false), group_action::fatal);       // FENCED_INSTANCE_ID
    EXPECT_EQ(classify_group_error(group_api::heartbeat, 82, false), group_action::fatal);
    EXPECT_EQ(classify_group_error(group_api::commit, 82, false), group_action::fatal);
    EXPECT_EQ(classify_group_error(group_api::leave, 82, false), group_action::none);
    EXPECT_EQ(classify_group_error(group_api::join, 30, false), group_action::fatal);       // GROUP_AUTHORIZATION_FAILED
    EXPECT_EQ(classify_group_error(group_api::join, 26, false), group_action::fatal);       // INVALID_SESSION_TIMEOUT
    EXPECT_EQ(classify_group_error(group_api::join, 23, false), group_action::fatal);       // INCONSISTENT_GROUP_PROTOCOL
}

TEST(GroupErrors, PerPartitionCommitProblemsFailTheCommitOnly) {
    EXPECT_EQ(classify_group_error(group_api::commit, 12, false), group_action::fail_request);  // OFFSET_METADATA_TOO_LARGE
    EXPECT_EQ(classify_group_error(group_api::commit, 29, false), group_action::fail_request);  // TOPIC_AUTHORIZATION_FAILED
    EXPECT_EQ(classify_group_error(group_api::commit, 3, false), group_action::retry);          // UNKNOWN_TOPIC_OR_PARTITION
}

}  // namespace
