"""Identity benchmark: milliseconds per face to align and embed, SFace (each runtime) and dlib.

The faces come from the astronaut and, when ``../shared/data`` is present, the deepface photos
(detected once, outside the timing, as a caller that already has its detections would). For SFace
it times the mesh pass that gives the 5 points (a video pipeline has the mesh already), the
5-point similarity warp to 112x112, and the network in each runtime (``$FACEQA_SFACE_RUNTIME``:
onnx, torch, torch-bf16), one face per call and ``--batch`` different faces per call (the faces of
a frame, or of a gallery enrolment), and, for comparison, the int8 file as shipped. dlib is timed
end to end (its own 5-point alignment + ResNet). Wall time and this process's CPU time are both
printed: on a shared machine wall time includes waiting for a core.

    python benchmarks/identity.py [--repeat 3] [--batch 8] [--models sface,dlib] [--runtimes onnx,torch-bf16]
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
from faceqa.perception.sface import RUNTIMES

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


def bench_dlib(found: list, repeat: int, batch: int) -> None:
    """Print dlib's median wall/CPU ms per face (5-point alignment + ResNet), one face and ``batch`` per call."""
    embedder = get_embedder("dlib")
    embedder.embed(*found[0])  # load the model outside the timing
    single = [timed(embedder.embed, im, det) for _ in range(repeat) for im, det in found]
    print(f"dlib   align + embed, one face per call: {np.median([s[0] for s in single]):6.1f} ms wall, "
          f"{np.median([s[1] for s in single]):6.1f} ms CPU per face (median of {len(single)})")
    im, det = found[0]
    many = [timed(embedder.embed_many, im, [det] * batch) for _ in range(repeat * 3)]
    print(f"dlib   align + embed, {batch} faces per call: {np.median([s[0] for s in many]) / batch:6.1f} ms wall, "
          f"{np.median([s[1] for s in many]) / batch:6.1f} ms CPU per face")


def bench_sface(found: list, repeat: int, batch: int, runtimes: list[str]) -> None:
    """Print SFace's median ms per face: the mesh pass, the 5-point warp, and the network in each runtime,
    one face and ``batch`` faces per call, plus the int8 file as shipped."""
    from faceqa.models import model_path
    from faceqa.perception.sface import align_crop, five_points, load_runtime

    embedder = get_embedder("sface")
    meshes = [embedder.landmarks(im, det) for im, det in found]
    mesh = [timed(embedder.landmarks, im, det) for _ in range(repeat) for im, det in found]
    warp = [timed(lambda im, lm: align_crop(im, five_points(lm)), im, lm)
            for _ in range(repeat) for (im, _), lm in zip(found, meshes, strict=True)]
    w = np.median([x[0] for x in warp])
    print(f"sface  mesh pass (the landmarks a video pipeline already has): {np.median([m[0] for m in mesh]):.1f} ms "
          f"wall per face; 5-point warp to 112x112: {w:.2f} ms wall per face")
    crops = np.stack([align_crop(im, five_points(lm)) for (im, _), lm in zip(found, meshes, strict=True)])
    crops = np.concatenate([crops] * -(-batch // len(crops)))[:max(batch, len(crops))]
    for runtime in runtimes:
        net = load_runtime(model_path("sface"), runtime)
        net(crops[:batch])  # warm up outside the timing
        one = [timed(net, crops[i:i + 1]) for _ in range(repeat) for i in range(len(found))]
        many = [timed(net, crops[:batch]) for _ in range(repeat * 3)]
        one_w, many_w = np.median([o[0] for o in one]), np.median([m[0] for m in many]) / batch
        print(f"sface  {runtime:<10} warp + network: {w + one_w:6.1f} ms wall per face one at a time, "
              f"{w + many_w:6.1f} ms in batches of {batch} (network CPU "
              f"{np.median([o[1] for o in one]):.1f} / {np.median([m[1] for m in many]) / batch:.1f} ms)")
    shipped = as_shipped()
    raw = np.ascontiguousarray(crops[:1].astype(np.float32).transpose(0, 3, 1, 2))
    orig = [timed(shipped.run, None, {"data": raw}) for _ in range(repeat * 2)]
    print(f"sface  the int8 file as shipped (dequantising on every call, batch 1 only): "
          f"{np.median([o[0] for o in orig]):.1f} ms wall ({np.median([o[1] for o in orig]):.1f} CPU) per face")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=8, help="how many photos (astronaut first)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the faces")
    parser.add_argument("--batch", type=int, default=8, help="faces per call in the batched run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated recognizers")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated SFace runtimes")
    args = parser.parse_args(argv)
    found = faces(args.faces)
    for model in [m.strip() for m in args.models.split(",")]:
        if model == "sface":
            bench_sface(found, args.repeat, args.batch, [r.strip() for r in args.runtimes.split(",")])
        elif model == "dlib":
            bench_dlib(found, args.repeat, args.batch)
        else:
            parser.error(f"--models: unknown recognizer {model!r} (use {', '.join(MODELS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
