"""babilong.py - the seeds' workflow over wim: a BABILong JSON file
({"context", "query", "target"}) in, the answer out.

    python3 babilong.py MODEL.gguf ../shared/reference/babilong_8k.json
"""
import json
import sys

import wim

model_path, data_path = sys.argv[1:3]
example = json.load(open(data_path))
with wim.Model(model_path) as model, wim.Session(model, segment_tokens=400) as session:
    done = session.read(example["context"], example["query"],
                        lambda e: print("margin:", e["text"]) if e["event"] == "margin" else None)
print("answer:", done["answer"].strip(), "| target:", example["target"])
