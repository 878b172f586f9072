// Root file systems, under each MMU backend:
//  - `--rootfs-ro /`: the host's own dynamic programs (ls, cat, sort, sh, ...)
//    see a tree exactly as natively; writes land in the overlay, are seen
//    by the same guest run, and leave the host tree unchanged (even atimes);
//  - `--rootfs DIR`: symlinks that try to leave DIR resolve inside it, as in
//    a native chroot, and a file next to DIR is neither read nor changed;
//  - path errnos (ELOOP, ENOENT, ENOTDIR, ...) and the *at/cwd/metadata rules
//    (rootfs/programs/confine.c and fsat.c) equal a native run.
//
// Scratch trees live next to the kernel binary, not in /tmp: the guest
// mounts its own tmpfs on /tmp, which would hide them.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;
namespace fs = std::filesystem;

namespace {

constexpr time_t kTreeTime = 1000000000;

void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

// Reads without touching the file's atime (we are root or its owner).
std::string read_noatime(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC);
  if (fd < 0) return "(unreadable)";
  std::string s;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
  close(fd);
  return s;
}

// Every file below `dir`, one sorted line each: type, mode, owner, size,
// content hash or link target, and with `times` the mtime and (for all but
// symlinks, whose atime readlink touches) the atime, in nanoseconds.
// Directories are listed through O_NOATIME descriptors, so looking changes nothing.
void snapshot_into(const std::string& dir, const std::string& rel, bool times, std::vector<std::string>& out) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOATIME | O_CLOEXEC);
  DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!d) {
    out.push_back(rel + " (unlistable)");
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.push_back(e->d_name);
  closedir(d);
  for (const auto& n : names) {
    std::string path = dir + "/" + n, r = rel + "/" + n;
    struct stat st;
    if (lstat(path.c_str(), &st)) {
      out.push_back(r + " (vanished)");
      continue;
    }
    std::ostringstream line;
    line << r << " mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid << " gid=" << st.st_gid;
    if (S_ISREG(st.st_mode))
      line << " size=" << st.st_size << " data=" << std::hash<std::string>{}(read_noatime(path));
    if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(path).string();
    if (times) {
      line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
      if (!S_ISLNK(st.st_mode)) line << " atime=" << st.st_atim.tv_sec << "." << st.st_atim.tv_nsec;
    }
    out.push_back(line.str());
    if (S_ISDIR(st.st_mode)) snapshot_into(path, r, times, out);
  }
}

std::string snapshot(const std::string& dir, bool times = true) {
  std::vector<std::string> lines;
  snapshot_into(dir, "", times, lines);
  std::sort(lines.begin(), lines.end());
  std::string s;
  for (auto& l : lines) s += l + "\n";
  return s;
}

// Sets atime and mtime of everything below (and including) `dir` to `t`.
void set_times(const std::string& dir, time_t t) {
  timespec ts[2] = {{t, 0}, {t, 0}};
  for (auto& e : fs::recursive_directory_iterator(dir))
    utimensat(AT_FDCWD, e.path().c_str(), ts, AT_SYMLINK_NOFOLLOW);
  utimensat(AT_FDCWD, dir.c_str(), ts, 0);
}

// The tree the host's programs look at (and the write script changes).
void make_host_tree(const std::string& t) {
  fs::create_directories(t + "/sub/deeper");
  fs::create_directories(t + "/gone/inner");
  fs::create_directories(t + "/dir");
  write_file(t + "/a.txt", "alpha\nbeta\ngamma\n");
  write_file(t + "/b.txt", "the b file\n");
  write_file(t + "/words", "pear\napple\nzucchini\nbanana\napple\nCherry\n42\n");
  write_file(t + "/exec.sh", "#!/bin/sh\necho exec.sh ran with \"$@\"\n", 0755);
  write_file(t + "/ro.txt", "read only\n", 0444);
  write_file(t + "/sub/c.txt", "see\n");
  write_file(t + "/sub/deleted", "delete me\n");
  write_file(t + "/sub/deeper/d.txt", "deep\n");
  write_file(t + "/gone/inner/x", "x\n");
  write_file(t + "/dir/y", "y\n");
  std::string big;
  uint32_t x = 12345;
  for (int i = 0; i < 300000; ++i) big += char((x = x * 1103515245 + 12345) >> 24);
  write_file(t + "/big.bin", big);
  fs::create_symlink("a.txt", t + "/link");
  fs::create_symlink("nowhere", t + "/dangling");
  fs::create_symlink("sub", t + "/dirlink");
  fs::create_hard_link(t + "/a.txt", t + "/hard");
  set_times(t, kTreeTime);
}

