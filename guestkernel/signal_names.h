// Names of signals and of their si_code values, for messages and traces.
#pragma once
#include <signal.h>

#include <string>

#include <fmt/format.h>

namespace gk {

inline std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", sig);
}

inline std::string fault_code_name(int sig, int code) {
  if (sig == SIGSEGV) {
    if (code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (code == SEGV_ACCERR) return "SEGV_ACCERR";
  }
  if (sig == SIGBUS && code == BUS_ADRERR) return "BUS_ADRERR";
  if (sig == SIGFPE && code == FPE_INTDIV) return "FPE_INTDIV";
  if (sig == SIGILL && code == ILL_ILLOPN) return "ILL_ILLOPN";
  if (code == SI_KERNEL) return "SI_KERNEL";
  return fmt::format("code {}", code);
}

} // namespace gk
