// The host terminal under the guest console: raw while the guest runs, its
// own settings back however the kernel ends (return from main, exit, a
// fatal error, SIGTERM/SIGINT/SIGHUP and the other terminating signals;
// SIGKILL cannot be caught). Stopping the kernel (SIGTSTP) restores them
// too, and continuing it goes raw again.
#pragma once

namespace gk::drivers::host_terminal {

// Raw mode on the terminal `fd` (if the kernel is its foreground process):
// no echo, no line editing, no signal keys, no output processing — the
// guest's line discipline does all of that. The kernel's own messages on
// stderr still get "\r\n" line ends. False if the terminal was left as is.
bool enter_raw(int fd);
// Back to the saved settings (idempotent, async-signal-safe).
void restore();

} // namespace gk::drivers::host_terminal
