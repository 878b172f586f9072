// Real programs: the host's own glibc userland (bash, coreutils, grep, sed,
// awk, find, tar, python3, perl, gcc) run under `--rootfs-ro /` and must
// print exactly what they print natively, with the same status and stderr,
// under each MMU backend. Each case is one bash script run natively and in
// the guest over identical scratch trees; the guest's writes land in the
// overlay, so it gets a tree of its own only by name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/fixture.h"
#include "tests/integration/harness.h"

using namespace gk::test;
namespace fs = std::filesystem;

namespace {

constexpr time_t kTreeTime = 1000000000;

void write_file(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  chmod(path.c_str(), mode);
}

// Deterministic bytes (xorshift), so the 10 MiB file is the same every run.
std::string pseudo_random(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = char(x >> 24);
  }
  return s;
}

// The tree every case works on: text files, a nested folder, a 10 MiB file,
// a C program; fixed times so `ls -la` prints the same natively and in the guest.
void make_tree(const fs::path& t) {
  fs::create_directories(t / "src/lib");
  fs::create_directories(t / "docs");
  write_file(t / "words", "pear\napple\nzucchini\nbanana\napple\nCherry\n42\napple\nbanana\n");
  write_file(t / "docs/a.txt", "alpha beta\ngamma delta epsilon\n\nzeta\n");
  write_file(t / "docs/b.txt", "one\ntwo\nthree\n");
  write_file(t / "src/lib/util.txt", "util 1\nutil 2\n");
  write_file(t / "src/main.txt", "main\n");
  write_file(t / "table.csv", "name,qty,price\nbolt,10,0.25\nnut,25,0.10\nwasher,100,0.02\nscrew,40,0.15\n");
  write_file(t / "run.sh", "#!/bin/sh\necho run.sh says \"$@\"\n", 0755);
  write_file(t / "big.bin", pseudo_random(10 << 20, 0x9e3779b97f4a7c15ULL));
  write_file(t / "prog.c",
             "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
             "static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
             "int main(int argc, char **argv) {\n"
             "  char *buf = malloc(1 << 20);\n  memset(buf, 'x', 1 << 20);\n"
             "  printf(\"fib(25)=%lu args=%d len=%zu\\n\", fib(25), argc, strlen(argv[0]) > 0 ? (size_t)1 : 0);\n"
             "  free(buf);\n  return 7;\n}\n");
  timespec ts[2] = {{kTreeTime, 0}, {kTreeTime, 0}};
  for (auto& e : fs::recursive_directory_iterator(t)) utimensat(AT_FDCWD, e.path().c_str(), ts, AT_SYMLINK_NOFOLLOW);
  utimensat(AT_FDCWD, t.c_str(), ts, 0);
}

class RealPrograms : public GuestTest {
protected:
  void SetUp() override {
    dir_ = scratch_dir("realprog");
    make_tree(dir_ / "native");
    make_tree(dir_ / "guest");
  }

  // Runs `script` with bash in its own copy of the tree, natively and in
  // the guest; both must agree on stdout, stderr and status.
  void same_as_native(const std::string& script, int want_status = 0) {
    auto cmd = [&](const std::string& side) {
      return std::vector<std::string>{"/bin/bash", "-c", "cd " + (dir_ / side).string() + " && " + script};
    };
    RunResult n = run(cmd("native"));
    ASSERT_EQ(n.status, want_status) << "natively:\n" << n.out << n.err;
    RunResult g = run(guest_cmd(GetParam(), {"--rootfs-ro", "/"}, cmd("guest")));
    EXPECT_EQ(g.status, n.status) << g.err;
    EXPECT_EQ(g.out, n.out);
    EXPECT_EQ(g.err, n.err);
  }

  fs::path dir_;
};

TEST_P(RealPrograms, BashScriptWithFunctionsPipesSubshellsAndSubstitution) {
  same_as_native(R"SH(set +m
fact() { local n=$1; if (( n <= 1 )); then echo 1; else echo $(( n * $(fact $((n - 1))) )); fi; }
echo "fact 10 = $(fact 10)"
declare -a arr=(one two three); echo "${#arr[@]} ${arr[1]} ${arr[*]^^}"
declare -A m=([x]=1 [y]=2); for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done
count=0; while read -r w; do count=$((count + 1)); done < words; echo "words: $count"
( cd docs && echo "in $(basename "$PWD")"; exit 4 ); echo "subshell status $?"
sort words | uniq -c | sort -rn | head -3
case "$(uname -s)" in Linux) echo kernel is Linux;; *) echo other;; esac
cat <<EOF | tr a-z A-Z
here document with $(echo substitution)
EOF
x=$( { echo a; echo b >&2; } 2>&1 ); echo "captured: $x"
echo "${BASH_VERSINFO[0]}" | grep -q '^[0-9]' && echo bash version ok
printf '%05.1f|%-6s|%x\n' 3.14159 left 255
trap 'echo trapped EXIT' EXIT
false || echo "or-list ran"
exit 3)SH",
                 3);
}

