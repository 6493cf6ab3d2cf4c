#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The mailbox from Python with the standard library only (os, fcntl,
struct, select): the ioctl numbers and structures are rebuilt from the uapi
header's definitions."""
import errno
import fcntl
import os
import select
import struct
import sys

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
assert (HEADER.size, MODE.size, INFO.size, FLUSH.size) == (72, 8, 96, 32)

MBOX_IOC_GET_INFO = _ioc(2, 0x01, INFO.size)
MBOX_IOC_SET_MODE = _ioc(1, 0x04, MODE.size)
MBOX_IOC_FLUSH = _ioc(3, 0x06, FLUSH.size)
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


done()
