"""Checks an ONNX file trustrl exported with runtimes trustrl did not write.

Usage: check_onnx.py CASE_DIR. CASE_DIR holds model.onnx, the inputs fed to it and the outputs
trustrl's own inference gave (raw float32, one file per tensor, [rows, width]), and manifest.json
naming them. The file must pass onnx.checker, declare a dynamic batch and the metadata, and
OpenCV's DNN module must reproduce trustrl's outputs within 1e-5 (the deterministic action
exactly for discrete actions, except where the two best logits are closer than that).
Prints "ok: ..." and exits 0, or prints what differs and exits 1.
"""

import json
import os
import sys

import cv2
import numpy as np
import onnx

TOLERANCE = 1e-5


def main(case_dir):
    with open(os.path.join(case_dir, "manifest.json")) as f:
        manifest = json.load(f)
    rows = manifest["rows"]
    path = os.path.join(case_dir, "model.onnx")

    def tensor(name, width):
        data = np.fromfile(os.path.join(case_dir, name + ".bin"), dtype=np.float32)
        return data.reshape(rows, width)

    model = onnx.load(path)
    onnx.checker.check_model(model)
    problems = []
    inputs = {i.name: i for i in model.graph.input}
    for name, width in manifest["inputs"].items():
        dims = inputs[name].type.tensor_type.shape.dim
        if dims[0].dim_param == "" or dims[1].dim_value != width:
            problems.append(f"input {name} is not [batch, {width}]")
    props = {p.key: p.value for p in model.metadata_props}
    for key, value in manifest["metadata"].items():
        if props.get(key) != value:
            problems.append(f"metadata {key} is {props.get(key)!r}, not {value!r}")
    declared = [o.name for o in model.graph.output]
    if sorted(declared) != sorted(manifest["outputs"]):
        problems.append(f"outputs {declared}, expected {sorted(manifest['outputs'])}")

    net = cv2.dnn.readNetFromONNX(path)
    feeds = {name: tensor(name, width) for name, width in manifest["inputs"].items()}
    for name, value in feeds.items():
        net.setInput(value, name)
    names = list(manifest["outputs"])
    got = dict(zip(names, net.forward(names)))
    worst = {}
    for name, width in manifest["outputs"].items():
        expected = tensor(name, width)
        actual = np.asarray(got[name], dtype=np.float64).reshape(rows, width)
        if name == "action" and "categorical_blocks" in manifest:
            # OpenCV 4.6 drops an int64 Add after ArgMax (Discrete spaces with a start != 0):
            # there the action is the argmax of OpenCV's logits plus the start, checked by numpy.
            start = manifest["action_start"]
            if start != 0:
                logits = np.asarray(got["logits"], dtype=np.float64).reshape(rows, -1)
                actual = np.argmax(logits, axis=1).reshape(rows, 1) + start
            reference = tensor("logits", sum(manifest["categorical_blocks"]))
            offset, mismatches = 0, 0
            for k, n in enumerate(manifest["categorical_blocks"]):
                block = np.sort(reference[:, offset:offset + n], axis=1)
                near_tie = block[:, -1] - block[:, -2] < TOLERANCE if n > 1 else np.zeros(rows, bool)
                differ = actual[:, k] != expected[:, k]
                mismatches += int(np.sum(differ & ~near_tie))
                offset += n
            worst[name] = mismatches
            if mismatches:
                problems.append(f"{mismatches} deterministic actions differ")
            continue
        diff = float(np.max(np.abs(actual - expected)))
        worst[name] = diff
        if not diff <= TOLERANCE:
            problems.append(f"{name}: max abs difference {diff:.3g} > {TOLERANCE}")

    # A batch of another size runs through the same graph (the batch dimension is dynamic).
    for name, value in feeds.items():
        net.setInput(value[:7], name)
    if net.forward(names[0]).shape[0] != 7:
        problems.append("a batch of 7 rows did not give 7 rows")

    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print(f"ok: onnx.checker passed, OpenCV {cv2.__version__} matches trustrl on {rows} rows "
          f"(max abs differences / action mismatches: {worst})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
