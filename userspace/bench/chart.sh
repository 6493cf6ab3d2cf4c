#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Draw mbox_bench's ratios to the pipe as a PNG with gnuplot:
#   chart.sh icount.json results.json ratios.png
# Top, from the icount VM (exact): instructions per message in scenario 1
# (send + receive in one thread) and scenario 7 (writer and reader
# alternating on one CPU), lower is better.  Bottom, from the two-CPU TCG
# VM (noisy): messages/s in scenarios 2 and 3, higher is better.  The pipe
# is the line at 1; the y axes are logarithmic.  A JSON that is missing or
# empty leaves its panel out.  The batched mechanisms (mbox-b16,
# seqpkt-m16) have no scenario 7 bars: a ping-pong moves one message at a
# time.
set -euo pipefail
icount=$1
tcg=$2
png=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$icount" "$tcg" "$tmp" "$png" > "$tmp/plot.gp" <<'PY'
import json, os, sys
icount_path, tcg_path, tmp, png = sys.argv[1:5]
mechs = ["mbox", "mbox-b16", "seqpacket", "seqpkt-m16", "dgram", "posix-mq",
         "sysv-msg"]
colors = ["#d62728", "#ff9896", "#1f77b4", "#9467bd", "#aec7e8", "#2ca02c",
          "#98df8a"]

def load(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    return json.load(open(path))

def label(size):
    return "%d KiB" % (size // 1024) if size >= 1024 else "%d B" % size

def ratio(res, scen, metric, size, mech):
    for x in res["results"]:
        if (x["scenario"], x["metric"], x["size"], x["mech"]) == \
           (scen, metric, size, mech) and (x.get("ratio_to_pipe") or 0) > 0:
            return x["ratio_to_pipe"]
    return None

def table(res, name, picks):
    rows = []
    for scen, metric, tag in picks:
        for size in (64, 1024, 4096, 65536):
            rows.append(('"%s %s"' % (tag, label(size)),
                         [ratio(res, scen, metric, size, m) for m in mechs]))
    # A mechanism with no figure at all would stop gnuplot: leave it out.
    keep = [i for i in range(len(mechs)) if any(r[1][i] for r in rows)]
    path = "%s/%s.dat" % (tmp, name)
    with open(path, "w") as f:
        for lab, vals in rows:
            f.write(lab + " " + " ".join("%.4f" % vals[i] if vals[i] else "NaN"
                                         for i in keep) + "\n")
    return path, keep

def plot(path, keep):
    parts = []
    for col, i in enumerate(keep, start=2):
        src = '"%s"' % path if col == 2 else "''"
        xt = ":xtic(1)" if col == 2 else ""
        parts.append('%s using %d%s title "%s" lc rgb "%s"' %
                     (src, col, xt, mechs[i], colors[i]))
    parts.append('1 notitle lc rgb "black" lw 2')
    return "plot " + ", \\\n\t".join(parts)

def describe(res):
    return "kernel %s, %d CPU%s, %s, median of %d reps" % (
        res["kernel"].split()[0], res["cpus"], "" if res["cpus"] == 1 else "s",
        res["accel"], res["reps"])

ic, tc = load(icount_path), load(tcg_path)
panels = []
if ic:
    panels.append((table(ic, "cost", [(1, "ns_per_msg", "S1"),
                                      (7, "ns_per_msg", "S7")]),
                   "instructions / pipe's (lower is better)",
                   "icount, exact (%s): S1 send + receive in one thread; S7 writer and reader alternating on one CPU" % describe(ic)))
if tc:
    panels.append((table(tc, "rate", [(2, "msgs_per_s", "S2"),
                                      (3, "msgs_per_s", "S3")]),
                   "messages/s / pipe's (higher is better)",
                   "TCG wall time, NOISY (%s): S2 1 writer -> 1 reader; S3 4 writers -> 1 reader" % describe(tc)))
if not panels:
    sys.exit("chart.sh: no results to draw")
print('set terminal pngcairo size 1400,%d font "DejaVu Sans,10"' %
      (450 * len(panels)))
print('set output "%s"' % png)
print('set multiplot layout %d,1 title "mbox vs other local IPC: ratio to the pipe (pipe = 1)"' % len(panels))
print("set style data histograms")
print("set style histogram clustered gap 1")
print("set style fill solid 0.85 border -1")
print("set boxwidth 0.9")
print("set logscale y 2")
print("set grid ytics")
print("set key outside right top")
print("set xtics rotate by -30 scale 0")
for (data, ylabel, title) in panels:
    print('set ylabel "%s"' % ylabel)
    print('set title "%s"' % title)
    print(plot(*data))
print("unset multiplot")
PY
gnuplot "$tmp/plot.gp"
