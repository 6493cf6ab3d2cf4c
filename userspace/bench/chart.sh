#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Draw mbox_bench's ratios to the pipe as a PNG with gnuplot:
#   chart.sh results.json ratios.png
# Top: costs (scenario 1 per message, scenario 4 round-trip p50), lower is
# better; bottom: throughput (scenarios 2 and 3), higher is better.  The
# pipe is the line at 1; the y axes are logarithmic.  The batched
# mechanisms (mbox-b16, seqpkt-m16) have no scenario 4 bars: a round trip
# moves one message at a time.
set -euo pipefail
json=$1
png=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$json" "$tmp" "$png" > "$tmp/plot.gp" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
tmp, png = sys.argv[2], sys.argv[3]
mechs = ["mbox", "mbox-b16", "seqpacket", "seqpkt-m16", "dgram", "posix-mq",
         "sysv-msg"]
colors = ["#d62728", "#ff9896", "#1f77b4", "#9467bd", "#aec7e8", "#2ca02c",
          "#98df8a"]

def label(size):
    return "%d KiB" % (size // 1024) if size >= 1024 else "%d B" % size

def ratio(scen, metric, size, mech):
    for x in res["results"]:
        if (x["scenario"], x["metric"], x["size"], x["mech"]) == \
           (scen, metric, size, mech) and x.get("ratio_to_pipe", 0) > 0:
            return x["ratio_to_pipe"]
    return None

def table(name, picks):
    rows = []
    for scen, metric, tag in picks:
        for size in (64, 1024, 4096, 65536):
            rows.append(('"%s %s"' % (tag, label(size)),
                         [ratio(scen, metric, size, m) for m in mechs]))
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

title = "kernel %s, %d CPUs, %s, median of %d reps" % (
    res["kernel"].split()[0], res["cpus"], res["accel"], res["reps"])
cost = table("cost", [(1, "ns_per_msg", "S1"), (4, "rtt_p50_ns", "S4 p50")])
rate = table("rate", [(2, "msgs_per_s", "S2"), (3, "msgs_per_s", "S3")])
print('set terminal pngcairo size 1400,900 font "DejaVu Sans,10"')
print('set output "%s"' % png)
print('set multiplot layout 2,1 title "mbox vs other local IPC: ratio of medians to the pipe (pipe = 1); %s"' % title)
print("set style data histograms")
print("set style histogram clustered gap 1")
print("set style fill solid 0.85 border -1")
print("set boxwidth 0.9")
print("set logscale y 2")
print("set grid ytics")
print("set key outside right top")
print("set xtics rotate by -30 scale 0")
print('set ylabel "cost / pipe cost (lower is better)"')
print('set title "Scenario 1: send + receive in one thread; scenario 4: ping-pong round trip, p50"')
print(plot(*cost))
print('set ylabel "messages/s / pipe (higher is better)"')
print('set title "Scenario 2: 1 writer -> 1 reader; scenario 3: 4 writers -> 1 reader"')
print(plot(*rate))
print("unset multiplot")
PY
gnuplot "$tmp/plot.gp"