// Confinement: DIR = base/root full of escaping symlinks, base/secret next to it.
void make_confine_tree(const std::string& base, const std::string& prog) {
  std::string r = base + "/root";
  fs::create_directories(r + "/etc");
  fs::create_directories(r + "/sub");
  write_file(base + "/secret", "TOP SECRET\n", 0600);
  // An atime before the mtime: any read (relatime) would move it.
  timespec ts[2] = {{kTreeTime, 0}, {kTreeTime + 100, 0}};
  utimensat(AT_FDCWD, (base + "/secret").c_str(), ts, 0);
  fs::copy_file(prog, r + "/confine");
  chmod((r + "/confine").c_str(), 0755);
  write_file(r + "/inside", "inside\n");
  write_file(r + "/etc/passwd", "guest passwd\n");
  write_file(r + "/sub/file", "sub file\n");
  const std::pair<const char*, const char*> links[] = {
      {"esc_etc", "/../../../../etc/"},   {"esc_passwd_rel", "../../../../../../etc/passwd"},
      {"esc_passwd_abs", "/etc/passwd"},   {"up", ".."},
      {"sub/up2", "../.."},                {"sub/deep", "../../../../../../../.."},
      {"secret_rel", "../secret"},         {"secret_rel2", "../../secret"},
      {"secret_abs", "/../secret"},        {"loop1", "loop2"},
      {"loop2", "loop1"},                  {"self", "self"},
      {"sub/cyc", "../sub/cyc"},           {"sub/back", ".."},
      {"dangling", "nonexistent"},         {"wfile_esc", "../../outside_created"},
  };
  for (auto [name, target] : links) fs::create_symlink(target, r + "/" + name);
  char n[8], t[8];
  for (int i = 0; i < 40; ++i) { // c00 -> ... -> c39 -> inside: 40 links
    snprintf(n, sizeof n, "c%02d", i);
    snprintf(t, sizeof t, "c%02d", i + 1);
    fs::create_symlink(i == 39 ? "inside" : t, r + "/" + n);
  }
  for (int i = 0; i < 41; ++i) { // d00 -> ... -> d40 -> inside: 41 links
    snprintf(n, sizeof n, "d%02d", i);
    snprintf(t, sizeof t, "d%02d", i + 1);
    fs::create_symlink(i == 40 ? "inside" : t, r + "/" + n);
  }
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

class RootFs : public GuestTest {
protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (native chroot runs)";
  }
  std::string make_scratch(const std::string& tag) { return scratch_dir("rootfs-" + tag); }
  RunResult guest(const std::vector<std::string>& kernel_args, const std::vector<std::string>& prog) {
    return run(guest_cmd(GetParam(), kernel_args, prog));
  }
};

