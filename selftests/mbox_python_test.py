#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The mailbox from Python with the standard library only (os, fcntl,
struct, select): the ioctl numbers and structures are rebuilt from the uapi
header's definitions.  Named mailboxes are made in an instance of the mbox
filesystem mounted on a directory of our own (ctypes for mount(2))."""
import ctypes
import errno
import fcntl
import os
import select
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import case, done  # noqa: E402

DEV = "/dev/mbox3"

# <linux/ioctl.h> on x86: nr 8 bits, type 8, size 14, dir 2 (write 1, read 2).
def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (0xBC << 8) | nr

HEADER = struct.Struct("<IIQQIiiIIIIIQQ")    # struct mbox_msg_header
MODE = struct.Struct("<II")                  # struct mbox_mode
INFO = struct.Struct("<IIIIQIIQIIIIQQQQQ")   # struct mbox_info
FLUSH = struct.Struct("<IIQQQ")              # struct mbox_flush
CREATE = struct.Struct("<IIIIIIQIIQQ256s")   # struct mbox_create
assert (HEADER.size, MODE.size, INFO.size, FLUSH.size) == (72, 8, 96, 32)
assert CREATE.size == 312

MBOX_IOC_GET_INFO = _ioc(2, 0x01, INFO.size)
MBOX_IOC_SET_MODE = _ioc(1, 0x04, MODE.size)
MBOX_IOC_FLUSH = _ioc(3, 0x06, FLUSH.size)
MBOX_CTL_CREATE = _ioc(3, 0x20, CREATE.size)
MBOX_MODE_HEADER = 1
FIONREAD = 0x541B



def info(fd):
    return INFO.unpack(fcntl.ioctl(fd, MBOX_IOC_GET_INFO, bytes(INFO.size)))


def fresh(flags=os.O_RDWR):
    fd = os.open(DEV, flags)
    fcntl.ioctl(fd, MBOX_IOC_FLUSH, bytes(FLUSH.size))
    return fd


@case("write then read returns the same bytes, one message per call")
def _():
    fd = fresh()
    assert os.write(fd, b"hello") == 5
    assert os.write(fd, b"world!") == 6
    assert os.read(fd, 65536) == b"hello"
    assert os.read(fd, 65536) == b"world!"
    os.close(fd)


@case("header mode: the kernel's header, then the payload")
def _():
    fd = fresh()
    fcntl.ioctl(fd, MBOX_IOC_SET_MODE, MODE.pack(MBOX_MODE_HEADER, 0))
    os.write(fd, b"a")
    os.write(fd, b"bc")
    seqs = []
    for payload in (b"a", b"bc"):
        data = os.read(fd, 65536)
        (hdr_size, flags, seq, time_ns, size, pid, tid, uid, gid,
         ouid, ogid, deliveries, r0, r1) = HEADER.unpack(data[:HEADER.size])
        assert hdr_size == 72 and size == len(payload), (hdr_size, size)
        assert data[hdr_size:] == payload
        assert pid == os.getpid() and uid == os.geteuid(), (pid, uid)
        assert deliveries == 1 and (r0, r1) == (0, 0)
        seqs.append(seq)
    assert seqs[1] == seqs[0] + 1
    os.close(fd)


@case("FIONREAD gives the next message's size")
def _():
    fd = fresh()
    n = struct.unpack("i", fcntl.ioctl(fd, FIONREAD, bytes(4)))[0]
    assert n == 0
    os.write(fd, b"12345")
    n = struct.unpack("i", fcntl.ioctl(fd, FIONREAD, bytes(4)))[0]
    assert n == 5
    os.close(fd)


@case("MBOX_IOC_GET_INFO counts queued messages and bytes")
def _():
    fd = fresh()
    os.write(fd, b"xyz")
    fields = info(fd)
    assert fields[0] == 3            # index: /dev/mbox3
    assert fields[6] == 1            # msgs_queued
    assert fields[7] == 3            # bytes_queued
    os.close(fd)


@case("poll: POLLIN only once a message is queued")
def _():
    fd = fresh()
    p = select.poll()
    p.register(fd, select.POLLIN)
    assert p.poll(0) == []
    os.write(fd, b"p")
    assert p.poll(0) == [(fd, select.POLLIN)]
    os.close(fd)


@case("too small a buffer: EMSGSIZE and the message stays")
def _():
    fd = fresh()
    os.write(fd, b"0123456789")
    try:
        os.read(fd, 4)
        raise AssertionError("read of 4 bytes succeeded")
    except OSError as e:
        assert e.errno == errno.EMSGSIZE, e
    assert os.read(fd, 10) == b"0123456789"
    os.close(fd)


@case("O_NONBLOCK read of an empty mailbox: EAGAIN")
def _():
    fd = fresh(os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.read(fd, 100)
        raise AssertionError("read of an empty mailbox returned")
    except BlockingIOError:
        pass
    os.close(fd)


# Named mailboxes, in one instance for the cases below.
libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2
INSTANCE = tempfile.mkdtemp(prefix="mbox-python-")
if libc.mount(b"mbox", INSTANCE.encode(), b"mbox", 0, None):
    sys.exit(f"mount -t mbox on {INSTANCE}: {os.strerror(ctypes.get_errno())}")


def create(name, mode=0o600, max_msgs=0):
    """MBOX_CTL_CREATE in INSTANCE: the new mailbox's inode number."""
    ctl = os.open(os.path.join(INSTANCE, "mbox-control"), os.O_RDWR)
    try:
        arg = bytearray(CREATE.pack(0, mode, 0, 0, 0, max_msgs, 0, 0, 0, 0,
                                    0, name))
        fcntl.ioctl(ctl, MBOX_CTL_CREATE, arg)
        return CREATE.unpack(arg)[10]
    finally:
        os.close(ctl)


