#include "tests/integration/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace gk::test {

namespace {

std::vector<char*> cstrs(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int shell_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

} // namespace

std::string kernel_binary() { return GK_BINARY; }
std::string rootfs_dir() { return GK_ROOTFS; }
std::string guest_program(const std::string& name) { return rootfs_dir() + "/" + name; }
std::string default_rootfs_dir() { return GK_DEFAULT_ROOTFS; }

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> default_guest_env() {
  return {"HOME=/", "TERM=linux", "PATH=/sbin:/bin:/usr/sbin:/usr/bin"};
}

std::vector<std::string> guest_cmd(const std::string& backend, const std::vector<std::string>& extra,
                                   const std::vector<std::string>& prog) {
  std::vector<std::string> v = {kernel_binary(), "--mmu=" + backend};
  v.insert(v.end(), extra.begin(), extra.end());
  v.push_back("--");
  v.insert(v.end(), prog.begin(), prog.end());
  return v;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& o) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  std::vector<std::string> env = o.env.empty() ? default_guest_env() : o.env;
  auto a = cstrs(argv);
  auto e = cstrs(env);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    // Descriptors the test process inherited (from make, a CI runner) would
    // show up in native runs' /proc/self/fd: start with 0, 1 and 2 only.
    close_range(3, ~0U, 0);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!o.stdin_data.empty()) {
    ssize_t w = write(in[1], o.stdin_data.data(), o.stdin_data.size());
    (void)w;
  }
  close(in[1]);
  RunResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, left) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, size_t(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  r.status = timed_out ? -2 : shell_status(st);
  return r;
}

pid_t start(const std::vector<std::string>& argv) {
  auto a = cstrs(argv);
  auto e = cstrs(default_guest_env());
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  return pid;
}

void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

std::vector<pid_t> leftover_processes(int grace_ms) {
  std::vector<pid_t> alive;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  for (;;) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {}
    alive.clear();
    DIR* d = opendir("/proc");
    while (dirent* de = readdir(d)) {
      pid_t pid = atoi(de->d_name);
      if (pid <= 0) continue;
      // The process may vanish while we read (ESRCH): that is not a leftover.
      std::string all;
      if (FILE* f = fopen(("/proc/" + std::string(de->d_name) + "/stat").c_str(), "re")) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        all.assign(buf, n);
        fclose(f);
      }
      auto rp = all.rfind(')');
      if (rp == std::string::npos) continue;
      char state;
      int ppid;
      if (sscanf(all.c_str() + rp + 2, "%c %d", &state, &ppid) == 2 && ppid == getpid() && state != 'Z')
        alive.push_back(pid);
    }
    closedir(d);
    if (alive.empty() || std::chrono::steady_clock::now() > deadline) return alive;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

} // namespace gk::test