TEST_P(RootFs, HostProgramsSeeATreeAsNatively) {
  std::string t = make_scratch("view") + "/tree";
  make_host_tree(t);
  const std::vector<std::vector<std::string>> cmds = {
      {"/bin/ls", "-la", "--time-style=+%s", t},
      {"/bin/ls", "-lRi", "--time-style=+%s", t},
      {"/bin/cat", t + "/a.txt", t + "/sub/c.txt", t + "/link", t + "/dirlink/deeper/d.txt"},
      {"/usr/bin/sort", t + "/words"},
      {"/usr/bin/sort", "-r", "-u", t + "/words"},
      {"/usr/bin/sha256sum", t + "/big.bin", t + "/hard"},
      {"/usr/bin/stat", "-c", "%n %F %s %a %h %i %u %g %Y", t + "/a.txt", t + "/hard", t + "/link", t + "/sub",
       t + "/ro.txt", t + "/exec.sh"},
      {"/bin/sh", "-c", "cd \"$0\" && find . | sort && ./exec.sh one two && wc -l words && cat dangling; echo $?", t},
  };
  std::vector<RunResult> native;
  for (auto& c : cmds) native.push_back(run(c));
  std::string before = snapshot(t);
  for (size_t i = 0; i < cmds.size(); ++i) {
    RunResult g = guest({"--rootfs-ro", "/"}, cmds[i]);
    EXPECT_EQ(g.status, native[i].status) << cmds[i][0] << "\n" << g.err;
    EXPECT_EQ(g.out, native[i].out) << cmds[i][0] << " " << cmds[i][1] << "\n" << g.err;
  }
  EXPECT_EQ(snapshot(t), before) << "the guest changed the host tree (atimes included)";
}

TEST_P(RootFs, WritesLandInTheOverlayAndTheHostTreeStaysUnchanged) {
  std::string base = make_scratch("write");
  std::string t = base + "/tree", copy = base + "/copy";
  make_host_tree(t);
  ASSERT_EQ(run({"/bin/cp", "-a", t, copy}).status, 0);
  // Every kind of change; what it prints must be what it prints natively on the copy.
  const std::string script = R"SH(cd "$0" || exit 9
echo new > newfile
i1=$(stat -c %i a.txt)
echo more >> a.txt
[ "$i1" = "$(stat -c %i a.txt)" ] && echo a.txt keeps its inode number
mkdir newdir && echo inner > newdir/inner
rm sub/deleted
rm -r gone
mv b.txt b2.txt
mv dir dir2
chmod 600 ro.txt
ln -s a.txt newlink
ln newfile newhard
touch -d @1234567890 exec.sh
truncate -s 10 words
cat newfile a.txt newhard newlink newdir/inner b2.txt dir2/y words; echo
ls -a . sub dir2
stat -c '%n %a %s %h' ro.txt newfile newhard words exec.sh
stat -c '%n %Y' exec.sh ro.txt b2.txt
test -e sub/deleted || echo sub/deleted is gone
rmdir sub/deeper || echo rmdir of a non-empty dir fails
rm sub/deeper/d.txt && rmdir sub/deeper && echo rmdir ok
mkdir sub/deeper && ls -a sub/deeper
echo x > sub/deeper/d.txt && cat sub/deeper/d.txt
mv newdir newdir2 && ls newdir2
rm a.txt && cat link; echo "link: $?"
ln sub/c.txt sub/c-hard && stat -c '%n %h' sub/c.txt sub/c-hard
echo over > o && mv o big.bin && cat big.bin
mv exec.sh sub/exec-moved && ./sub/exec-moved after changes
ls . sub
rm -r sub && ls
mkdir sub && ls -a sub
)SH";
  RunResult native = run({"/bin/sh", "-c", script, copy});
  ASSERT_EQ(native.status, 0) << native.err;
  std::string before = snapshot(t);
  RunResult g = guest({"--rootfs-ro", "/"}, {"/bin/sh", "-c", script, t});
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, native.out) << g.err;
  EXPECT_EQ(snapshot(t), before) << "the guest changed the host tree";
}

