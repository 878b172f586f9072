// x86-64 page-table entry bits, plus the software bits this kernel uses.
#pragma once
#include <cstdint>
#include <string>

namespace gk::mm::pte {

inline constexpr uint64_t P = 1ULL << 0;   // present
inline constexpr uint64_t RW = 1ULL << 1;  // writable
inline constexpr uint64_t US = 1ULL << 2;  // user
inline constexpr uint64_t A = 1ULL << 5;   // accessed
inline constexpr uint64_t D = 1ULL << 6;   // dirty
inline constexpr uint64_t PS = 1ULL << 7;  // huge page (never set here)
// Software bits (ignored by hardware): 9..11 and 52..58.
inline constexpr uint64_t HOSTMAPPED = 1ULL << 9; // mirrored into the host child
inline constexpr uint64_t COW = 1ULL << 10;       // write-protected for copy-on-write
inline constexpr uint64_t SOFTDIRTY = 1ULL << 11; // written since last cleared
inline constexpr uint64_t NX = 1ULL << 63;        // no execute

inline constexpr uint64_t kAddrMask = 0x000f'ffff'ffff'f000ULL;

inline uint64_t pfn(uint64_t e) { return (e & kAddrMask) >> 12; }
inline uint64_t make(uint64_t pfn, uint64_t flags) { return (pfn << 12) | flags; }

// Leaf flags for a mapping with PROT_* bits (PROT_NONE: present, not user).
uint64_t flags_for_prot(int prot);
// PROT_* bits the host mapping of this leaf gets.
int prot_of(uint64_t e);
// The set bits by name ("P|RW|US|NX|HOSTMAPPED"), for traces and the FUSE view.
std::string flag_names(uint64_t e);
// "rwxp"-style text of a leaf's flags, for traces and the FUSE view.
const char* describe(uint64_t e, char buf[16]);

} // namespace gk::mm::pte
