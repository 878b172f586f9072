// futex(2): wait queues keyed by address. Private futexes are keyed by
// (address space, virtual address); shared ones by guest physical address,
// so processes sharing a MAP_SHARED page meet on the same key.
#include <linux/futex.h>
#include <sys/syscall.h>

#include <list>
#include <map>

#include "guestkernel/futex.h"
#include "guestkernel/kernel.h"
#include "guestkernel/syscalls/syscall.h"

namespace gk {

namespace {

struct Key {
  const void* space; // MmContext for private futexes, nullptr for physical keys
  uint64_t addr;
  auto operator<=>(const Key&) const = default;
};

struct Waiter {
  Task* task;
  Key key;
  uint32_t bitset;
  bool woken = false;
};

std::map<Key, std::list<Waiter*>>& table() {
  static std::map<Key, std::list<Waiter*>> t;
  return t;
}

int64_t make_key(Task& t, uint64_t uaddr, bool priv, Key& key) {
  if (uaddr & 3) return -EINVAL;
  if (priv) {
    key = {t.mm.get(), uaddr};
    return 0;
  }
  uint32_t probe;
  if (t.mm->as->copy_from_user(&probe, uaddr, 4)) return -EFAULT; // faults the page in
  uint64_t* e = t.mm->as->page_table().lookup(uaddr);
  if (!e || !(*e & mm::pte::P)) return -EFAULT;
  key = {nullptr, (mm::pte::pfn(*e) << 12) | (uaddr & 0xfff)};
  return 0;
}

int wake_key(Kernel& k, const Key& key, int n, uint32_t bitset) {
  auto it = table().find(key);
  if (it == table().end()) return 0;
  int woken = 0;
  for (auto w = it->second.begin(); w != it->second.end() && woken < n;) {
    if (!((*w)->bitset & bitset)) {
      ++w;
      continue;
    }
    (*w)->woken = true;
    k.wake(*(*w)->task);
    w = it->second.erase(w);
    ++woken;
  }
  if (it->second.empty()) table().erase(it);
  return woken;
}

void unqueue(Waiter& w) {
  auto it = table().find(w.key);
  if (it == table().end()) return;
  it->second.remove(&w);
  if (it->second.empty()) table().erase(it);
}

int64_t futex_wait(SyscallCtx& c, uint64_t uaddr, uint32_t val, int64_t deadline, uint32_t bitset, bool priv) {
  if (!bitset) return -EINVAL;
  Key key;
  if (int64_t r = make_key(c.task, uaddr, priv, key)) return r;
  uint32_t cur;
  if (c.mm().copy_from_user(&cur, uaddr, 4)) return -EFAULT;
  if (cur != val) return -EAGAIN;
  Waiter w{&c.task, key, bitset};
  table()[key].push_back(&w);
  WakeReason why = c.kernel.block(c.task, nullptr, deadline, true);
  if (w.woken) return 0;
  unqueue(w);
  if (why == WakeReason::Timeout) return -ETIMEDOUT;
  return kErestartSys;
}

int64_t timeout_deadline(SyscallCtx& c, uint64_t uts, bool absolute, bool realtime, int64_t& deadline) {
  deadline = -1;
  if (!uts) return 0;
  timespec ts;
  if (c.mm().copy_from_user(&ts, uts, sizeof ts)) return -EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return -EINVAL;
  int64_t ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  int64_t now = int64_t(Kernel::now_ns());
  if (!absolute) {
    deadline = now + ns;
  } else if (realtime) {
    timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    deadline = now + (ns - (rt.tv_sec * 1000000000LL + rt.tv_nsec));
  } else {
    deadline = ns;
  }
  if (deadline < 0) deadline = 0;
  return 0;
}

int64_t requeue(SyscallCtx& c, uint64_t uaddr, int nwake, int nrequeue, uint64_t uaddr2, bool priv) {
  Key k1, k2;
  if (int64_t r = make_key(c.task, uaddr, priv, k1)) return r;
  if (int64_t r = make_key(c.task, uaddr2, priv, k2)) return r;
  int done = wake_key(c.kernel, k1, nwake, FUTEX_BITSET_MATCH_ANY);
  auto it = table().find(k1);
  int moved = 0;
  if (it != table().end() && k1 != k2) {
    auto& dst = table()[k2];
    while (!it->second.empty() && moved < nrequeue) {
      Waiter* w = it->second.front();
      it->second.pop_front();
      w->key = k2;
      dst.push_back(w);
      ++moved;
    }
    if (it->second.empty()) table().erase(it);
    if (dst.empty()) table().erase(k2);
  }
  return done + moved;
}

int64_t wake_op(SyscallCtx& c, uint64_t uaddr, int nwake, int nwake2, uint64_t uaddr2, uint32_t val3, bool priv) {
  Key k1, k2;
  if (int64_t r = make_key(c.task, uaddr, priv, k1)) return r;
  if (int64_t r = make_key(c.task, uaddr2, priv, k2)) return r;
  uint32_t op = (val3 >> 28) & 7, cmp = (val3 >> 24) & 15, oparg = (val3 >> 12) & 0xfff, cmparg = val3 & 0xfff;
  if ((val3 >> 28) & 8) oparg = 1u << (oparg & 31);
  uint32_t old;
  if (c.mm().copy_from_user(&old, uaddr2, 4)) return -EFAULT;
  uint32_t nv;
  switch (op) {
  case FUTEX_OP_SET: nv = oparg; break;
  case FUTEX_OP_ADD: nv = old + oparg; break;
  case FUTEX_OP_OR: nv = old | oparg; break;
  case FUTEX_OP_ANDN: nv = old & ~oparg; break;
  case FUTEX_OP_XOR: nv = old ^ oparg; break;
  default: return -ENOSYS;
  }
  if (c.mm().copy_to_user(uaddr2, &nv, 4)) return -EFAULT;
  int64_t woken = wake_key(c.kernel, k1, nwake, FUTEX_BITSET_MATCH_ANY);
  int32_t o = int32_t(old), a = int32_t(cmparg);
  bool hit;
  switch (cmp) {
  case FUTEX_OP_CMP_EQ: hit = o == a; break;
  case FUTEX_OP_CMP_NE: hit = o != a; break;
  case FUTEX_OP_CMP_LT: hit = o < a; break;
  case FUTEX_OP_CMP_LE: hit = o <= a; break;
  case FUTEX_OP_CMP_GT: hit = o > a; break;
  case FUTEX_OP_CMP_GE: hit = o >= a; break;
  default: return -ENOSYS;
  }
  if (hit) woken += wake_key(c.kernel, k2, nwake2, FUTEX_BITSET_MATCH_ANY);
  return woken;
}

int64_t sys_futex(SyscallCtx& c, const SyscallArgs& a) {
  uint64_t uaddr = a.a[0];
  int op = int(a.a[1]);
  bool priv = op & FUTEX_PRIVATE_FLAG;
  bool realtime = op & FUTEX_CLOCK_REALTIME;
  int cmd = op & FUTEX_CMD_MASK;
  uint32_t val = uint32_t(a.a[2]);
  uint32_t val3 = uint32_t(a.a[5]);
  int64_t deadline;
  switch (cmd) {
  case FUTEX_WAIT:
    if (int64_t r = timeout_deadline(c, a.a[3], false, false, deadline)) return r;
    return futex_wait(c, uaddr, val, deadline, FUTEX_BITSET_MATCH_ANY, priv);
  case FUTEX_WAIT_BITSET:
    if (int64_t r = timeout_deadline(c, a.a[3], true, realtime, deadline)) return r;
    return futex_wait(c, uaddr, val, deadline, val3, priv);
  case FUTEX_WAKE:
  case FUTEX_WAKE_BITSET: {
    uint32_t bits = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
    if (!bits) return -EINVAL;
    Key k;
    if (int64_t r = make_key(c.task, uaddr, priv, k)) return r;
    return wake_key(c.kernel, k, int(std::min<uint32_t>(val, INT32_MAX)), bits);
  }
  case FUTEX_REQUEUE:
    return requeue(c, uaddr, int(val), int(a.a[3]), a.a[4], priv);
  case FUTEX_CMP_REQUEUE: {
    uint32_t cur;
    if (c.mm().copy_from_user(&cur, uaddr, 4)) return -EFAULT;
    if (cur != val3) return -EAGAIN;
    return requeue(c, uaddr, int(val), int(a.a[3]), a.a[4], priv);
  }
  case FUTEX_WAKE_OP:
    return wake_op(c, uaddr, int(val), int(a.a[3]), a.a[4], val3, priv);
  default:
    return -ENOSYS; // PI futexes
  }
}

} // namespace

int futex_wake(Kernel& k, Task& t, uint64_t uaddr, int n) {
  Key priv{t.mm.get(), uaddr}, shared;
  int woken = wake_key(k, priv, n, FUTEX_BITSET_MATCH_ANY);
  if (woken < n && make_key(t, uaddr, false, shared) == 0) woken += wake_key(k, shared, n - woken, FUTEX_BITSET_MATCH_ANY);
  return woken;
}

void robust_list_cleanup(Kernel& k, Task& t) {
  // struct robust_list_head { next; long futex_offset; list_op_pending; }
  if (!t.robust_list) return;
  mm::AddressSpace& as = *t.mm->as;
  uint64_t head[3];
  if (as.copy_from_user(head, t.robust_list, sizeof head)) return;
  auto handle = [&](uint64_t entry) {
    uint64_t uaddr = entry + head[1];
    uint32_t word;
    if (as.copy_from_user(&word, uaddr, 4)) return;
    if ((word & FUTEX_TID_MASK) != uint32_t(t.tid)) return;
    word = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (as.copy_to_user(uaddr, &word, 4)) return;
    if (word & FUTEX_WAITERS) futex_wake(k, t, uaddr, 1);
  };
  uint64_t entry = head[0];
  for (int limit = 0; entry && entry != t.robust_list && limit < 2048; ++limit) {
    uint64_t next;
    if (as.copy_from_user(&next, entry, 8)) break;
    if (entry != head[2]) handle(entry);
    entry = next;
  }
  if (head[2]) handle(head[2]);
}

void register_futex_syscalls(SyscallTable& t) {
  t.add(SYS_futex, sys_futex, "xxuxxx");
}

} // namespace gk
