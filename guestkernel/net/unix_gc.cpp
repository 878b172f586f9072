// Garbage collection of AF_UNIX sockets kept alive only by messages in
// flight (Linux's unix_gc): a socket sent over itself, or two sockets sent
// over each other, and then closed by every process are referenced by
// nothing but each other's queued SCM_RIGHTS. Such a cycle is found when a
// unix socket is released, and the files in its messages are dropped,
// which closes them.
#include <map>
#include <set>

#include "guestkernel/net/socket.h"
#include "guestkernel/net/unix_sock.h"

namespace gk::net {

namespace {

std::set<UnixSock*>& all_socks() {
  static std::set<UnixSock*> s;
  return s;
}

UnixSock* unix_sock_of(File& f) {
  Socket* s = as_socket(f);
  return s ? dynamic_cast<UnixSock*>(&s->sock()) : nullptr;
}

} // namespace

UnixSock::UnixSock(int type) : Sock(AF_UNIX, type) { all_socks().insert(this); }

UnixSock::~UnixSock() { all_socks().erase(this); }

// Every message a socket holds: its queue and, for a listener, the queues
// of the connections waiting in it.
template <typename Fn> void UnixSock::for_each_skb(Fn fn) {
  for (auto& skb : queue_) {
    fn(*skb);
    if (skb->embryo)
      for (auto& inner : skb->embryo->queue_) fn(*inner);
  }
}

void UnixSock::collect_garbage() {
  static bool running = false; // dropping garbage releases sockets, which calls us again
  if (running) return;
  running = true;
  // Unix socket files in flight: how often, and how many references they have.
  std::map<File*, long> inflight, refs;
  for (UnixSock* s : all_socks())
    for (auto& skb : s->queue_)
      for (auto& f : skb->files)
        if (unix_sock_of(*f)) {
          ++inflight[f.get()];
          refs[f.get()] = f.use_count();
        }
  // Candidates: files referenced only from messages in flight.
  std::set<File*> candidates;
  for (auto& [f, n] : inflight)
    if (refs[f] == n) candidates.insert(f);
  // A candidate referenced from a queue that is not a candidate's is alive,
  // and so is everything in the queues of a live candidate.
  std::map<File*, long> from_candidates;
  for (File* f : candidates)
    unix_sock_of(*f)->for_each_skb([&](UnixSkb& skb) {
      for (auto& g : skb.files)
        if (candidates.count(g.get())) ++from_candidates[g.get()];
    });
  std::vector<File*> live;
  for (File* f : candidates)
    if (inflight[f] > from_candidates[f]) live.push_back(f);
  std::set<File*> alive(live.begin(), live.end());
  while (!live.empty()) {
    File* f = live.back();
    live.pop_back();
    unix_sock_of(*f)->for_each_skb([&](UnixSkb& skb) {
      for (auto& g : skb.files)
        if (candidates.count(g.get()) && alive.insert(g.get()).second) live.push_back(g.get());
    });
  }
  // The rest is unreachable: drop the files their messages carry, which
  // closes them (and releasing them drops their queues and connections).
  std::vector<std::vector<std::shared_ptr<File>>> hitlist;
  for (File* f : candidates)
    if (!alive.count(f)) unix_sock_of(*f)->for_each_skb([&](UnixSkb& skb) { hitlist.push_back(std::move(skb.files)); });
  hitlist.clear();
  running = false;
}

} // namespace gk::net
