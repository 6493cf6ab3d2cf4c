#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""'make demo''s reader in ack mode, with raw ioctls (the mbox command has
no ack-mode receive):

    demo-ack-reader.py MAILBOX [--no-ack]

Receives one message in ack mode (MBOX_MODE_ACK: the read only leases it
to this open file) and prints its header, then acknowledges it
(MBOX_IOC_ACK), which frees it.  With --no-ack it keeps the lease and
waits to be killed: the kernel then hands the message back to the
mailbox, for the next reader.
"""
import fcntl
import os
import signal
import struct
import sys


def _ioc(direction, nr, size):
    return direction << 30 | size << 16 | 0xBC << 8 | nr


HEADER = struct.Struct("=IIQQIiiIIIII16x")      # struct mbox_msg_header
MODE = struct.Struct("=II")                     # struct mbox_mode
ACK = struct.Struct("=QII")                     # struct mbox_ack
MBOX_IOC_SET_MODE = _ioc(1, 0x04, MODE.size)
MBOX_IOC_ACK = _ioc(1, 0x08, ACK.size)
MBOX_MODE_HEADER, MBOX_MODE_ACK = 0x1, 0x2
FLAG_NAMES = {0x1: "cred_mismatch", 0x2: "urgent", 0x4: "redelivered"}


def main():
    path, ack = sys.argv[1], "--no-ack" not in sys.argv[2:]
    fd = os.open(path, os.O_RDONLY)
    fcntl.ioctl(fd, MBOX_IOC_SET_MODE,
                MODE.pack(MBOX_MODE_HEADER | MBOX_MODE_ACK, 0))
    data = os.read(fd, HEADER.size + 65536)
    (hdr_size, flags, seq, _, size, _, _, uid, _, _, _,
     deliveries) = HEADER.unpack_from(data)
    names = ",".join(n for b, n in FLAG_NAMES.items() if flags & b) or "-"
    payload = data[hdr_size:hdr_size + size].decode()
    print(f"reader {os.getpid()}: seq {seq} from uid {uid}, flags {names}, "
          f"delivery {deliveries}: {payload}", flush=True)
    if not ack:
        print(f"reader {os.getpid()}: working on it, not acknowledged yet",
              flush=True)
        while True:
            signal.pause()
    fcntl.ioctl(fd, MBOX_IOC_ACK, ACK.pack(seq, 0, 0))
    print(f"reader {os.getpid()}: acknowledged seq {seq}")


if __name__ == "__main__":
    main()
