// The system-wide files of /proc, in Linux's formats, from the guest's own
// figures: its memory is --mem, its CPU time is its processes' host
// children's, its boot is the kernel's start.
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/procfs/figures.h"
#include "guestkernel/procfs/proc_entries.h"

namespace gk::procfs {

namespace {

std::string g_cpuinfo; // one CPU's block, read from the host at start

std::string kb_line(const char* label, uint64_t kb) { return fmt::format("{:<16}{:>8} kB\n", label, kb); }

int64_t meminfo(Kernel& k, std::string& s) {
  const mm::PhysMem& pm = k.physmem();
  const mm::BuddyAllocator& b = pm.buddy();
  uint64_t total = pm.bytes() >> 10, free = b.free_frames() * 4;
  uint64_t cached = b.count_kind(mm::FrameKind::PageCache) * 4;
  uint64_t anon = b.count_kind(mm::FrameKind::Anon) * 4;
  uint64_t tables = b.count_kind(mm::FrameKind::PageTable) * 4;
  uint64_t committed = 0; // private writable mappings, as Linux's Committed_AS counts them
  for (auto& [pid, p] : k.processes()) {
    Task* t = p->leader();
    if (p->zombie || !t || !t->mm) continue;
    for (auto& [start, v] : t->mm->as->vmas())
      if ((v.prot & PROT_WRITE) && !(v.flags & mm::Vma::kShared)) committed += v.length() >> 10;
  }
  const std::pair<const char*, uint64_t> lines[] = {
      {"MemTotal:", total}, {"MemFree:", free}, {"MemAvailable:", free + cached}, {"Buffers:", 0},
      {"Cached:", cached}, {"SwapCached:", 0}, {"Active:", anon + cached}, {"Inactive:", 0},
      {"Active(anon):", anon}, {"Inactive(anon):", 0}, {"Active(file):", cached}, {"Inactive(file):", 0},
      {"Unevictable:", 0}, {"Mlocked:", 0}, {"SwapTotal:", 0}, {"SwapFree:", 0}, {"Dirty:", 0},
      {"Writeback:", 0}, {"AnonPages:", anon}, {"Mapped:", cached}, {"Shmem:", 0}, {"KReclaimable:", 0},
      {"Slab:", 0}, {"SReclaimable:", 0}, {"SUnreclaim:", 0}, {"KernelStack:", 0}, {"PageTables:", tables},
      {"NFS_Unstable:", 0}, {"Bounce:", 0}, {"WritebackTmp:", 0}, {"CommitLimit:", total / 2},
      {"Committed_AS:", committed}, {"VmallocTotal:", 34359738367ULL}, {"VmallocUsed:", 0}, {"VmallocChunk:", 0},
      {"Percpu:", 0}, {"AnonHugePages:", 0}, {"ShmemHugePages:", 0}, {"ShmemPmdMapped:", 0},
      {"FileHugePages:", 0}, {"FilePmdMapped:", 0}};
  for (auto& [label, kb] : lines) s += kb_line(label, kb);
  for (const char* h : {"HugePages_Total:", "HugePages_Free:", "HugePages_Rsvd:", "HugePages_Surp:"})
    s += fmt::format("{:<16}{:>8}\n", h, 0);
  s += kb_line("Hugepagesize:", 2048);
  s += kb_line("Hugetlb:", 0);
  s += kb_line("DirectMap4k:", total);
  return 0;
}

// Seconds.hundredths, truncated, as Linux prints uptime.
std::string centi(uint64_t ns) { return fmt::format("{}.{:02}", ns / 1000000000ULL, ns / 10000000ULL % 100); }

uint64_t idle_ns(Kernel& k) {
  uint64_t up = uptime_ns(k), busy = total_cpu_ns(k);
  return up > busy ? up - busy : 0; // one guest CPU
}

int64_t uptime(Kernel& k, std::string& s) {
  s = centi(uptime_ns(k)) + " " + centi(idle_ns(k)) + "\n";
  return 0;
}

int64_t stat(Kernel& k, std::string& s) {
  uint64_t user = total_cpu_ns(k) / kNsPerTick, idle = idle_ns(k) / kNsPerTick;
  std::string times = fmt::format("{} 0 0 {} 0 0 0 0 0 0\n", user, idle);
  s = "cpu  " + times + "cpu0 " + times;
  const KernelStats& st = k.stats();
  uint64_t switches = st.fault_stops + st.preemptions;
  for (uint64_t n : st.syscalls) switches += n;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t boot = uint64_t(now.tv_sec) - uptime_ns(k) / 1000000000ULL;
  s += fmt::format("intr 0\nctxt {}\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked {}\n", switches, boot,
                   k.last_pid(), running_tasks(k), blocked_tasks(k));
  s += "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
  return 0;
}

int64_t loadavg(Kernel& k, std::string& s) {
  LoadAvg l = load_average();
  auto two = [](double v) {
    uint64_t c = uint64_t(v * 100 + 0.5);
    return fmt::format("{}.{:02}", c / 100, c % 100);
  };
  s = fmt::format("{} {} {} {}/{} {}\n", two(l.one), two(l.five), two(l.fifteen), running_tasks(k), k.task_count(),
                  k.last_pid());
  return 0;
}

int64_t filesystems(std::string& s) {
  for (auto& t : vfs::fs_types()) s += "nodev\t" + t + "\n";
  return 0;
}

int64_t version(std::string& s) {
  s = version_banner() + "\n";
  return 0;
}

// Spaces, tabs, newlines and backslashes in mount paths, as Linux escapes them.
std::string mangle(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') out += fmt::format("\\{:03o}", unsigned(uint8_t(c)));
    else out += c;
  }
  return out;
}

std::string mount_options(const vfs::Mount& m) {
  std::string o = m.read_only() ? "ro" : "rw";
  if (m.flags & MS_NOSUID) o += ",nosuid";
  if (m.flags & MS_NODEV) o += ",nodev";
  if (m.flags & MS_NOEXEC) o += ",noexec";
  if (m.flags & MS_SYNCHRONOUS) o += ",sync";
  if (m.flags & MS_NOATIME) o += ",noatime";
  else o += ",relatime";
  return o;
}

// Visits each mount the reader whose root is `root` can see, with where it is.
template <class F>
void each_visible_mount(Kernel& k, const vfs::Path& root, F f) {
  const auto& all = k.vfs().mounts();
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& m = all[i];
    vfs::Path at{m, m->root};
    std::string where;
    if (root.valid() ? !vfs::Vfs::path_of(at, root, where) : (where = vfs::absolute_path(at), false)) continue;
    size_t parent = i;
    for (size_t j = 0; j < all.size(); ++j)
      if (all[j] == m->parent) parent = j;
    f(*m, i, parent, where);
  }
}

} // namespace

