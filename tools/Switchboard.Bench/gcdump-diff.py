#!/usr/bin/env python3
"""Per-connection difference by type between two `dotnet-gcdump report` outputs.

Usage: gcdump-diff.py BEFORE.txt AFTER.txt CONNECTIONS [MIN_BYTES_PER_CONNECTION]
Prints the types whose retained bytes grew (or shrank) by at least MIN (default 8) bytes per
connection, largest first, and the total. The report lists each type's object size and count (bytes = size x count);
size-bucket labels such as "(Bytes > 1K)" are folded into one line per type.
"""
import re
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*([\d,]+)\s+([\d,]+)\s+(.+?)\s+\[[^\]]*\]\s*$")


def load(path):
    totals = defaultdict(int)
    counts = defaultdict(int)
    for line in open(path, encoding="utf-8"):
        m = LINE.match(line)
        if not m:
            continue
        size, count = int(m[1].replace(",", "")), int(m[2].replace(",", ""))
        name = re.sub(r"\s*\(Bytes > \d+K\)", "", m[3])
        # The report's first column is the size of one object of the type (an average for arrays).
        totals[name] += size * count
        counts[name] += count
    return totals, counts


before, before_counts = load(sys.argv[1])
after, after_counts = load(sys.argv[2])
n = int(sys.argv[3])
floor = float(sys.argv[4]) if len(sys.argv) > 4 else 8
rows = []
for name in set(before) | set(after):
    delta = (after.get(name, 0) - before.get(name, 0)) / n
    objects = (after_counts.get(name, 0) - before_counts.get(name, 0)) / n
    if abs(delta) >= floor:
        rows.append((delta, objects, name))
rows.sort(reverse=True)
print("| bytes per connection | objects per connection | type |")
print("| ---: | ---: | --- |")
for delta, objects, name in rows:
    short = re.sub(r"(Microsoft\.AspNetCore\.|System\.|Switchboard\.)([\w.]*\.)?", "", name)
    print(f"| {delta:,.0f} | {objects:.2f} | `{short}` |")
print(f"| **{sum(r[0] for r in rows):,.0f}** | | total of the lines above |")
