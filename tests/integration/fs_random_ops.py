# fs_random_ops.py DIR SEED N: N random file operations on a few short names
# under DIR (write, append, truncate, unlink, mkdir, rmdir, rename, link,
# symlink, chmod, utime, read, list), then DIR's final state. Each result is
# printed as "ok ..." or "error ERRNO-NAME ...", so a run in the guest can be
# compared line by line with a native run over a copy of the same tree
# (tests/integration/rootfs_test.cpp runs it with the host's python3).
import errno, os, random, shutil, stat, sys

root, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
os.chdir(root)
NAMES = ["a", "b", "c", "d", "e"]


def rand_path():
    return "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 3)))


def move_tree(src, dst):
    # Children renamed one by one keep their inodes (and hard links to files
    # outside the tree), as a rename of the whole directory would.
    os.mkdir(dst)
    for n in sorted(os.listdir(src)):
        s, d = os.path.join(src, n), os.path.join(dst, n)
        if os.path.isdir(s) and not os.path.islink(s):
            move_tree(s, d)
        else:
            os.rename(s, d)
    shutil.copystat(src, dst, follow_symlinks=False)
    os.rmdir(src)


def move(src, dst):
    try:
        os.rename(src, dst)
    except OSError as e:
        # A directory the overlay cannot rename (EXDEV) is moved piece by piece.
        if e.errno != errno.EXDEV:
            raise
        if os.path.lexists(dst):
            if os.path.islink(dst) or not os.path.isdir(dst):
                raise OSError(errno.ENOTDIR, dst)
            if os.listdir(dst):
                raise OSError(errno.ENOTEMPTY, dst)
            os.rmdir(dst)
        move_tree(src, dst)


def op(i, kind, p, q):
    data = "%d-%d\n" % (i, rng.randint(0, 999))
    if kind == "write":
        with open(p, "w") as f:
            f.write(data)
    elif kind == "append":
        with open(p, "a") as f:
            f.write(data)
    elif kind == "trunc":
        os.truncate(p, rng.randint(0, 8))
    elif kind == "unlink":
        os.unlink(p)
    elif kind == "mkdir":
        os.mkdir(p)
    elif kind == "rmdir":
        os.rmdir(p)
    elif kind == "rename":
        move(p, q)
    elif kind == "link":
        os.link(p, q, follow_symlinks=False)
    elif kind == "symlink":
        os.symlink(q, p)
    elif kind == "chmod":
        os.chmod(p, rng.choice([0o600, 0o755, 0o444]))
    elif kind == "utime":
        os.utime(p, (1000 + i, 2000 + i), follow_symlinks=False)
    elif kind == "read":
        with open(p) as f:
            return repr(f.read())
    elif kind == "list":
        return str(sorted(os.listdir(p)))
    return ""


KINDS = ["write", "append", "trunc", "unlink", "mkdir", "rmdir", "rename", "link", "symlink", "chmod", "utime",
         "read", "list"]
for i in range(count):
    kind, p, q = rng.choice(KINDS), rand_path(), rand_path()
    what = "%s %s %s" % (kind, p, q) if kind in ("rename", "link", "symlink") else "%s %s" % (kind, p)
    try:
        print("ok", what, op(i, kind, p, q))
    except OSError as e:
        print("error", errno.errorcode.get(e.errno, e.errno), what)

for d, dirs, files in os.walk("."):
    dirs.sort()
    for n in sorted(dirs + files):
        path = os.path.join(d, n)
        st = os.lstat(path)
        line = "%s %o" % (path, st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            line += " -> " + os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            with open(path) as f:
                line += " %r" % f.read()
            if st.st_mtime < 100000:  # set by utime above
                line += " mtime=%d" % st.st_mtime
        print(line)
