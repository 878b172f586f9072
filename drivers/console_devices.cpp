// /dev/console (5:1), /dev/ttyS0 (4:64: the console's own name, as the
// guest's first serial line) and /dev/tty (5:0): opens of the console
// (drivers/console.h) by the process making the call.
#include <sys/sysmacros.h>

#include "drivers/console.h"
#include "drivers/devfs.h"
#include "guestkernel/kernel.h"

namespace gk::drivers {

void register_console_devices(Kernel& k) {
  for (bool serial : {false, true})
    vfs::register_chrdev(serial ? makedev(4, 64) : makedev(5, 1),
                         [&k, serial](const vfs::Path& node, int flags, std::shared_ptr<File>& out) {
                           Task* t = k.current();
                           if (!t) return int64_t(-ENXIO);
                           out = console_file(*t->proc, flags, node, serial);
                           return int64_t(0);
                         });
  vfs::register_chrdev(makedev(5, 0), [&k](const vfs::Path& node, int flags, std::shared_ptr<File>& out) {
    Task* t = k.current();
    out = t ? controlling_tty_file(*t->proc, flags, node) : nullptr;
    return out ? int64_t(0) : int64_t(-ENXIO);
  });
}

} // namespace gk::drivers
