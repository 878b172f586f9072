// AF_UNIX names. A path name is a socket node made in the guest VFS by the
// normal create path (mknod with S_IFSOCK, so it shows in ls and stat and
// unlink removes it) and found again by the guest's path walk, with its
// permission checks; the socket is bound to the node's inode (st_dev,
// st_ino), which it keeps alive while bound. An abstract name (a leading
// NUL) lives in a table of its own, one name space per socket type.
#include <fcntl.h>

#include <cstdio>
#include <map>

#include "guestkernel/kernel.h"
#include "guestkernel/net/unix_sock.h"
#include "guestkernel/vfs/fs_ops.h"

namespace gk::net {

namespace {

struct NameTables {
  std::map<std::pair<int, std::string>, std::weak_ptr<UnixSock>> abstract; // (type, sockaddr bytes)
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<UnixSock>> paths;      // the bound node's inode
};

NameTables& tables() {
  static NameTables t;
  return t;
}

// The file name in a path address: sun_path up to its first NUL.
std::string path_of(const std::string& addr) {
  std::string p = addr.substr(offsetof(sockaddr_un, sun_path));
  return p.substr(0, p.find('\0'));
}

vfs::OpCtx op_ctx(IoCtx& io) {
  Process& p = *io.task.proc;
  return vfs::OpCtx{io.kernel.vfs(), *p.fs, p.creds, p.fs->cwd};
}

int64_t inode_key(const vfs::Path& p, std::pair<dev_t, ino_t>& key) {
  struct stat st;
  if (int64_t r = p.inode().getattr(st)) return r;
  key = {st.st_dev, st.st_ino};
  return 0;
}

template <typename Map, typename Key> bool taken(Map& m, const Key& k) {
  auto it = m.find(k);
  return it != m.end() && !it->second.expired();
}

} // namespace

int64_t UnixSock::bind(IoCtx& io, const std::string& addr) {
  constexpr size_t kFamilyOnly = offsetof(sockaddr_un, sun_path);
  if (addr.size() == kFamilyOnly && addr[0] == AF_UNIX && addr[1] == 0) return autobind();
  if (addr.size() <= kFamilyOnly || addr.size() > sizeof(sockaddr_un) || addr[0] != AF_UNIX || addr[1] != 0)
    return -EINVAL;
  return addr[kFamilyOnly] ? bind_path(io, addr) : bind_abstract(addr);
}

int64_t UnixSock::bind_path(IoCtx& io, const std::string& addr) {
  std::string path = path_of(addr);
  vfs::OpCtx op = op_ctx(io);
  vfs::Path node;
  // The node is made first (its errors come first), as Linux does.
  if (int64_t r = vfs::mknod(op, path, S_IFSOCK | 0777, 0, &node)) return r == -EEXIST ? -EADDRINUSE : r;
  std::pair<dev_t, ino_t> key;
  int64_t r = addr_.empty() ? inode_key(node, key) : -EINVAL;
  if (r) {
    vfs::unlink(op, path);
    return r;
  }
  tables().paths[key] = self();
  path_key_ = key;
  addr_ = addr.substr(0, offsetof(sockaddr_un, sun_path)) + path + '\0';
  path_ = std::move(node);
  names_owner_ = true;
  return 0;
}

int64_t UnixSock::bind_abstract(const std::string& addr) {
  if (!addr_.empty()) return -EINVAL;
  auto key = std::make_pair(type, addr);
  if (taken(tables().abstract, key)) return -EADDRINUSE;
  tables().abstract[key] = self();
  addr_ = addr;
  names_owner_ = true;
  return 0;
}

int64_t UnixSock::autobind() {
  if (!addr_.empty()) return 0;
  // Five hex digits after the NUL, the next free one in order.
  static uint32_t ordernum = 0;
  for (uint32_t tries = 0; tries < 0x100000; ++tries) {
    ordernum = (ordernum + 1) & 0xFFFFF;
    char digits[8];
    snprintf(digits, sizeof digits, "%05x", ordernum);
    std::string name{char(AF_UNIX), 0, 0};
    name += digits;
    if (!taken(tables().abstract, std::make_pair(type, name))) return bind_abstract(name);
  }
  return -ENOSPC;
}

void UnixSock::unbind() {
  if (!names_owner_) return;
  names_owner_ = false;
  auto drop = [this](auto& map, const auto& key) {
    auto it = map.find(key);
    if (it != map.end() && (it->second.expired() || it->second.lock().get() == this)) map.erase(it);
  };
  if (path_.valid()) {
    drop(tables().paths, path_key_);
  } else {
    drop(tables().abstract, std::make_pair(type, addr_));
  }
}

int64_t UnixSock::find_other(IoCtx& io, const std::string& addr, int type, std::shared_ptr<UnixSock>& out) {
  if (!addr[offsetof(sockaddr_un, sun_path)]) {
    auto it = tables().abstract.find(std::make_pair(type, addr));
    out = it == tables().abstract.end() ? nullptr : it->second.lock();
    return out ? 0 : -ECONNREFUSED;
  }
  vfs::OpCtx op = op_ctx(io);
  vfs::Path node;
  if (int64_t r = op.vfs.resolve(op.walk(), op.start, path_of(addr), vfs::kFollow, node)) return r;
  if (int64_t r = vfs::permission(node.inode(), op.creds, 2)) return r; // connecting needs write permission
  if (!S_ISSOCK(node.inode().mode())) return -ECONNREFUSED;
  std::pair<dev_t, ino_t> key;
  if (int64_t r = inode_key(node, key)) return r;
  auto it = tables().paths.find(key);
  out = it == tables().paths.end() ? nullptr : it->second.lock();
  if (!out) return -ECONNREFUSED;
  return out->type == type ? 0 : -EPROTOTYPE;
}

} // namespace gk::net
