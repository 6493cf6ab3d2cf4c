#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the syzkaller description (selftests/syzkaller/mbox.txt and its
.const file) against uapi/linux/mbox.h and the running module, since
syzkaller itself cannot be installed here.  The header is parsed (structs
of __u32/__s32/__u64/__aligned_u64 fields, #define constants, _IOR/_IOW/
_IOWR commands), the description is parsed line by line with syzlang's
grammar for the constructs it uses, and both must agree: every ioctl
described with the header's structure in the header's direction, every
structure field by field with the same widths and total size, every
constant defined with the header's value.  Then the ioctl numbers are
tried on /dev/mbox3: the module must accept each of them."""
import errno
import fcntl
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import case, done  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
HEADER = os.path.join(TOP, "uapi/linux/mbox.h")
DESC = os.path.join(TOP, "selftests/syzkaller/mbox.txt")
CONSTS = DESC + ".const"
DEV = "/dev/mbox3"



# ---- the header
CTYPES = {"__u32": 4, "__s32": 4, "__u64": 8, "__aligned_u64": 8, "char": 1}
IOC_DIR = {"_IO": 0, "_IOW": 1, "_IOR": 2, "_IOWR": 3}


def parse_header():
    text = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    consts, ioctls = {}, {}
    for name, value in re.findall(r"#define\s+(\w+)\s+(.+)", text):
        value = value.strip()
        m = re.match(r"(_IO\w*)\(MBOX_IOC_MAGIC, (0x[0-9a-fA-F]+), "
                     r"struct (\w+)\)", value)
        if m:
            ioctls[name] = (IOC_DIR[m.group(1)], int(m.group(2), 16),
                            m.group(3))
            continue
        expr = re.sub(r"(0x[0-9a-fA-F]+|\d+)U?L*L?", r"\1", value)
        if re.fullmatch(r"[\w\s|()]+", expr):
            try:
                consts[name] = eval(expr, {}, dict(consts))
            except NameError:
                pass
    # Array lengths may be constant expressions (char name[MBOX_NAME_MAX + 1]).
    structs = {}
    for name, body in re.findall(r"struct (\w+) \{(.*?)\};", text, re.S):
        fields = []
        for ctype, fname, count in re.findall(
                r"(\w+)\s+(\w+)(?:\[([\w\s+]+)\])?;", body):
            assert ctype in CTYPES, f"{name}.{fname}: type {ctype}"
            n = eval(count, {}, dict(consts)) if count else 1
            fields.append((fname, CTYPES[ctype] * n))
        structs[name] = fields
    for name, (d, nr, sname) in ioctls.items():
        size = sum(w for _, w in structs[sname])
        consts[name] = (d << 30) | (size << 16) | \
            (consts["MBOX_IOC_MAGIC"] << 8) | nr
    return structs, consts, ioctls


# ---- the description (the subset of syzlang it uses)
RE_COMMENT = re.compile(r"^\s*(#.*)?$")
RE_INCLUDE = re.compile(r"^include <[\w/.]+>$")
RE_RESOURCE = re.compile(r"^resource (\w+)\[(\w+)\](?::\s*[\w, ]+)?$")
RE_CALL = re.compile(r"^(\w+)(?:\$(\w+))?\((.*)\)(?: (\w+))?$")
RE_FLAGS = re.compile(r"^(\w+) = (\w+(?:, \w+)*)$")
RE_STRFLAGS = re.compile(r'^(\w+) = ("[^"]*"(?:, "[^"]*")*)$')
RE_STRUCT = re.compile(r"^(\w+) \{$")
RE_FIELD = re.compile(r"^\t(\w+)\t+(.+?)(?:\t+\((in|out|inout)\))?$")
BUILTIN_4 = {"int32", "pid", "uid", "gid", "fd"}
BUILTIN_8 = {"int64", "intptr"}


def split_top(s):
    """Split at commas that are not nested in brackets."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            assert depth >= 0, f"unbalanced: {s}"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    assert depth == 0, f"unbalanced: {s}"
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_desc():
    calls, flags, structs, resources = [], {}, {}, {}
    current = None
    for n, line in enumerate(open(DESC).read().split("\n"), 1):
        where = f"mbox.txt:{n}"
        if current is not None:
            if line == "}":
                current = None
                continue
            m = RE_FIELD.match(line)
            assert m, f"{where}: not a field: {line!r}"
            structs[current].append((m.group(1), m.group(2)))
            continue
        if RE_COMMENT.match(line) or RE_INCLUDE.match(line):
            continue
        m = RE_RESOURCE.match(line)
        if m:
            resources[m.group(1)] = m.group(2)
            continue
        m = RE_STRUCT.match(line)
        if m:
            current = m.group(1)
            assert current not in structs, f"{where}: {current} twice"
            structs[current] = []
            continue
        m = RE_FLAGS.match(line)
        if m:
            flags[m.group(1)] = m.group(2).split(", ")
            continue
        if RE_STRFLAGS.match(line):   # string values: no constant in them
            continue
        m = RE_CALL.match(line)
        assert m, f"{where}: not syzlang: {line!r}"
        args = []
        for arg in split_top(m.group(3)):
            am = re.match(r"^(\w+) (.+)$", arg)
            assert am, f"{where}: argument {arg!r}"
            args.append((am.group(1), am.group(2)))
        calls.append((m.group(1), m.group(2), args, m.group(4), where))
    assert current is None, "unterminated struct"
    return calls, flags, structs, resources


