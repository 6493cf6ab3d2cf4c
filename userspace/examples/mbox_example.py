#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A mailbox from Python with the standard library only (os, fcntl, struct,
select, and array for the one pointer an ioctl needs).

    python3 mbox_example.py [/dev/mboxN]        (default /dev/mbox1)
    python3 mbox_example.py --private DIR       (DIR: an mbox instance)

A child process sends three jobs and then an urgent "cancel"; the parent,
in header mode, sees EPOLLPRI announce the urgent message, reads it first,
and prints who sent each message as the kernel stamped it.

With --private, the mailbox is a named one that only this user can open
(0600), created through DIR/mbox-control (MBOX_CTL_CREATE, see mboxfs(5))
and removed with the name's unlink once both ends have it open.
"""
import array
import errno
import fcntl
import os
import select
import struct
import sys

# The ioctl numbers of <linux/mbox.h>, computed as _IOC() does on x86-64.
_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction, nr, size):
    return direction << 30 | size << 16 | 0xBC << 8 | nr


HEADER = struct.Struct("=IIQQIiiIIIII16x")      # struct mbox_msg_header
MODE = struct.Struct("=II")                     # struct mbox_mode
URGENT = struct.Struct("=QIIIIQQQQ")            # struct mbox_urgent
CREATE = struct.Struct("=IIIIIIQIIQQ256s")      # struct mbox_create
assert HEADER.size == 72 and URGENT.size == 56 and CREATE.size == 312

MBOX_IOC_SET_MODE = _ioc(_IOC_WRITE, 0x04, MODE.size)
MBOX_IOC_SEND_URGENT = _ioc(_IOC_READ | _IOC_WRITE, 0x07, URGENT.size)
MBOX_CTL_CREATE = _ioc(_IOC_READ | _IOC_WRITE, 0x20, CREATE.size)
MBOX_MODE_HEADER = 0x1
MBOX_MSG_URGENT = 0x2
FLAG_NAMES = {0x1: "cred_mismatch", 0x2: "urgent", 0x4: "redelivered"}


def send_urgent(fd, text):
    """MBOX_IOC_SEND_URGENT; returns the urgent message's seq."""
    buf = array.array("B", text)
    arg = bytearray(URGENT.pack(buf.buffer_info()[0], len(text),
                                0, 0, 0, 0, 0, 0, 0))
    fcntl.ioctl(fd, MBOX_IOC_SEND_URGENT, arg)      # results written back
    return URGENT.unpack(arg)[6]


def create(instance, name, mode):
    """MBOX_CTL_CREATE on the instance's control node, the module's default
    limits; returns the new mailbox's path."""
    ctl = os.open(os.path.join(instance, "mbox-control"), os.O_RDWR)
    try:
        arg = bytearray(CREATE.pack(0, mode, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    name.encode()))
        fcntl.ioctl(ctl, MBOX_CTL_CREATE, arg)      # ino written back
    finally:
        os.close(ctl)
    return os.path.join(instance, name)


def receive(fd):
    """One message in header mode: (header fields as a dict, payload)."""
    data = os.read(fd, HEADER.size + 65536)
    fields = HEADER.unpack_from(data)
    names = ("hdr_size", "flags", "seq", "time_ns", "size", "pid", "tid",
             "uid", "gid", "opener_uid", "opener_gid", "delivery_count")
    hdr = dict(zip(names, fields))
    # hdr_size, not our struct's size: a newer kernel may say more.
    return hdr, data[hdr["hdr_size"]:hdr["hdr_size"] + hdr["size"]]


def main():
    private = len(sys.argv) > 2 and sys.argv[1] == "--private"
    if private:
        instance = sys.argv[2]
        try:
            dev = create(instance, f"example-{os.getpid()}", 0o600)
        except OSError as e:
            hint = " (is it an mbox instance? mount -t mbox mbox DIR)" \
                if e.errno == errno.ENOENT else ""
            sys.exit(f"mbox_example.py: {instance}: {e.strerror}{hint}")
        st = os.stat(dev)
        print(f"created {dev}, mode {st.st_mode & 0o777:04o}, "
              f"owner uid {st.st_uid}")
    else:
        dev = sys.argv[1] if len(sys.argv) > 1 else "/dev/mbox1"
    try:
        rd = os.open(dev, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        hint = " (is the module loaded? try 'mbox load')" \
            if e.errno == errno.ENOENT else ""
        sys.exit(f"mbox_example.py: {dev}: {e.strerror}{hint}")
    fcntl.ioctl(rd, MBOX_IOC_SET_MODE, MODE.pack(MBOX_MODE_HEADER, 0))

    # The child stays alive until the parent has read everything, so the
    # kernel can still name it (a sender that has exited reads as pid 0).
    done_r, done_w = os.pipe()
    sent_r, sent_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(done_w)
        wr = os.open(dev, os.O_WRONLY)
        for i in (1, 2, 3):
            os.write(wr, f"job {i}".encode())
        seq = send_urgent(wr, b"cancel")
        os.write(sent_w, str(seq).encode())
        os.read(done_r, 1)
        os._exit(0)
    os.close(done_r)
    os.close(sent_w)
    # Wait until all four are queued, so the order below is the kernel's.
    urgent_seq = int(os.read(sent_r, 32))
    print(f"the child sent 3 jobs and an urgent message, seq {urgent_seq}")
    if private:
        # Both ends are open: the name can go, the mailbox stays until
        # the last of them is closed.
        os.unlink(dev)
        print(f"removed {dev}; the open descriptors still work")

    poller = select.poll()
    poller.register(rd, select.POLLIN | select.POLLPRI)
    received = 0
    while received < 4:
        ready = poller.poll(10000)
        if not ready:
            sys.exit(f"mbox_example.py: {dev}: no message within 10 s")
        for _, events in ready:
            if events & select.POLLPRI:
                print("EPOLLPRI: an urgent message is waiting")
            hdr, payload = receive(rd)
            received += 1
            flags = ",".join(n for b, n in FLAG_NAMES.items()
                             if hdr["flags"] & b) or "-"
            who = "the child" if hdr["pid"] == child else f"pid {hdr['pid']}"
            print(f"seq {hdr['seq']} from {who} (uid {hdr['uid']}, "
                  f"gid {hdr['gid']}) flags {flags}: {payload.decode()}")
    os.close(done_w)
    os.waitpid(child, 0)
    try:
        os.read(rd, HEADER.size + 65536)
        print("unexpected: more messages")
    except BlockingIOError:
        print("mailbox empty: done")


if __name__ == "__main__":
    main()
