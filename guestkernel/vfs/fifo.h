// Named pipes: a FIFO node on any file system opens onto one Pipe shared by
// everyone who has it open; the Pipe goes when the last end closes, as on
// Linux. Opening one end waits for the other unless O_NONBLOCK.
#pragma once
#include <memory>

#include "guestkernel/vfs/file.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::vfs {

int64_t open_fifo(IoCtx& io, const Path& node, int flags, std::shared_ptr<File>& out);

} // namespace gk::vfs
