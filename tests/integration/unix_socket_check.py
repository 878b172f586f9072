# Python's socket module over AF_UNIX (socketpair, a path server with a
# forked client, passing a descriptor, an abstract name, multiprocessing's
# Listener/Client and asyncio's unix server): output that does not depend
# on pids or paths, compared between a native and a guest run
# (tests/integration/net_test.cpp).
import asyncio, errno, os, shutil, socket, tempfile
from multiprocessing.connection import Client, Listener

a, b = socket.socketpair()
a.sendall(b"hello")
print("socketpair:", b.recv(10))
c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
c.send(b"x" * 10); c.send(b"y")
print("dgram:", d.recv(100), d.recv(100))

tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "s")
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen()
print("node mode:", oct(os.stat(path).st_mode))
pid = os.fork()
if pid == 0:
    cl = socket.socket(socket.AF_UNIX)
    cl.connect(path)
    cl.sendall(b"from child")
    r, w = os.pipe()
    os.write(w, b"piped")
    socket.send_fds(cl, [b"fds"], [r])
    cl.recv(1)
    os._exit(0)
conn, addr = srv.accept()
print("accept address:", repr(addr))
print("recv:", conn.recv(10))
msg, fds, flags, _ = socket.recv_fds(conn, 10, 4)
print("recv_fds:", msg, len(fds), os.read(fds[0], 10))
print("peer name is the path:", conn.getsockname() == path)
conn.send(b"k")
os.waitpid(pid, 0)
e = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
e.bind("\0pytest-gk")
print("abstract:", e.getsockname())
try:
    socket.socket(socket.AF_UNIX).connect(os.path.join(tmp, "nope"))
except OSError as ex:
    print("connect missing:", errno.errorcode[ex.errno])

lpath = os.path.join(tmp, "mp")
with Listener(lpath, "AF_UNIX") as listener:
    pid = os.fork()
    if pid == 0:
        with Client(lpath, "AF_UNIX") as cl:
            cl.send({"sum": sum(range(10))})
        os._exit(0)
    with listener.accept() as conn:
        print("multiprocessing:", conn.recv())
    os.waitpid(pid, 0)

async def main():
    apath = os.path.join(tmp, "aio")
    async def handle(r, w):
        data = await r.readline()
        w.write(data.upper())
        await w.drain()
        w.close()
    server = await asyncio.start_unix_server(handle, apath)
    r, w = await asyncio.open_unix_connection(apath)
    w.write(b"asyncio line\n")
    await w.drain()
    print("asyncio:", await r.readline())
    w.close()
    server.close()
    await server.wait_closed()
asyncio.run(main())
shutil.rmtree(tmp)
