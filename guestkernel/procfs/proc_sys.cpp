// /proc/sys: the kernel parameters programs read (and the hostname, which
// they may write).
#include <sys/random.h>

#include <tuple>

#include <fmt/format.h>

#include "guestkernel/kernel.h"
#include "guestkernel/procfs/proc_entries.h"

namespace gk::procfs {

namespace {

// A random UUID in the text form of /proc/sys/kernel/random/uuid.
std::string random_uuid() {
  uint8_t b[16];
  if (getrandom(b, sizeof b, 0) != sizeof b) return "00000000-0000-4000-8000-000000000000";
  b[6] = uint8_t((b[6] & 0x0f) | 0x40); // version 4
  b[8] = uint8_t((b[8] & 0x3f) | 0x80); // variant 1
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", b[i]);
  }
  return s;
}

Generator constant(std::string v) {
  return [v = std::move(v)](std::string& s) {
    s = v + "\n";
    return int64_t(0);
  };
}

Lister kernel_dir(ProcFs& fs) {
  Kernel& k = fs.kernel();
  return [&fs, &k](std::vector<Entry>& out) -> int64_t {
    const std::string d = "sys/kernel";
    // The UTS names, writable as proc_dostring does: up to a newline, at most 64 bytes.
    for (auto [name, get, set] : {std::tuple{"hostname", &Kernel::hostname, &Kernel::set_hostname},
                                  std::tuple{"domainname", &Kernel::domainname, &Kernel::set_domainname}})
      out.push_back(file_entry(
          fs, {}, d, name, 0644,
          [&k, get](std::string& s) {
            s = (k.*get)() + "\n";
            return int64_t(0);
          },
          [&k, set](std::string_view v) {
            v = v.substr(0, v.find_first_of("\n", 0));
            v = v.substr(0, v.find('\0'));
            (k.*set)(std::string(v.substr(0, 64)));
            return int64_t(0);
          }));
    out.push_back(file_entry(fs, {}, d, "osrelease", 0444, constant(kGuestRelease)));
    out.push_back(file_entry(fs, {}, d, "ostype", 0444, constant("Linux")));
    out.push_back(file_entry(fs, {}, d, "version", 0444, constant("#1 SMP guestkernel")));
    out.push_back(file_entry(fs, {}, d, "pid_max", 0644, constant("4194304")));
    out.push_back(file_entry(fs, {}, d, "threads-max", 0644, constant("512")));
    out.push_back(file_entry(fs, {}, d, "ngroups_max", 0444, constant("65536")));
    out.push_back(file_entry(fs, {}, d, "cap_last_cap", 0444, constant("40")));
    out.push_back(dir_entry(fs, {}, d, "random", 0555, [&fs](std::vector<Entry>& r) -> int64_t {
      static const std::string boot_id = random_uuid();
      const std::string rd = "sys/kernel/random";
      r.push_back(file_entry(fs, {}, rd, "boot_id", 0444, constant(boot_id)));
      r.push_back(file_entry(fs, {}, rd, "uuid", 0444, [](std::string& s) {
        s = random_uuid() + "\n";
        return int64_t(0);
      }));
      r.push_back(file_entry(fs, {}, rd, "entropy_avail", 0444, constant("256")));
      r.push_back(file_entry(fs, {}, rd, "poolsize", 0444, constant("256")));
      return 0;
    }));
    return 0;
  };
}

} // namespace

Entry sys_entry(ProcFs& fs) {
  return dir_entry(fs, {}, "", "sys", 0555, [&fs](std::vector<Entry>& out) -> int64_t {
    out.push_back(dir_entry(fs, {}, "sys", "kernel", 0555, kernel_dir(fs)));
    out.push_back(dir_entry(fs, {}, "sys", "vm", 0555, [&fs](std::vector<Entry>& v) -> int64_t {
      v.push_back(file_entry(fs, {}, "sys/vm", "overcommit_memory", 0644, constant("0")));
      v.push_back(file_entry(fs, {}, "sys/vm", "max_map_count", 0644, constant("65530")));
      v.push_back(file_entry(fs, {}, "sys/vm", "mmap_min_addr", 0644, constant("65536")));
      return 0;
    }));
    out.push_back(dir_entry(fs, {}, "sys", "fs", 0555, [&fs](std::vector<Entry>& v) -> int64_t {
      v.push_back(file_entry(fs, {}, "sys/fs", "nr_open", 0644, constant("1024")));
      v.push_back(file_entry(fs, {}, "sys/fs", "file-max", 0644, constant("9223372036854775807")));
      v.push_back(file_entry(fs, {}, "sys/fs", "pipe-max-size", 0644, constant("65536")));
      return 0;
    }));
    return 0;
  });
}

} // namespace gk::procfs