// tests/integration/fs_random_ops.py, run by the host's python3: random
// creates, writes, removals, renames, links and chmods over a lower tree
// must give the same results and final state as natively over a copy.
TEST_P(RootFs, RandomFileOperationsOverTheOverlayEqualNative) {
  if (access("/usr/bin/python3", X_OK)) GTEST_SKIP() << "no /usr/bin/python3";
  std::string base = make_scratch("random");
  std::string t = base + "/tree";
  fs::create_directories(t + "/a/b");
  fs::create_directories(t + "/c/d/e");
  write_file(t + "/a/x", "1\n");
  write_file(t + "/b", "2\n");
  write_file(t + "/a/b/c", "3\n");
  write_file(t + "/c/d/e/a", "4\n");
  fs::create_symlink("a", t + "/d");
  set_times(t, kTreeTime);
  std::string script = std::string(GK_SOURCE) + "/tests/integration/fs_random_ops.py";
  for (const std::string seed : {"1", "2", "3"}) {
    std::string copy = base + "/copy" + seed;
    ASSERT_EQ(run({"/bin/cp", "-a", t, copy}).status, 0);
    RunResult native = run({"/usr/bin/python3", script, copy, seed, "400"});
    ASSERT_EQ(native.status, 0) << native.err;
    std::string before = snapshot(t);
    RunResult g = guest({"--rootfs-ro", "/"}, {"/usr/bin/python3", script, t, seed, "400"});
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, native.out) << "seed " << seed << "\n" << g.err;
    EXPECT_EQ(snapshot(t), before) << "the guest changed the host tree";
  }
}

TEST_P(RootFs, SymlinksCannotLeaveTheRootfsDirectory) {
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string nb = make_scratch("confine-native-" + libc), gb = make_scratch("confine-guest-" + libc),
                ob = make_scratch("confine-overlay-" + libc);
    for (auto& b : {nb, gb, ob}) make_confine_tree(b, guest_program("confine-" + libc));
    RunResult native = run({"/usr/sbin/chroot", nb + "/root", "/confine"});
    ASSERT_EQ(native.status, 0) << native.out << native.err;

    // Read-write hostfs: the same answers and the same changes as in the chroot.
    RunResult g = guest({"--rootfs", gb + "/root"}, {"/confine"});
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, native.out) << g.err;
    EXPECT_EQ(snapshot(gb + "/root", false), snapshot(nb + "/root", false)) << "writes landed elsewhere than natively";
    EXPECT_EQ(names_in(gb), (std::vector<std::string>{"root", "secret"})) << "a file appeared outside the rootfs";
    struct stat st;
    ASSERT_EQ(stat((gb + "/secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_atim.tv_sec, kTreeTime) << "the secret next to the rootfs was read";
    EXPECT_EQ(st.st_mtim.tv_sec, kTreeTime + 100) << "the secret next to the rootfs was written";
    EXPECT_EQ(read_noatime(gb + "/secret"), "TOP SECRET\n");

    // Read-only hostfs under the overlay: the same answers, and nothing changes on the host.
    std::string ro_before = snapshot(ob);
    RunResult o = guest({"--rootfs-ro", ob + "/root"}, {"/confine"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, native.out) << o.err;
    EXPECT_EQ(snapshot(ob), ro_before) << "the overlay's guest changed its read-only tree";
  }
}

TEST_P(RootFs, AtCallsCwdAndMetadataRulesEqualNativeOnOverlayAndHostfs) {
  for (const std::string libc : {"musl", "glibc"}) {
    SCOPED_TRACE(libc);
    std::string prog = guest_program("fsat-" + libc);
    RunResult native = run({prog, make_scratch("fsat-native-" + libc)});
    ASSERT_EQ(native.status, 0) << native.out << native.err;

    std::string lower = make_scratch("fsat-overlay-" + libc);
    RunResult o = guest({"--rootfs-ro", "/"}, {prog, lower});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, native.out) << "over the overlay\n" << o.err;
    EXPECT_EQ(names_in(lower), std::vector<std::string>{}) << "the overlay wrote to the host";

    std::string root = make_scratch("fsat-hostfs-" + libc);
    fs::copy_file(prog, root + "/fsat");
    fs::create_directory(root + "/w");
    RunResult h = guest({"--rootfs", root}, {"/fsat", "/w"});
    EXPECT_EQ(h.status, 0) << h.err;
    EXPECT_EQ(h.out, native.out) << "over hostfs\n" << h.err;
  }
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Backends, RootFs, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
