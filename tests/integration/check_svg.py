#!/usr/bin/env python3
"""check_svg.py SVG MAPS: checks a layout.svg of the FUSE export.

The file must be well-formed XML whose root is an SVG canvas (width, height
and a matching viewBox), every rectangle must lie inside the canvas with a
positive size, and it must draw one band (<g class="vma">) per line of MAPS
(the same process's /proc maps), in order, with the same bounds and
permissions and sane page counts. Then, when headless Chromium is installed,
it renders the file to a PNG that must be a real, non-blank image of the
canvas's width. Prints "layout.svg ok (...)" and exits 0, or says what is
wrong and exits 1.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

SVG = '{http://www.w3.org/2000/svg}'


def fail(msg):
    print('layout.svg: ' + msg)
    sys.exit(1)


def check_structure(svg_path, maps_path):
    root = ET.parse(svg_path).getroot()  # raises on malformed XML
    if root.tag != SVG + 'svg':
        fail('root element is %s, not svg' % root.tag)
    width, height = float(root.get('width')), float(root.get('height'))
    if [float(v) for v in root.get('viewBox').split()] != [0, 0, width, height]:
        fail('viewBox does not match width and height')
    for r in root.iter(SVG + 'rect'):
        x, y, w, h = (float(r.get(k)) for k in ('x', 'y', 'width', 'height'))
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width + 0.01 or y + h > height + 0.01:
            fail('rectangle outside the canvas: %s' % ET.tostring(r)[:200])
    bands = [g for g in root.iter(SVG + 'g') if g.get('class') == 'vma']
    want = []
    for line in open(maps_path):
        if line.strip():
            bounds, perms = line.split()[:2]
            lo, hi = (int(v, 16) for v in bounds.split('-'))
            want.append((lo, hi, perms))
    got = [(int(g.get('data-start'), 16), int(g.get('data-end'), 16), g.get('data-perms')) for g in bands]
    if got != want:
        fail('bands %s differ from maps %s' % (got, want))
    for g in bands:
        pages, resident, mirrored = (int(g.get(k)) for k in ('data-pages', 'data-resident', 'data-mirrored'))
        lo, hi = int(g.get('data-start'), 16), int(g.get('data-end'), 16)
        if pages != (hi - lo) // 4096 or not 0 <= mirrored <= resident <= pages:
            fail('band %x-%x has impossible counts' % (lo, hi))
        if not list(g.iter(SVG + 'rect')):
            fail('band %x-%x draws nothing' % (lo, hi))
    return int(width), int(height), len(bands)


def png_pixels(data):
    """(width, height, decompressed scanlines) of a PNG."""
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        fail('the screenshot is not a PNG')
    width, height = struct.unpack('>II', data[16:24])
    idat, at = b'', 8
    while at < len(data):
        length, kind = struct.unpack('>I4s', data[at:at + 8])
        if kind == b'IDAT':
            idat += data[at + 8:at + 8 + length]
        at += 12 + length
    return width, height, zlib.decompress(idat)


def render(svg_path, width, height):
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if not chromium:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, 'out.png')
        cmd = [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--hide-scrollbars', '--user-data-dir=' + os.path.join(tmp, 'profile'),
               '--window-size=%d,%d' % (width, min(height, 4000)), '--screenshot=' + png,
               'file://' + os.path.abspath(svg_path)]
        # Its profile and caches stay in the temporary directory too.
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=os.path.join(tmp, 'config'),
                   XDG_CACHE_HOME=os.path.join(tmp, 'cache'))
        r = subprocess.run(cmd, capture_output=True, timeout=150, env=env)
        if not os.path.exists(png):
            fail('chromium made no screenshot (exit %d): %s' % (r.returncode, r.stderr[-2000:]))
        w, h, pixels = png_pixels(open(png, 'rb').read())
        if w != width:
            fail('the screenshot is %d pixels wide, the canvas %d' % (w, width))
        if len(set(pixels)) < 16:
            fail('the screenshot is blank')
        return '%dx%d PNG from chromium' % (w, h)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    width, height, bands = check_structure(sys.argv[1], sys.argv[2])
    how = render(sys.argv[1], width, height) or 'not rendered: chromium is not installed'
    print('layout.svg ok (%d bands, %dx%d, %s)' % (bands, width, height, how))


if __name__ == '__main__':
    main()
