#!/usr/bin/env python3
"""Assemble the default guest root file system (run by meson; see meson.build).

    build_rootfs.py --out DIR --busybox /usr/bin/busybox --skel rootfs/skel
                    [--depfile FILE] PROGRAM...

DIR gets: /bin/busybox and a symlink to it for every applet (the paths
`busybox --list-full` gives), the files under skel/ (/etc), a /root home,
empty mount points /proc /dev /tmp /sys /mnt, /etc/mtab -> /proc/mounts, and
each PROGRAM (the guest test and benchmark programs) in /opt/gk.

The tree is built from scratch in a sibling temp folder and then swapped in
with rename(), so DIR is always complete and a rebuild gives the same tree.
Every entry but DIR itself gets the same fixed mtime, so listings of it are
reproducible; DIR keeps the time of the build, since ninja tracks it as the
target's output.
"""
import argparse
import os
import shutil
import stat
import struct
import subprocess
import sys

FIXED_MTIME = 946684800  # 2000-01-01 00:00:00 UTC
MOUNT_POINTS = ['proc', 'dev', 'tmp', 'sys', 'mnt']
PLAIN_DIRS = ['root', 'home', 'opt/gk', 'usr/local/bin', 'var/tmp', 'run']


def is_static_elf(path):
    """True for an x86-64 ELF with no PT_INTERP (no dynamic loader needed)."""
    with open(path, 'rb') as f:
        data = f.read(1 << 16)
    if data[:4] != b'\x7fELF' or data[4] != 2:
        return False
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from('<I', data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def applet_paths(busybox):
    out = subprocess.run([busybox, '--list-full'], check=True, capture_output=True, text=True).stdout
    return sorted({line.strip().strip('/') for line in out.splitlines() if line.strip()})


def build(tmp, args, deps):
    os.makedirs(tmp)
    for d in ['bin', 'sbin', 'usr/bin', 'usr/sbin'] + MOUNT_POINTS + PLAIN_DIRS:
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    os.chmod(os.path.join(tmp, 'tmp'), 0o1777)
    os.chmod(os.path.join(tmp, 'var/tmp'), 0o1777)
    os.chmod(os.path.join(tmp, 'root'), 0o700)

    shutil.copyfile(args.busybox, os.path.join(tmp, 'bin/busybox'))
    os.chmod(os.path.join(tmp, 'bin/busybox'), 0o755)
    deps.append(args.busybox)
    for rel in applet_paths(args.busybox):
        if rel == 'bin/busybox':
            continue
        link = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink('/bin/busybox', link)

    for top, dirs, files in os.walk(args.skel):
        dirs.sort()
        for name in sorted(dirs):
            os.makedirs(os.path.join(tmp, os.path.relpath(os.path.join(top, name), args.skel)), exist_ok=True)
        for name in sorted(files):
            src = os.path.join(top, name)
            dst = os.path.join(tmp, os.path.relpath(src, args.skel))
            shutil.copyfile(src, dst)
            # Only the executable bit comes from the source tree (git keeps no other mode).
            os.chmod(dst, 0o755 if os.stat(src).st_mode & stat.S_IXUSR else 0o644)
            deps.append(src)
    os.symlink('/proc/mounts', os.path.join(tmp, 'etc/mtab'))

    for prog in args.programs:
        dst = os.path.join(tmp, 'opt/gk', os.path.basename(prog))
        shutil.copyfile(prog, dst)
        os.chmod(dst, 0o755)
        deps.append(prog)

    # Fixed times everywhere, children before their folders.
    for top, dirs, files in os.walk(tmp, topdown=False):
        for name in files + dirs:
            os.utime(os.path.join(top, name), (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--busybox', default='/usr/bin/busybox')
    ap.add_argument('--skel', required=True)
    ap.add_argument('--depfile')
    ap.add_argument('programs', nargs='*')
    args = ap.parse_args()

    if not os.path.exists(args.busybox):
        sys.exit(f'build_rootfs: {args.busybox} is missing (Debian package busybox-static; ./gk installs it)')
    if not is_static_elf(args.busybox):
        sys.exit(f'build_rootfs: {args.busybox} is not a static executable (need busybox-static)')

    out = os.path.abspath(args.out)
    tmp, old = out + '.new', out + '.old'
    for d in (tmp, old):
        shutil.rmtree(d, ignore_errors=True)
    deps = []
    build(tmp, args, deps)
    # Swap: the old tree (if any) moves aside, the new one takes its name.
    if os.path.lexists(out):
        os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)

    if args.depfile:  # every file read, so edits under skel/ rebuild the tree
        esc = lambda p: p.replace(' ', '\\ ')
        with open(args.depfile, 'w') as f:
            f.write(esc(args.out) + ': ' + ' '.join(esc(d) for d in deps) + '\n')


if __name__ == '__main__':
    main()
