// AF_UNIX connections (stream and seqpacket connect) and stream data: a
// byte stream cut into messages of at most half the send buffer, read
// back glued together - except across different credentials (when they
// are asked for) and after a message that carried files.
#include <algorithm>

#include "guestkernel/kernel.h"
#include "guestkernel/net/unix_sock.h"

namespace gk::net {

namespace {
constexpr size_t kMaxStreamSkb = 3776 + 32768; // SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ
const Ucred kNoCred{0, 65534, 65534};        // a message sent without credentials (overflow ids)

bool same_cred(const std::optional<Ucred>& a, const std::optional<Ucred>& b) {
  Ucred x = a.value_or(kNoCred), y = b.value_or(kNoCred);
  return x.pid == y.pid && x.uid == y.uid && x.gid == y.gid;
}
} // namespace

int64_t UnixSock::stream_connect(IoCtx& io, const std::string& addr, bool nonblock) {
  if (addr.size() <= 2 || addr.size() > sizeof(sockaddr_un) || addr[0] != AF_UNIX || addr[1] != 0) return -EINVAL;
  if (passcred && addr_.empty())
    if (int64_t r = autobind()) return r;
  Timeout t = snd_timeout(nonblock);
  std::shared_ptr<UnixSock> other;
  for (;;) {
    if (int64_t r = find_other(io, addr, type, other)) return r;
    if (other->state_ != State::Listen || (other->shutdown_bits & kRcvShutdown)) return -ECONNREFUSED;
    if (!other->recvq_full()) break;
    // The backlog is full: wait for an accept (or give up).
    if (t.expired) return -EAGAIN;
    other->add_peer_waiter(*this);
    if (int64_t r = sleep(io, t); r && r != -EAGAIN) return r;
  }
  if (state_ != State::Close) return state_ == State::Established ? -EISCONN : -EINVAL;
  // The server end, queued on the listener until accept(2) gives it a file.
  auto server = std::make_shared<UnixSock>(type);
  server->peer_ = self();
  server->state_ = State::Established;
  server->passcred = other->passcred;
  server->peercred = peer_cred(io);
  server->addr_ = other->addr_;
  server->path_ = other->path_;
  peercred = other->peercred;
  state_ = State::Established;
  peer_ = server;
  auto skb = std::make_unique<UnixSkb>();
  skb->embryo = std::move(server);
  other->enqueue(std::move(skb));
  return 0;
}

int64_t UnixSock::stream_sendmsg(IoCtx& io, SendArgs& a) {
  if (a.flags & MSG_OOB) return -EOPNOTSUPP; // no out-of-band data (CONFIG_AF_UNIX_OOB)
  if (!a.to.empty()) return state_ == State::Established ? -EISCONN : -EOPNOTSUPP;
  std::shared_ptr<UnixSock> other = peer_;
  if (!other) return -ENOTCONN;
  size_t len = a.data.left(), sent = 0;
  bool broken = shutdown_bits & kSendShutdown;
  Timeout t = snd_timeout(a.flags & MSG_DONTWAIT);
  while (!broken && sent < len) {
    size_t size = std::min({len - sent, size_t(sndbuf / 2 - 64), kMaxStreamSkb});
    std::unique_ptr<UnixSkb> skb;
    int64_t r = wait_for_send_space(io, t);
    if (!r) r = new_skb(a.data, size, skb);
    if (r) return sent ? int64_t(sent) : r;
    skb->cred = a.control.creds;
    if (sent == 0) skb->files = std::move(a.control.files); // files go with the first piece
    maybe_add_creds(*skb, *other, io);
    if (other->dead_ || (other->shutdown_bits & kRcvShutdown)) {
      broken = true;
      break;
    }
    other->enqueue(std::move(skb));
    sent += size;
  }
  if (!broken) return int64_t(sent);
  if (!sent && !(a.flags & MSG_NOSIGNAL)) io.kernel.send_sigpipe(io.task);
  return sent ? int64_t(sent) : -EPIPE;
}

int64_t UnixSock::stream_recvmsg(IoCtx& io, RecvArgs& a) {
  if (state_ != State::Established) return -EINVAL;
  if (a.flags & MSG_OOB) return -EOPNOTSUPP;
  const bool peek = a.flags & MSG_PEEK;
  size_t size = a.data.left();
  size_t target = std::max<size_t>((a.flags & MSG_WAITALL) ? size : std::min(size_t(rcvlowat), size), 1);
  Timeout t = rcv_timeout(a.flags & MSG_DONTWAIT);
  std::optional<Ucred> cred;
  bool check_creds = false, got_cred = false;
  std::vector<std::shared_ptr<File>> files;
  int64_t copied = 0, err = 0;
  size_t at = 0; // MSG_PEEK: the message looked at next
  for (;;) {
    if (dead_) {
      err = -ECONNRESET;
      break;
    }
    UnixSkb* skb = at < queue_.size() ? queue_[at].get() : nullptr;
    if (!skb) {
      if (copied >= int64_t(target)) break;
      if (int e = take_error()) { // reported before the end of input, as POSIX wants
        err = -e;
        break;
      }
      if (shutdown_bits & kRcvShutdown) break;
      if (t.expired) {
        err = -EAGAIN;
        break;
      }
      if (int64_t r = sleep(io, t); r && r != -EAGAIN) return copied ? copied : r;
      at = 0; // look again from the start, as Linux's redo
      continue;
    }
    if (check_creds) {
      if (!same_cred(skb->cred, cred)) break; // never glue messages of different writers
    } else if (passcred) {
      cred = skb->cred;
      check_creds = got_cred = true;
    }
    if (skb->sender) a.from = skb->sender->addr_;
    size_t chunk = std::min(skb->left(), size);
    if (a.data.put(skb->data.data() + skb->consumed, chunk)) {
      if (!copied) copied = -EFAULT;
      break;
    }
    copied += int64_t(chunk);
    size -= chunk;
    if (!peek) {
      skb->consumed += chunk;
      bool had_files = !skb->files.empty();
      if (had_files) files = std::move(skb->files);
      if (skb->left()) break;
      queue_.pop_front();
      if (had_files) break;
    } else {
      if (!skb->files.empty()) {
        files = skb->files; // a peek passes copies of the files
        break;
      }
      if (++at >= queue_.size()) break;
      continue;
    }
    if (!size) break;
  }
  if (passcred) a.control.creds = got_cred ? cred.value_or(kNoCred) : Ucred{0, 0, 0};
  a.control.files = std::move(files);
  return copied ? copied : err;
}

} // namespace gk::net