def width(t, structs, resources):
    """Bytes a field type takes (None: variable length)."""
    m = re.match(r"^(\w+)(?:\[(.*)\])?$", t)
    assert m, f"type {t!r}"
    base, params = m.group(1), split_top(m.group(2) or "")
    if base in resources:
        return width(resources[base], structs, resources)
    if base in BUILTIN_4:
        return 4
    if base == "int8":
        return 1
    if base in BUILTIN_8 or base == "ptr64":
        return 8
    if base in ("flags", "const", "len"):
        return width(params[1], structs, resources)
    if base == "array":
        if len(params) < 2:
            return None
        inner = width(params[0], structs, resources)
        return inner * int(params[1])
    if base in structs:
        total = 0
        for _, ft in structs[base]:
            w = width(ft.split("\t")[0], structs, resources)
            if w is None:
                return None
            total += w
        return total
    raise AssertionError(f"unknown type {t!r}")


def parse_consts():
    consts = {}
    for line in open(CONSTS):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("arches"):
            continue
        name, value = [x.strip() for x in line.split("=", 1)]
        consts[name] = int(value.split(",")[0])
    return consts


hstructs, hconsts, hioctls = parse_header()
calls, dflags, dstructs, dresources = parse_desc()
dconsts = parse_consts()
DIRS = {0: None, 1: "in", 2: "out", 3: "inout"}


@case("the description parses (syzlang subset) and the header parses")
def _():
    assert calls and dstructs and hstructs and hioctls


@case("every ioctl of the header is described, with its struct and direction")
def _():
    described = {}
    for call, variant, args, ret, where in calls:
        if call != "ioctl":
            continue
        # The control node's commands take its own descriptor.
        fd_type = "fd_mbox_ctl" if variant.startswith("MBOX_CTL_") \
            else "fd_mbox"
        assert args[0] == ("fd", fd_type), where
        cm = re.match(r"^const\[(\w+)\]$", args[1][1])
        assert cm and cm.group(1) == variant.replace("_mbox", ""), where
        described[variant] = (args[2][1], where)
    for name, (d, nr, sname) in hioctls.items():
        assert name in described, f"{name} not described"
        am = re.match(r"^ptr\[(\w+), (\w+)\]$", described[name][0])
        assert am, described[name][1]
        assert am.group(1) == DIRS[d], f"{name}: {am.group(1)} vs {DIRS[d]}"
        assert am.group(2) == sname, f"{name}: struct {am.group(2)}"
    extra = set(described) - set(hioctls) - {"FIONREAD_mbox"}
    assert not extra, f"described but not in the header: {extra}"


@case("every struct matches the header field by field, widths and size")
def _():
    for sname, hfields in hstructs.items():
        assert sname in dstructs, f"struct {sname} not described"
        dfields = dstructs[sname]
        assert [f for f, _ in dfields] == [f for f, _ in hfields], sname
        for (fname, ftype), (_, hw) in zip(dfields, hfields):
            w = width(ftype, dstructs, dresources)
            assert w == hw, f"{sname}.{fname}: {w} bytes, header {hw}"
        assert width(sname, dstructs, dresources) == \
            sum(w for _, w in hfields), sname


