"""Identity benchmark: milliseconds per face to align (mesh + 5-point warp) and embed, SFace and dlib.

The faces come from the astronaut and, when ``../shared/data`` is present, the deepface photos
(detected once, outside the timing, as a caller that already has its detections would). For each
face it times alignment (one mesh pass from the detection, the 5-point similarity warp to
112x112) and the embedding, one face per call and then all faces of a "frame" (``--batch``
faces) in one call, and, for comparison, the int8 SFace file as shipped. Wall time and this
process's CPU time are both printed: on a shared machine wall time includes waiting for a core.

    python benchmarks/identity.py [--repeat 3] [--batch 4] [--models sface,dlib]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from faceqa.media import read_image
from faceqa.perception.detection import FaceDetector, largest_face
from faceqa.perception.identity import MODELS, get_embedder

DEEPFACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "deepface" / "images"


def faces(limit: int) -> list[tuple[np.ndarray, object]]:
    """(image, detection) of the astronaut and up to ``limit - 1`` deepface photos."""
    from skimage import data

    images = [np.ascontiguousarray(data.astronaut())]
    if DEEPFACE.is_dir():
        images += [read_image(p) for p in sorted(DEEPFACE.iterdir())[: limit - 1]]
    detector = FaceDetector()
    return [(im, largest_face(im, detector)) for im in images]


def timed(fn, *args) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn(*args)
    return 1000 * (time.perf_counter() - w), 1000 * (time.process_time() - c)


def as_shipped():
    """An onnxruntime session on the SFace file as shipped (only its unused graph inputs dropped)."""
    import onnx
    import onnxruntime as ort

    from faceqa.models import model_path

    m = onnx.load(str(model_path("sface")))
    keep = [i for i in m.graph.input if i.name == "data"]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])


def bench(model: str, found: list, repeat: int, batch: int) -> None:
    """Print median wall/CPU ms per face, one at a time and ``batch`` faces per call."""
    embedder = get_embedder(model)
    embedder.embed(*found[0])  # load the model outside the timing
    single = [timed(embedder.embed, im, det) for _ in range(repeat) for im, det in found]
    wall, cpu = np.median([s[0] for s in single]), np.median([s[1] for s in single])
    print(f"{model:<6} one face per call:   {wall:6.1f} ms wall, {cpu:6.1f} ms CPU per face (median of {len(single)})")
    im, det = found[0]
    many = [timed(embedder.embed_many, im, [det] * batch) for _ in range(repeat * 3)]
    wall, cpu = np.median([s[0] for s in many]) / batch, np.median([s[1] for s in many]) / batch
    print(f"{model:<6} {batch} faces per call:   {wall:6.1f} ms wall, {cpu:6.1f} ms CPU per face")
    if model == "sface":
        crops = embedder.crops(im, [det] * batch)
        align = [timed(embedder.crops, im, [det]) for _ in range(repeat * 3)]
        net = [timed(embedder.embed_crops, crops) for _ in range(repeat * 3)]
        shipped = as_shipped()
        raw = np.ascontiguousarray(crops[:1].astype(np.float32).transpose(0, 3, 1, 2))
        orig = [timed(shipped.run, None, {"data": raw}) for _ in range(repeat)]
        print(f"{model:<6} the int8 file as shipped (dequantising on every call, batch 1): "
              f"{np.median([o[0] for o in orig]):.1f} ms wall ({np.median([o[1] for o in orig]):.1f} CPU) per face")
        print(f"{model:<6} of which align {np.median([a[0] for a in align]):.1f} ms wall "
              f"({np.median([a[1] for a in align]):.1f} CPU), network {np.median([n[0] for n in net]) / batch:.1f} "
              f"ms wall ({np.median([n[1] for n in net]) / batch:.1f} CPU) per face in a batch of {batch}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=8, help="how many photos (astronaut first)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the faces")
    parser.add_argument("--batch", type=int, default=4, help="faces per call in the batched run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated recognizers")
    args = parser.parse_args(argv)
    found = faces(args.faces)
    for model in args.models.split(","):
        bench(model.strip(), found, args.repeat, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