int64_t mounts_text(Kernel& k, const vfs::Path& root, std::string& out) {
  each_visible_mount(k, root, [&](const vfs::Mount& m, size_t, size_t, const std::string& where) {
    std::string src = m.fs->source.empty() ? "none" : m.fs->source;
    out += fmt::format("{} {} {} {} 0 0\n", mangle(src), mangle(where), m.fs->type(), mount_options(m));
  });
  return 0;
}

int64_t mountinfo_text(Kernel& k, const vfs::Path& root, std::string& out) {
  constexpr size_t kFirstId = 21; // ids as Linux's look; the root mount's parent is 20
  each_visible_mount(k, root, [&](const vfs::Mount& m, size_t i, size_t parent, const std::string& where) {
    std::string src = m.fs->source.empty() ? "none" : m.fs->source;
    size_t pid = m.parent ? kFirstId + parent : kFirstId - 1;
    out += fmt::format("{} {} {}:{} / {} {} - {} {} {}\n", kFirstId + i, pid, major(m.fs->dev), minor(m.fs->dev),
                       mangle(where), mount_options(m), m.fs->type(), mangle(src), m.fs->read_only ? "ro" : "rw");
  });
  return 0;
}

void read_host_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, block;
  while (std::getline(in, line) && !line.empty()) {
    std::string key = line.substr(0, line.find(':'));
    key.erase(key.find_last_not_of(" \t") + 1);
    // One guest CPU: its numbering and topology say so.
    static const std::pair<const char*, const char*> one_cpu[] = {
        {"processor", "0"}, {"physical id", "0"}, {"siblings", "1"}, {"core id", "0"},
        {"cpu cores", "1"}, {"apicid", "0"}, {"initial apicid", "0"}};
    for (auto& [k, v] : one_cpu)
      if (key == k) line = line.substr(0, line.find(':') + 1) + " " + v;
    block += line + "\n";
  }
  if (block.empty()) block = "processor\t: 0\nvendor_id\t: unknown\nmodel name\t: unknown\n";
  g_cpuinfo = block + "\n";
}

void system_entries(ProcFs& fs, std::vector<Entry>& out) {
  Kernel& k = fs.kernel();
  auto add = [&](const char* name, Generator g) { out.push_back(file_entry(fs, {}, "", name, 0444, std::move(g))); };
  add("meminfo", [&k](std::string& s) { return meminfo(k, s); });
  add("stat", [&k](std::string& s) { return stat(k, s); });
  add("uptime", [&k](std::string& s) { return uptime(k, s); });
  add("loadavg", [&k](std::string& s) { return loadavg(k, s); });
  add("cpuinfo", [](std::string& s) {
    s = g_cpuinfo;
    return int64_t(0);
  });
  add("version", [](std::string& s) { return version(s); });
  add("cmdline", [&k](std::string& s) { // the kernel's own command line, as the host started it
    s = k.options().command_line() + "\n";
    return int64_t(0);
  });
  add("filesystems", [](std::string& s) { return filesystems(s); });
  add("swaps", [](std::string& s) {
    s = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    return int64_t(0);
  });
  // /proc/mounts is a link to self/mounts on Linux: the reader's view.
  out.push_back(link_entry(fs, {}, "", "mounts", [](std::string& s) {
    s = "self/mounts";
    return int64_t(0);
  }));
}

} // namespace gk::procfs