@case("every constant is the header's, and in the .const file")
def _():
    text = open(DESC).read()
    text = "\n".join(l for l in text.split("\n") if not l.startswith("#"))
    used = set(re.findall(r"\b(MBOX_\w+|FIONREAD)\b", text))
    for name in used:
        assert name in dconsts, f"{name} missing from mbox.txt.const"
        if name == "FIONREAD":
            assert dconsts[name] == 0x541B
            continue
        assert name in hconsts, f"{name} not in the header"
        assert dconsts[name] == hconsts[name], \
            f"{name}: {dconsts[name]} in .const, {hconsts[name]} in header"


@case("every flag bit of the header is in a flags set")
def _():
    described = {v for vals in dflags.values() for v in vals}
    for name in hconsts:
        # Structure sizes (MBOX_*_SIZE_VER0) share the prefixes: no flags.
        if re.match(r"MBOX_(MSG|MODE|ACK|FLUSH|URGENT|CREATE)_", name) and \
                "ALL" not in name and not name.endswith("_SIZE_VER0"):
            assert name in described, f"{name} in no flags set"
    for vals in dflags.values():
        for v in vals:
            assert v in hconsts, v


@case("the module accepts every described ioctl number")
def _():
    fd = os.open(DEV, os.O_RDWR | os.O_NONBLOCK)
    try:
        flush = hconsts["MBOX_IOC_FLUSH"]
        fcntl.ioctl(fd, flush, bytes(32))
        info = fcntl.ioctl(fd, hconsts["MBOX_IOC_GET_INFO"], bytes(96))
        assert struct.unpack_from("<I", info)[0] == 3
        mode = struct.pack("<II", 1, 0)
        fcntl.ioctl(fd, hconsts["MBOX_IOC_SET_MODE"], mode)
        got = fcntl.ioctl(fd, hconsts["MBOX_IOC_GET_MODE"], bytes(8))
        assert struct.unpack("<II", got) == (1, 0)
        try:
            fcntl.ioctl(fd, hconsts["MBOX_IOC_PEEK"], bytes(72))
            raise AssertionError("PEEK on an empty mailbox succeeded")
        except OSError as e:
            assert e.errno == errno.ENOMSG, e
        buf = b"urgent"
        import ctypes
        cbuf = ctypes.create_string_buffer(buf)
        urgent = struct.pack("<QIIIIQQQQ", ctypes.addressof(cbuf), len(buf),
                             0, 0, 0, 0, 0, 0, 0)
        out = fcntl.ioctl(fd, hconsts["MBOX_IOC_SEND_URGENT"], urgent)
        seq = struct.unpack_from("<Q", out, 32)[0]
        assert seq > 0
        for name in ("MBOX_IOC_ACK", "MBOX_IOC_NACK"):
            try:   # not in ack mode, no lease: EINVAL, not ENOTTY
                fcntl.ioctl(fd, hconsts[name], struct.pack("<QII", seq, 0, 0))
                raise AssertionError(f"{name} succeeded")
            except OSError as e:
                assert e.errno == errno.EINVAL, (name, e)
        limits = struct.pack("<IIQIIQ", 0, 0, 0, 0, 0, 0)
        fcntl.ioctl(fd, hconsts["MBOX_IOC_SET_LIMITS"], limits)
        n = struct.unpack("<i", fcntl.ioctl(fd, dconsts["FIONREAD"],
                                             bytes(4)))[0]
        assert n == 72 + len(buf), n
        fcntl.ioctl(fd, flush, bytes(32))
        # One entry each way; a mutable argument returns the call's value.
        for name, data in (("MBOX_IOC_SEND_BATCH", b"batch"),
                           ("MBOX_IOC_RECV_BATCH", bytes(128))):
            cdata = ctypes.create_string_buffer(data, len(data))
            entry = ctypes.create_string_buffer(
                struct.pack("<QII", ctypes.addressof(cdata), len(data), 0))
            batch = bytearray(struct.pack("<QIIII", ctypes.addressof(entry),
                                          1, 16, 0, 0))
            assert fcntl.ioctl(fd, hconsts[name], batch, True) == 1, name
            result = struct.unpack_from("<I", entry.raw, 12)[0]
            if name == "MBOX_IOC_SEND_BATCH":
                assert result == 5, result
            else:   # header mode: the header, then the payload
                assert result == 72 + 5, result
                assert cdata.raw[72:77] == b"batch", cdata.raw[:80]
    finally:
        os.close(fd)


done()
