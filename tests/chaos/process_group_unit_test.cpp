// The member processes of the group chaos scenarios (support_process_group.hpp) on their own.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "support_process_group.hpp"

namespace kwire::test {
namespace {

using namespace std::chrono_literals;

TEST(ChildProcess, InheritsNoDescriptorButTheStandardThree) {
    // Opened as Asio and the scripted brokers open theirs: without close-on-exec. A member that
    // inherited the proxy's sockets kept every connection the proxy "reset" open until it exited.
    const int socket = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(socket, 3);
    std::set<std::string> open;
    {
        child_process child({"/bin/sh", "-c", "ls /proc/$$/fd"});
        ASSERT_EQ(child.wait(5000ms), 0);
        // The child is gone; its reader thread takes what is left in the pipe.
        for (std::size_t seen = 0, stable = 0; stable < 20; seen = child.line_count()) {
            std::this_thread::sleep_for(5ms);
            stable = child.line_count() == seen && seen >= 3 ? stable + 1 : 0;
        }
        for (const auto& line : child.lines()) open.insert(line.text);
    }
    ::close(socket);
    EXPECT_TRUE(open.count("0") && open.count("1") && open.count("2")) << open.size();
    EXPECT_FALSE(open.count(std::to_string(socket))) << "the test's socket reached the child";
}

}  // namespace
}  // namespace kwire::test
