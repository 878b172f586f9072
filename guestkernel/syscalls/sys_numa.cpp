// get_mempolicy(2) and set_mempolicy(2) on a machine with one NUMA node,
// node 0, with Linux's checks in Linux's order (mm/mempolicy.c). The guest
// has one node because its memory is one memfd: every policy places pages
// the same way, but a program sees the policy it set, and a mask naming
// only absent nodes is refused as on a real one-node machine.
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>

#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"
#include "mm/address_space.h"

namespace gk {

namespace {

enum : int { kDefault, kPreferred, kBind, kInterleave, kLocal, kPreferredMany, kModeMax };
constexpr int kStaticNodes = 1 << 15, kRelativeNodes = 1 << 14, kNumaBalancing = 1 << 13;
constexpr int kModeFlags = kStaticNodes | kRelativeNodes | kNumaBalancing;
constexpr uint64_t kGetNode = 1, kGetAddr = 2, kGetMemsAllowed = 4;
constexpr uint64_t kMaxNumNodes = 1024, kPageBits = 4096 * 8;

using NodeMask = std::array<uint64_t, kMaxNumNodes / 64>;

bool empty(const NodeMask& m) {
  return std::all_of(m.begin(), m.end(), [](uint64_t w) { return w == 0; });
}

// get_nodes: the first `maxnode` bits at `umask`; bits past MAX_NUMNODES must be 0.
int64_t read_nodes(SyscallCtx& c, uint64_t umask, uint64_t maxnode, NodeMask& out) {
  out.fill(0);
  if (maxnode == 0 || umask == 0) return 0;
  if (maxnode > kPageBits) return -EINVAL;
  for (uint64_t bit = kMaxNumNodes; bit < maxnode; bit += 64) {
    uint64_t w;
    if (c.mm().copy_from_user(&w, umask + bit / 8, 8)) return -EFAULT;
    uint64_t valid = maxnode - bit >= 64 ? ~0ULL : (1ULL << (maxnode - bit)) - 1;
    if (w & valid) return -EINVAL;
  }
  uint64_t bits = std::min(maxnode, kMaxNumNodes);
  size_t words = (bits + 63) / 64;
  if (c.mm().copy_from_user(out.data(), umask, words * 8)) return -EFAULT;
  if (bits % 64) out[words - 1] &= (1ULL << (bits % 64)) - 1;
  return 0;
}

// copy_nodes_to_user: as many bytes as `maxnode` bits take; past the
// machine's one word of nodes, zeros.
int64_t write_nodes(SyscallCtx& c, uint64_t umask, uint64_t maxnode, const NodeMask& m) {
  uint64_t bytes = ((maxnode - 1 + 63) / 64) * 8;
  if (bytes > 8) {
    if (bytes > 4096) return -EINVAL;
    std::vector<uint8_t> zeros(bytes - 8);
    if (c.mm().copy_to_user(umask + 8, zeros.data(), zeros.size())) return -EFAULT;
    bytes = 8;
  }
  return bytes && c.mm().copy_to_user(umask, m.data(), bytes) ? -EFAULT : 0;
}

int64_t sys_set_mempolicy(SyscallCtx& c, const SyscallArgs& a) {
  int mode = int(a.a[0]), flags = mode & kModeFlags;
  mode &= ~kModeFlags;
  if (unsigned(mode) >= kModeMax) return -EINVAL;
  if ((flags & kStaticNodes) && (flags & kRelativeNodes)) return -EINVAL;
  if ((flags & kNumaBalancing) && mode != kBind) return -EINVAL;
  NodeMask nodes;
  if (int64_t r = read_nodes(c, a.a[1], a.a[2], nodes)) return r;
  Task::MemPolicy& pol = c.task.mempolicy;
  if (mode == kDefault) {
    if (!empty(nodes)) return -EINVAL;
    pol = {};
    return 0;
  }
  bool user_mask = flags & (kStaticNodes | kRelativeNodes);
  if (mode == kPreferred && empty(nodes)) {
    if (user_mask) return -EINVAL;
    mode = kLocal;
  } else if (mode == kLocal) {
    if (!empty(nodes) || user_mask) return -EINVAL;
  } else if (empty(nodes)) {
    return -EINVAL;
  }
  // The nodes in effect: the mask and node 0, or any bit folded onto the
  // one node (MPOL_F_RELATIVE_NODES); none is an error.
  if (mode != kLocal && !(nodes[0] & 1) && !(flags & kRelativeNodes)) return -EINVAL;
  pol.mode = mode;
  pol.flags = flags;
  pol.user_nodes = nodes;
  return 0;
}

int64_t sys_get_mempolicy(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t upolicy = a.a[0], umask = a.a[1], maxnode = a.a[2], addr = a.a[3], flags = a.a[4];
  if (flags & ~(kGetNode | kGetAddr | kGetMemsAllowed)) return -EINVAL;
  if (umask && maxnode < 1) return -EINVAL; // fewer bits than the machine has nodes
  NodeMask nodes{};
  int value = 0;
  if (flags & kGetMemsAllowed) {
    if (flags & (kGetNode | kGetAddr)) return -EINVAL;
    nodes[0] = 1;
  } else {
    // A VMA has no policy of its own here (no mbind): at an address, the default.
    const Task::MemPolicy def{}, &task = c.task.mempolicy;
    const Task::MemPolicy* pol = &task;
    if (flags & kGetAddr) {
      if (!c.mm().vmas().find(addr)) return -EFAULT;
      pol = &def;
    } else if (addr) {
      return -EINVAL;
    }
    if (flags & kGetNode) {
      if (!(flags & kGetAddr) && pol->mode != kInterleave) return -EINVAL;
      value = 0; // the node of the page, or the next interleave node: the only one
    } else {
      value = pol->mode | pol->flags;
    }
    if (pol->flags & (kStaticNodes | kRelativeNodes)) nodes = pol->user_nodes;
    else if (pol->mode != kDefault && pol->mode != kLocal) nodes[0] = 1;
  }
  if (upolicy && c.mm().copy_to_user(upolicy, &value, sizeof value)) return -EFAULT;
  return umask ? write_nodes(c, umask, maxnode, nodes) : 0;
}

} // namespace

void register_numa_syscalls(SyscallTable& t) {
  t.add(SYS_set_mempolicy, sys_set_mempolicy, "dxu");
  t.add(SYS_get_mempolicy, sys_get_mempolicy, "xxuxx");
}

} // namespace gk
