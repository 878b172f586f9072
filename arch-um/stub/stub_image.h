// The stub executable, carried inside the kernel binary and exec'd from a
// sealed memfd, so a build tree or install location never matters.
#pragma once

namespace gk::stub {
// A sealed, close-on-exec memfd holding the stub image (created once).
int image_fd();
}
