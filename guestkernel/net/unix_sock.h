// AF_UNIX sockets, as Linux's af_unix: stream, datagram and seqpacket
// sockets; socketpair; names that are a path (a socket node made in the
// guest VFS by the normal create path, found again by the path walk) or
// abstract (a leading NUL, a per-type name space); listen/accept with a
// backlog; passing open files (SCM_RIGHTS) and credentials
// (SCM_CREDENTIALS, SO_PEERCRED).
//
// A message waits in its receiver's queue and is charged to its sender's
// send buffer (sndbuf) until it is read, which is what blocks a writer.
// A datagram receiver that is not connected back to its sender also holds
// at most max_dgram_qlen (10) queued messages beyond which senders wait.
//
// The code is split by what it does: unix_sock.cpp (life, connections,
// readiness), unix_bind.cpp (names), unix_stream.cpp (stream data),
// unix_dgram.cpp (datagram and seqpacket data), unix_gc.cpp (cycles of
// sockets passed over each other).
#pragma once
#include <sys/un.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "guestkernel/net/sock.h"
#include "guestkernel/vfs/vfs.h"

namespace gk::net {

class UnixSock;

// One queued message: a datagram, a piece of a stream or, in a listener's
// queue, a connection waiting to be accepted.
struct UnixSkb {
  std::vector<uint8_t> data;
  size_t consumed = 0;              // stream: bytes read so far
  std::shared_ptr<UnixSock> sender; // whose send buffer it fills; its name is the source address
  size_t truesize = 0;
  std::optional<Ucred> cred;        // attached when either end asked for credentials
  std::vector<std::shared_ptr<File>> files;
  std::shared_ptr<UnixSock> embryo; // the server end of a connection
  ~UnixSkb();
  size_t left() const { return data.size() - consumed; }
};

class UnixSock final : public Sock {
public:
  enum class State { Close, Listen, Established };

  static int64_t create(int type, int protocol, std::shared_ptr<Sock>& out);
  // socketpair(2): two new sockets joined back to back.
  static void pair(UnixSock& a, UnixSock& b, const Ucred& creator);
  explicit UnixSock(int type);
  ~UnixSock() override;

  int64_t bind(IoCtx& io, const std::string& addr) override;
  int64_t connect(IoCtx& io, const std::string& addr, bool nonblock) override;
  int64_t listen(IoCtx& io, int backlog) override;
  int64_t accept(IoCtx& io, bool nonblock, std::shared_ptr<Sock>& out) override;
  int64_t getname(bool peer, std::string& out) override;
  int64_t sendmsg(IoCtx& io, SendArgs& a) override;
  int64_t recvmsg(IoCtx& io, RecvArgs& a) override;
  int64_t shutdown(int how) override;
  unsigned poll() override;
  int64_t ioctl_value(unsigned long cmd) override;
  bool listening() const override { return state_ == State::Listen; }
  void release() override { release_sock(false); }

  // A message of ours was read or dropped: its bytes leave our send buffer.
  void uncharge(size_t truesize);

private:
  std::shared_ptr<UnixSock> self() { return std::static_pointer_cast<UnixSock>(shared_from_this()); }
  void release_sock(bool embryo);
  bool writable() const { return state_ != State::Listen && wmem_ * 4 <= size_t(sndbuf); }
  bool recvq_full() const { return queue_.size() > size_t(max_backlog_); }
  // A blocked or polling sender `s` is woken when this queue shrinks.
  void add_peer_waiter(UnixSock& s);
  void wake_peer_waiters();
  // Waits until our send buffer has room: 0 or -errno (sock_alloc_send_pskb).
  int64_t wait_for_send_space(IoCtx& io, Timeout& t);
  // A new message of `len` bytes from `data`, charged to us: 0 or -errno.
  int64_t new_skb(MsgIter& data, size_t len, std::unique_ptr<UnixSkb>& out);
  // Attaches the caller's credentials if either end asked for them.
  void maybe_add_creds(UnixSkb& skb, const UnixSock& other, const IoCtx& io) const;
  void enqueue(std::unique_ptr<UnixSkb> skb);
  // Waits for the first message of the queue: 1 when there is one, 0 at
  // the end of input, or -errno (skb_recv_datagram).
  int64_t wait_for_skb(IoCtx& io, Timeout& t);

  // unix_gc.cpp: closes sockets that only messages in flight keep open.
  static void collect_garbage();
  template <typename Fn> void for_each_skb(Fn fn);

  // unix_bind.cpp
  int64_t bind_path(IoCtx& io, const std::string& addr);
  int64_t bind_abstract(const std::string& addr);
  int64_t autobind();
  void unbind();
  static int64_t find_other(IoCtx& io, const std::string& addr, int type, std::shared_ptr<UnixSock>& out);

  // unix_stream.cpp
  int64_t stream_connect(IoCtx& io, const std::string& addr, bool nonblock);
  int64_t stream_sendmsg(IoCtx& io, SendArgs& a);
  int64_t stream_recvmsg(IoCtx& io, RecvArgs& a);

  // unix_dgram.cpp
  int64_t dgram_connect(IoCtx& io, const std::string& addr);
  int64_t dgram_sendmsg(IoCtx& io, SendArgs& a);
  int64_t dgram_recvmsg(IoCtx& io, RecvArgs& a);
  // We stop being connected to `other`: what it sent us is dropped.
  void dgram_disconnected(UnixSock& other);

  State state_ = State::Close;
  std::string addr_;          // our name as sockaddr bytes; empty: unbound
  vfs::Path path_;            // the socket node of a path name
  std::pair<dev_t, ino_t> path_key_{}; // its inode, our key in the name table
  bool names_owner_ = false;  // addr_ is ours in the name tables (not a listener's, copied)
  std::shared_ptr<UnixSock> peer_;
  std::deque<std::unique_ptr<UnixSkb>> queue_;
  int max_backlog_ = 10;      // net.unix.max_dgram_qlen until listen(2) sets the backlog
  size_t wmem_ = 0;           // truesize of our messages still queued
  bool dead_ = false;         // released (SOCK_DEAD)
  std::vector<std::weak_ptr<UnixSock>> peer_waiters_;
};

} // namespace gk::net