TEST_P(RealPrograms, CoreutilsListSortCountHashCopyAndArchive) {
  same_as_native(R"SH(ls -la --time-style=+%Y-%m-%d docs src src/lib
sort words; sort -u words | wc -l; uniq -c <(sort words)
wc docs/a.txt docs/b.txt table.csv
md5sum words docs/*.txt
sha256sum big.bin
mkdir -p /tmp/rp-$$ && dd if=big.bin of=/tmp/rp-$$/copy bs=64k status=none && cmp big.bin /tmp/rp-$$/copy && echo dd copy equal
dd if=big.bin bs=1M count=3 skip=2 status=none | md5sum
tar cf - docs src | (mkdir -p /tmp/rp-$$/x && cd /tmp/rp-$$/x && tar xf -) && diff -r docs /tmp/rp-$$/x/docs && diff -r src /tmp/rp-$$/x/src && echo tar round trip equal
tar tvf <(tar cf - --owner=0 --group=0 --mtime=@1000000000 docs) | sort
cut -d, -f1,3 table.csv | tail -n +2 | sort -t, -k2 -n
head -c 100 big.bin | od -An -tx1 | head -2
seq 1 10 | paste -sd+ | bc 2>/dev/null || echo $(( $(seq 1 10 | paste -sd+) ))
stat -c '%n %s %a %Y' words docs/a.txt
rm -rf /tmp/rp-$$)SH");
}

TEST_P(RealPrograms, GrepSedAndAwk) {
  same_as_native(R"SH(grep -n apple words; grep -c an words; grep -E '^(b|c)' -i words; grep -r -l util src
grep -v -e apple -e banana words | sort
sed 's/a/A/g; /^4/d' words; sed -n '2,4p' docs/a.txt; printf 'x=1\ny=2\n' | sed -E 's/([a-z])=([0-9])/\2:\1/'
awk -F, 'NR > 1 { total += $2 * $3; n++ } END { printf "%d items, total %.2f\n", n, total }' table.csv
awk '{ for (i = 1; i <= NF; i++) w[$i]++ } END { for (k in w) print k, w[k] }' docs/a.txt | sort
awk 'BEGIN { for (i = 1; i <= 5; i++) s = s i * i " "; print s; print length("guestkernel"), toupper("abc") }')SH");
}

TEST_P(RealPrograms, FindWithExec) {
  same_as_native(R"SH(find . -name '*.txt' | sort
find . -name '*.txt' -exec wc -l {} \; | sort
find . -type f -name '*.txt' -exec grep -H a {} + | sort
find . -type d | sort; find . -newer words -o -size +1M | sort
find src -type f -execdir sh -c 'echo "$(basename "$1") in $(basename "$PWD")"' _ {} \; | sort)SH");
}

TEST_P(RealPrograms, Python3ComputesAndRunsAChildProcess) {
  same_as_native(R"SH(python3 -c '
import json, hashlib, subprocess, sys, os
data = {"primes": [n for n in range(2, 60) if all(n % d for d in range(2, n))], "sum": sum(range(1000))}
print(json.dumps(data, sort_keys=True))
print(hashlib.sha256(open("big.bin", "rb").read()).hexdigest())
print(hashlib.md5(b"guestkernel").hexdigest())
r = subprocess.run(["sort", "-r", "words"], capture_output=True, text=True)
print(r.returncode, r.stdout.split())
p = subprocess.Popen([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print(p.communicate("from the parent")[0].strip(), p.returncode)
print(os.cpu_count() is not None, sorted(os.listdir("docs")))
')SH");
}

// Threads and processes together: a pool's handler threads poll without
// blocking while its workers answer (a thread that keeps its host child
// across its syscalls starved them for a minute before time slices held
// across stops).
TEST_P(RealPrograms, Python3PoolsOfThreadsAndProcesses) {
  same_as_native(R"SH(python3 -c '
import multiprocessing as mp, concurrent.futures as cf, hashlib
def h(n): return hashlib.sha256(str(n).encode()).hexdigest()[:8]
if __name__ == "__main__":
    with mp.Pool(2) as p: print(p.map(h, range(6)))
    with cf.ThreadPoolExecutor(4) as ex: print(list(ex.map(h, range(6, 12))))
    q = mp.Queue(); w = mp.Process(target=q.put, args=(h(42),)); w.start(); print(q.get()); w.join(); print(w.exitcode)
')SH");
}

TEST_P(RealPrograms, PerlOneLiners) {
  same_as_native(R"SH(perl -e 'my %h; $h{$_}++ for map { chomp; $_ } `cat words`; print join(",", map {"$_=$h{$_}"} sort keys %h), "\n"'
perl -ne 'print if /a.*a/' words
perl -e 'printf "%.6f\n", atan2(1, 1) * 4; print scalar(reverse "guestkernel"), "\n"; print 2**40, "\n"')SH");
}

TEST_P(RealPrograms, GccCompilesAndTheResultRuns) {
  same_as_native(R"SH(out=/tmp/rp-gcc-$$ && mkdir -p $out
gcc -O2 -Wall -o $out/prog prog.c && echo compiled
$out/prog a b; echo "status $?"
gcc -O0 -g -c prog.c -o $out/prog.o && gcc -o $out/prog2 $out/prog.o && $out/prog2; echo "status $?"
rm -rf $out)SH");
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Backends, RealPrograms, ::testing::Values("rfp", "mremap", "mmap"),
                         [](const auto& info) { return info.param; });
