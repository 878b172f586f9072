// devtmpfs and the character devices it holds.
#pragma once

namespace gk {
class Kernel;
}

namespace gk::drivers {

// Registers the devices (mem_devices.cpp, console_devices.cpp) and the
// "devtmpfs" file system type; the Kernel constructor calls it.
void register_devfs(Kernel& k);
void register_mem_devices();
void register_console_devices(Kernel& k);

} // namespace gk::drivers
