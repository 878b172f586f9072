// AF_UNIX: creation, socketpair, listen/accept, names of the ends,
// shutdown, release, readiness and the helpers the data paths share.
#include "guestkernel/net/unix_sock.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "guestkernel/kernel.h"

namespace gk::net {

namespace {
constexpr size_t kSkbOverhead = 576; // what Linux charges a buffer beyond its data (sk_buff, shared info)
} // namespace

UnixSkb::~UnixSkb() {
  if (sender) sender->uncharge(truesize);
}

int64_t UnixSock::create(int type, int protocol, std::shared_ptr<Sock>& out) {
  if (protocol && protocol != PF_UNIX) return -EPROTONOSUPPORT;
  switch (type) {
  case SOCK_STREAM:
  case SOCK_DGRAM:
  case SOCK_SEQPACKET: break;
  case SOCK_RAW: type = SOCK_DGRAM; break; // as BSD has it
  default: return -ESOCKTNOSUPPORT;
  }
  out = std::make_shared<UnixSock>(type);
  return 0;
}

void UnixSock::pair(UnixSock& a, UnixSock& b, const Ucred& creator) {
  a.peer_ = b.self();
  b.peer_ = a.self();
  a.peercred = b.peercred = creator;
  a.state_ = b.state_ = State::Established;
}

int64_t UnixSock::connect(IoCtx& io, const std::string& addr, bool nonblock) {
  return type == SOCK_DGRAM ? dgram_connect(io, addr) : stream_connect(io, addr, nonblock);
}

int64_t UnixSock::sendmsg(IoCtx& io, SendArgs& a) {
  if (type == SOCK_STREAM) return stream_sendmsg(io, a);
  if (type == SOCK_SEQPACKET) {
    if (int e = take_error()) return -e;
    if (state_ != State::Established) return -ENOTCONN;
    a.to.clear(); // a connected record stream ignores the address
  }
  return dgram_sendmsg(io, a);
}

int64_t UnixSock::recvmsg(IoCtx& io, RecvArgs& a) {
  if (type == SOCK_STREAM) return stream_recvmsg(io, a);
  if (type == SOCK_SEQPACKET && state_ != State::Established) return -ENOTCONN;
  return dgram_recvmsg(io, a);
}

int64_t UnixSock::listen(IoCtx& io, int backlog) {
  if (type != SOCK_STREAM && type != SOCK_SEQPACKET) return -EOPNOTSUPP;
  if (addr_.empty()) return -EINVAL; // no listening on an unbound socket
  if (state_ != State::Close && state_ != State::Listen) return -EINVAL;
  if (backlog > max_backlog_) wake_peer_waiters();
  max_backlog_ = backlog;
  state_ = State::Listen;
  peercred = peer_cred(io); // what connecting clients see as their peer
  return 0;
}

int64_t UnixSock::accept(IoCtx& io, bool nonblock, std::shared_ptr<Sock>& out) {
  if (type != SOCK_STREAM && type != SOCK_SEQPACKET) return -EOPNOTSUPP;
  if (state_ != State::Listen) return -EINVAL;
  Timeout t = rcv_timeout(nonblock);
  int64_t r = wait_for_skb(io, t);
  if (r <= 0) return r ? r : -EINVAL; // shut down for reading
  out = std::move(queue_.front()->embryo);
  queue_.pop_front();
  wake_peer_waiters(); // connectors waiting for room in the backlog
  return 0;
}

int64_t UnixSock::getname(bool peer, std::string& out) {
  const UnixSock* s = this;
  if (peer) {
    if (!peer_) return -ENOTCONN;
    s = peer_.get();
  }
  static const std::string unnamed{char(AF_UNIX), 0};
  out = s->addr_.empty() ? unnamed : s->addr_;
  return 0;
}

int64_t UnixSock::shutdown(int how) {
  if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
  unsigned mode = unsigned(how) + 1; // SHUT_RD..SHUT_RDWR -> receive, send, both
  shutdown_bits |= mode;
  changed();
  if (peer_ && type != SOCK_DGRAM) { // the other end of a connection stops the other way round
    unsigned peer_mode = ((mode & kRcvShutdown) ? kSendShutdown : 0) | ((mode & kSendShutdown) ? kRcvShutdown : 0);
    peer_->shutdown_bits |= peer_mode;
    peer_->changed();
  }
  return 0;
}

unsigned UnixSock::poll() {
  unsigned mask = 0;
  if (err) mask |= POLLERR;
  if (shutdown_bits == kShutdownMask) mask |= POLLHUP;
  if (shutdown_bits & kRcvShutdown) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (!queue_.empty()) mask |= POLLIN | POLLRDNORM;
  if (type != SOCK_DGRAM && state_ == State::Close) mask |= POLLHUP; // not connected (yet, or any more)
  bool out = writable();
  if (out && type != SOCK_STREAM && peer_ && peer_->peer_.get() != this && peer_->recvq_full() && !peer_->dead_) {
    peer_->add_peer_waiter(*this); // POLLOUT comes back when the receiver reads
    out = false;
  }
  if (out) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  return mask;
}

int64_t UnixSock::ioctl_value(unsigned long cmd) {
  switch (cmd) {
  case SIOCOUTQ: return int64_t(wmem_);
  case SIOCINQ: {
    if (state_ == State::Listen) return -EINVAL;
    if (type == SOCK_DGRAM) return queue_.empty() ? 0 : int64_t(queue_.front()->data.size());
    int64_t n = 0;
    for (auto& skb : queue_) n += int64_t(skb->left());
    return n;
  }
  default: return -ENOTTY;
  }
}

void UnixSock::release_sock(bool embryo) {
  if (dead_) return;
  unbind();
  dead_ = true;
  shutdown_bits = kShutdownMask;
  State was = state_;
  state_ = State::Close;
  auto other = std::move(peer_);
  wake_peer_waiters();
  if (other && type != SOCK_DGRAM) {
    // The other end reads what is left, then end of file; unread data here,
    // or a connection never accepted, is a reset.
    other->shutdown_bits = kShutdownMask;
    if (!queue_.empty() || embryo) other->err = ECONNRESET;
    other->changed();
  }
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& skb : queue)
    if (was == State::Listen && skb->embryo) skb->embryo->release_sock(true);
  queue.clear(); // passed files go with their messages
  path_ = {};
  changed();
  collect_garbage();
}

