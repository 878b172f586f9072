// AF_UNIX datagrams (and seqpacket records, which travel the same way over
// a connection): connect sets the default destination, each send is one
// message, each receive takes one message whole or truncated.
#include <algorithm>

#include "guestkernel/kernel.h"
#include "guestkernel/net/unix_sock.h"

namespace gk::net {

namespace {
const Ucred kNoCred{0, 65534, 65534}; // a message sent without credentials (overflow ids)
} // namespace

int64_t UnixSock::dgram_connect(IoCtx& io, const std::string& addr) {
  if (addr.size() < 2) return -EINVAL;
  std::shared_ptr<UnixSock> other;
  if (addr[0] != AF_UNSPEC || addr[1] != 0) {
    if (addr.size() == 2 || addr.size() > sizeof(sockaddr_un) || addr[0] != AF_UNIX || addr[1] != 0) return -EINVAL;
    if (passcred && addr_.empty())
      if (int64_t r = autobind()) return r;
    if (int64_t r = find_other(io, addr, type, other)) return r;
    if (other->peer_ && other->peer_.get() != this) return -EPERM; // it takes messages from its peer only
    state_ = State::Established;
    other->state_ = State::Established;
  } // AF_UNSPEC: dissolve the association
  auto old = std::move(peer_);
  peer_ = other;
  if (!old) return 0;
  if (!other) state_ = State::Close;
  changed();
  if (other != old) {
    dgram_disconnected(*old);
    if (!old->peer_) old->state_ = State::Close;
  }
  return 0;
}

void UnixSock::dgram_disconnected(UnixSock& other) {
  if (queue_.empty()) return;
  queue_.clear();
  wake_peer_waiters();
  // One direction of a two-way pair is gone: the other learns it by an error.
  if (!other.dead_ && other.peer_.get() == this) {
    other.err = ECONNRESET;
    other.changed();
  }
}

int64_t UnixSock::dgram_sendmsg(IoCtx& io, SendArgs& a) {
  if (a.flags & MSG_OOB) return -EOPNOTSUPP;
  if (!a.to.empty() && (a.to.size() <= 2 || a.to.size() > sizeof(sockaddr_un) || a.to[0] != AF_UNIX || a.to[1] != 0))
    return -EINVAL;
  if (passcred && addr_.empty())
    if (int64_t r = autobind()) return r;
  size_t len = a.data.left();
  if (int64_t(len) > int64_t(sndbuf) - 32) return -EMSGSIZE;
  Timeout t = snd_timeout(a.flags & MSG_DONTWAIT);
  std::unique_ptr<UnixSkb> skb;
  if (int64_t r = wait_for_send_space(io, t)) return r;
  if (int64_t r = new_skb(a.data, len, skb)) return r;
  skb->cred = a.control.creds;
  skb->files = std::move(a.control.files);

  std::shared_ptr<UnixSock> other;
  Timeout qt = snd_timeout(a.flags & MSG_DONTWAIT);
  for (;;) {
    if (!other) { // find the receiver
      if (!a.to.empty()) {
        if (int64_t r = find_other(io, a.to, type, other)) return r;
      } else if (!(other = peer_)) {
        return -ENOTCONN;
      }
    }
    if (other->peer_ && other->peer_.get() != this) return -EPERM; // it takes messages from its peer only
    if (other->dead_) { // the receiver is gone (its name may be bound again since)
      if (type == SOCK_SEQPACKET) return -EPIPE;
      if (peer_ == other) {
        peer_ = nullptr;
        state_ = State::Close;
        changed();
        dgram_disconnected(*other);
        return -ECONNREFUSED;
      }
      if (a.to.empty()) return -ECONNRESET;
      other = nullptr;
      continue;
    }
    if (other->shutdown_bits & kRcvShutdown) return -EPIPE;
    // A receiver not connected back to us holds a limited queue.
    if (other.get() == this || other->peer_.get() == this || !other->recvq_full()) break;
    other->add_peer_waiter(*this);
    if (qt.expired) return -EAGAIN;
    if (int64_t r = sleep(io, qt); r && r != -EAGAIN) return r;
  }
  maybe_add_creds(*skb, *other, io);
  other->enqueue(std::move(skb));
  return int64_t(len);
}

int64_t UnixSock::dgram_recvmsg(IoCtx& io, RecvArgs& a) {
  if (a.flags & MSG_OOB) return -EOPNOTSUPP;
  Timeout t = rcv_timeout(a.flags & MSG_DONTWAIT);
  int64_t r = wait_for_skb(io, t);
  if (r <= 0) {
    // End of input on a non-blocking seqpacket socket whose peer is gone.
    if (type == SOCK_SEQPACKET && r == -EAGAIN && (shutdown_bits & kRcvShutdown)) return 0;
    return r;
  }
  const bool peek = a.flags & MSG_PEEK;
  std::unique_ptr<UnixSkb> owned;
  UnixSkb* skb = queue_.front().get();
  if (!peek) { // taken off the queue now: a copy that faults loses it
    owned = std::move(queue_.front());
    queue_.pop_front();
  }
  wake_peer_waiters();
  if (skb->sender) a.from = skb->sender->addr_;
  size_t len = skb->data.size(), size = a.data.left();
  if (size > len)
    size = len;
  else if (size < len)
    a.msg_flags |= MSG_TRUNC;
  if (a.data.put(skb->data.data(), size)) return -EFAULT;
  if (passcred) a.control.creds = skb->cred.value_or(kNoCred);
  a.control.files = peek ? skb->files : std::move(skb->files);
  return (a.flags & MSG_TRUNC) ? int64_t(len) : int64_t(size);
}

} // namespace gk::net
