// Sockets, under each MMU backend:
//  - the unixsock guest program (rootfs/programs/unixsock.c: AF_UNIX stream,
//    datagram and seqpacket sockets, path and abstract names, SCM_RIGHTS and
//    SCM_CREDENTIALS, options, readiness) prints the same in the guest as
//    natively (both libcs), with its socket nodes on the guest's tmpfs, in
//    the overlay of a read-only root and on a writable hostfs (which keeps
//    nothing once the program has unlinked them);
//  - the host's python3 (socket, multiprocessing.connection, asyncio) prints
//    the same as natively;
//  - busybox syslogd receives logger's message over /dev/log;
//  - families the guest has no stack for are EAFNOSUPPORT (busybox nc and
//    ip say so), and no socket call is reported as unimplemented.
//
// Scratch trees live next to the kernel binary, as rootfs_test's do.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUnimplemented = "unimplemented syscall";

class Net : public GuestTest {
protected:
  std::string dir(const std::string& tag) { return scratch_dir("net-" + tag); }

  RunResult native_unixsock(const std::string& libc) {
    return run({guest_program("unixsock-" + libc), dir("native-" + libc)});
  }

  // `program` in the default rootfs, read-only with the overlay on top.
  RunResult in_default_root(const std::vector<std::string>& program) {
    return run(guest_cmd(GetParam(), {"--rootfs-ro", default_rootfs_dir()}, program));
  }

  void expect_same(const RunResult& g, const RunResult& native, const std::string& what) {
    EXPECT_EQ(g.status, native.status) << what << "\n" << g.err;
    EXPECT_EQ(g.out, native.out) << what << "\n" << g.err;
    EXPECT_EQ(g.err.find(kUnimplemented), std::string::npos) << what << "\n" << g.err;
  }
};

} // namespace

TEST_P(Net, UnixSocketsOnTheGuestsTmpfsAndInTheOverlayBehaveAsNatively) {
  for (const std::string libc : {"musl", "glibc"}) {
    RunResult native = native_unixsock(libc);
    ASSERT_EQ(native.status, 0) << "unixsock-" << libc << " fails natively:\n" << native.out << native.err;
    for (const std::string where : {"/tmp", "/root"})
      expect_same(in_default_root({"/opt/gk/unixsock-" + libc, where}), native, "unixsock-" + libc + " in " + where);
  }
}

TEST_P(Net, UnixSocketNodesOnAWritableHostfsBehaveAsNativelyAndLeaveNothing) {
  for (const std::string libc : {"musl", "glibc"}) {
    RunResult native = native_unixsock(libc);
    ASSERT_EQ(native.status, 0) << native.out << native.err;
    std::string root = dir("root-" + libc);
    fs::create_directories(root + "/bin");
    fs::create_directories(root + "/data");
    fs::create_directories(root + "/proc");
    fs::copy_file(guest_program("unixsock-" + libc), root + "/bin/unixsock");
    RunResult g = run(guest_cmd(GetParam(), {"--rootfs", root}, {"/bin/unixsock", "/data"}));
    expect_same(g, native, "unixsock-" + libc + " on hostfs");
    EXPECT_EQ(listing(root + "/data"), std::vector<std::string>{}) << "socket nodes left on the host";
  }
}

TEST_P(Net, HostPython3SocketsMultiprocessingAndAsyncioAsNatively) {
  if (access("/usr/bin/python3", X_OK)) GTEST_SKIP() << "no /usr/bin/python3";
  std::string script = std::string(GK_SOURCE) + "/tests/integration/unix_socket_check.py";
  RunResult native = run({"/usr/bin/python3", script});
  ASSERT_EQ(native.status, 0) << native.out << native.err;
  RunResult g = run(guest_cmd(GetParam(), {}, {"/usr/bin/python3", script}));
  expect_same(g, native, "python3");
}

TEST_P(Net, BusyboxSyslogdGetsLoggersMessageOverDevLog) {
  RunResult g = in_default_root(
      {"/bin/sh", "-c",
       "syslogd -n -O /tmp/log & until [ -S /dev/log ]; do sleep 0.05; done; logger -t gk hello from logger; "
       "until grep -q hello /tmp/log; do sleep 0.05; done; kill $!; wait; "
       "sed 's/.* guestkernel //' /tmp/log; ls -l /dev/log | cut -c1"});
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "syslog.info syslogd started: BusyBox v1.35.0\n"
                   "user.notice gk: hello from logger\n"
                   "syslog.info syslogd exiting\n"
                   "s\n")
      << g.err;
  EXPECT_EQ(g.err.find(kUnimplemented), std::string::npos) << g.err;
}

// A kernel built without IP, netlink or packet sockets answers so.
TEST_P(Net, OtherFamiliesAreRefusedAsByAKernelWithoutThem) {
  RunResult g = in_default_root({"/opt/gk/unixsock-musl", "families"});
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "socket(AF_INET): EAFNOSUPPORT\n"
                   "socket(AF_INET6): EAFNOSUPPORT\n"
                   "socket(AF_NETLINK): EAFNOSUPPORT\n"
                   "socket(AF_PACKET): EAFNOSUPPORT\n"
                   "socketpair(AF_INET): EAFNOSUPPORT\n");
  g = in_default_root({"/bin/sh", "-c", "nc -w1 127.0.0.1 1; echo $?; ip addr; echo $?"});
  EXPECT_EQ(g.out, "1\n1\n") << g.err;
  EXPECT_EQ(g.err, "nc: socket: Address family not supported by protocol\n"
                   "ip: socket: Address family not supported by protocol\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, Net, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