def names():
    return sorted(os.listdir(INSTANCE))


@case("MBOX_CTL_CREATE: a char node with the mode asked, less the umask, owned by the caller")
def _():
    old = os.umask(0o022)
    try:
        ino = create(b"jobs", 0o666, max_msgs=7)
    finally:
        os.umask(old)
    st = os.stat(os.path.join(INSTANCE, "jobs"))
    assert st.st_mode == 0o20644, oct(st.st_mode)   # S_IFCHR | 0644
    assert (st.st_uid, st.st_ino) == (os.geteuid(), ino), (st, ino)
    fd = os.open(os.path.join(INSTANCE, "jobs"), os.O_RDONLY)
    fields = info(fd)
    os.close(fd)
    assert fields[0] == ino & 0xFFFFFFFF and fields[3] == 7, fields
    os.unlink(os.path.join(INSTANCE, "jobs"))


@case("a named mailbox works as /dev/mboxN: one message per call, the sender in the header")
def _():
    create(b"private")
    fd = os.open(os.path.join(INSTANCE, "private"), os.O_RDWR)
    fcntl.ioctl(fd, MBOX_IOC_SET_MODE, MODE.pack(MBOX_MODE_HEADER, 0))
    os.write(fd, b"one")
    os.write(fd, b"two!")
    for payload in (b"one", b"two!"):
        data = os.read(fd, 65536)
        hdr = HEADER.unpack(data[:HEADER.size])
        assert data[hdr[0]:] == payload, data
        assert (hdr[5], hdr[7]) == (os.getpid(), os.geteuid()), hdr
    os.close(fd)
    os.unlink(os.path.join(INSTANCE, "private"))


@case("create errors: EEXIST, EINVAL for bad names, ENAMETOOLONG; nothing created")
def _():
    create(b"taken")
    bad = [(b"taken", errno.EEXIST), (b"mbox-control", errno.EEXIST),
           (b"", errno.EINVAL), (b".", errno.EINVAL), (b"..", errno.EINVAL),
           (b"a/b", errno.EINVAL), (b"n" * 256, errno.ENAMETOOLONG)]
    for name, want in bad:
        try:
            create(name)
            raise AssertionError(f"created {name!r}")
        except OSError as e:
            assert e.errno == want, (name, e)
    # The longest name is 255 bytes.
    create(b"n" * 255)
    assert names() == ["mbox-control", "n" * 255, "taken"], names()
    for name in ("taken", "n" * 255):
        os.unlink(os.path.join(INSTANCE, name))


@case("rm takes the name at once; an open descriptor keeps the mailbox and its message")
def _():
    path = os.path.join(INSTANCE, "gone")
    first = create(b"gone")
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    os.write(fd, b"kept")
    os.unlink(path)
    assert names() == ["mbox-control"], names()
    # The name is free again: a new, empty mailbox.
    second = create(b"gone")
    fd2 = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    assert second != first and info(fd2)[6] == 0, (first, second)
    os.close(fd2)
    os.unlink(path)
    assert os.read(fd, 100) == b"kept"
    os.close(fd)


libc.umount2(INSTANCE.encode(), MNT_DETACH)
os.rmdir(INSTANCE)
done()
