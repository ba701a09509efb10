"""Write a labeled-item JSON Lines file of about N megabytes, for measuring `newswatch labels import`.

    python bench/labels_file.py 50 /tmp/labels-50mb.jsonl
    /usr/bin/time -v newswatch labels import /tmp/labels-50mb.jsonl   # "Maximum resident set size"

Each record is a distinct item (its own id) with a ~600-character summary, like an exported label of a real
feed item; a third are about a topic.
"""

from __future__ import annotations

import json
import random
import sys

WORDS = ("pyongyang moscow summit missile drills alliance navy exercise sanctions minister talks border "
         "seoul tokyo washington joint carrier artillery envoy treaty cooperation ammunition satellite").split()


def main(megabytes: float, path: str) -> None:
    rng = random.Random(7)
    target = int(megabytes * 1024 * 1024)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        n = 0
        while written < target:
            topics = [["russia_dprk"], ["alliance_drills"], [], [], [], []][n % 6]
            record = {"id": f"bench-{n}", "title": " ".join(rng.choices(WORDS, k=9)).capitalize(),
                      "summary": " ".join(rng.choices(WORDS, k=80)), "url": f"https://news.example/{n}",
                      "topics": topics}
            line = json.dumps(record) + "\n"
            out.write(line)
            written += len(line)
            n += 1
    print(f"{path}: {n} items, {written / 1024 / 1024:.1f} MB")


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2])
