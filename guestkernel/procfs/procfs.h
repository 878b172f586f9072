// procfs: the guest's /proc, generated from the kernel's own state.
#pragma once

namespace gk {

class Kernel;

// Registers the "proc" file system type (the Kernel constructor calls it).
void register_procfs(Kernel& k);

} // namespace gk