void UnixSock::uncharge(size_t truesize) {
  wmem_ -= truesize;
  if (writable()) changed();
}

void UnixSock::add_peer_waiter(UnixSock& s) {
  std::erase_if(peer_waiters_, [](const auto& w) { return w.expired(); });
  for (const auto& w : peer_waiters_)
    if (w.lock().get() == &s) return;
  peer_waiters_.push_back(s.self());
}

void UnixSock::wake_peer_waiters() {
  auto waiters = std::move(peer_waiters_);
  peer_waiters_.clear();
  for (const auto& w : waiters)
    if (auto s = w.lock()) s->changed();
}

int64_t UnixSock::wait_for_send_space(IoCtx& io, Timeout& t) {
  for (;;) {
    if (int e = take_error()) return -e;
    if (shutdown_bits & kSendShutdown) return -EPIPE;
    if (wmem_ < size_t(sndbuf)) return 0;
    if (t.expired) return -EAGAIN;
    if (int64_t r = sleep(io, t); r && r != -EAGAIN) return r;
  }
}

int64_t UnixSock::new_skb(MsgIter& data, size_t len, std::unique_ptr<UnixSkb>& out) {
  auto skb = std::make_unique<UnixSkb>();
  skb->data.resize(len);
  if (len && data.take(skb->data.data(), len)) return -EFAULT;
  skb->sender = self();
  skb->truesize = len + kSkbOverhead;
  wmem_ += skb->truesize;
  out = std::move(skb);
  return 0;
}

void UnixSock::maybe_add_creds(UnixSkb& skb, const UnixSock& other, const IoCtx& io) const {
  if (!skb.cred && (passcred || other.passcred || !other.has_file)) skb.cred = sender_cred(io);
}

void UnixSock::enqueue(std::unique_ptr<UnixSkb> skb) {
  queue_.push_back(std::move(skb));
  changed();
}

int64_t UnixSock::wait_for_skb(IoCtx& io, Timeout& t) {
  for (;;) {
    if (int e = take_error()) return -e;
    if (!queue_.empty()) return 1;
    if (t.expired) return -EAGAIN;
    if (shutdown_bits & kRcvShutdown) return 0;
    if (type != SOCK_DGRAM && state_ != State::Established && state_ != State::Listen) return -ENOTCONN;
    if (int64_t r = sleep(io, t); r && r != -EAGAIN) return r;
  }
}

} // namespace gk::net
