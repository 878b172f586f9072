// Futex wake-ups the rest of the kernel needs (thread exit).
#pragma once
#include <cstdint>

namespace gk {
class Kernel;
struct Task;
// Wakes up to n waiters on the futex word at user address `uaddr` of t's mm.
int futex_wake(Kernel& k, Task& t, uint64_t uaddr, int n);
// Walks t's robust list at thread exit: marks held locks FUTEX_OWNER_DIED.
void robust_list_cleanup(Kernel& k, Task& t);
} // namespace gk
