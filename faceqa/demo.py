"""``make demo``: faceqa on built-in data.

1. ``faceqa analyze`` on skimage's astronaut portrait (a real face shipped by scikit-image).
2. A synthetic micro-expression clip made from that portrait (brow lowerer + lid tightener on
   both sides, 0.4 s, with head sway and a blink as distractors), then ``faceqa spot`` on it, which
   names the AUs and the emotion deduced from them.
3. ``faceqa ask`` with MEGC questions about that clip's onset..offset: answered by the LLM with
   the installed adapter bundle (``adapters/default``, ``--answerer llm``), by the grounded composer
   (``--no-llm``), and by the default ``auto`` routing, which picks per question type the answerer
   the bundle measured better on held-out subjects.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def astronaut() -> np.ndarray:
    """skimage's astronaut portrait, RGB uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def demo_clip(folder: Path):
    """Write the demo's micro-expression clip (a frame folder) and return its spec."""
    from faceqa.synth import ClipSpec, Distractors, InjectedAU, InjectedEvent, make_clip

    spec = ClipSpec(
        n_frames=90, fps=30.0,
        events=[InjectedEvent(40, 46, 52, [InjectedAU(4, "both", 0.8), InjectedAU(7, "both", 0.4)])],
        distractors=Distractors(head_shift_px=3.0, head_rotation_deg=1.0, blinks=[15], blink_frames=5),
    )
    make_clip(astronaut()[0:360, 45:405], spec, folder)
    return spec


def main() -> int:
    """Run the demo steps and print what faceqa finds."""
    from faceqa.cli.main import main as cli

    with tempfile.TemporaryDirectory(prefix="faceqa-demo-") as tmp:
        image = Path(tmp) / "astronaut.png"
        Image.fromarray(astronaut()).save(image)
        print(f"$ faceqa analyze {image.name}")
        rc = cli(["analyze", str(image)])
        if rc:
            return rc
        clip = Path(tmp) / "astronaut_micro"
        spec = demo_clip(clip)
        ev = spec.events[0]
        print(f"\nSynthetic clip {clip.name}/: 90 frames at 30 fps; injected brow lowerer + lid tightener, "
              f"onset {ev.onset}, apex {ev.apex}, offset {ev.offset}, with head sway and a blink at frame 15")
        print(f"$ faceqa spot {clip.name} --fps 30")
        rc = cli(["spot", str(clip), "--fps", "30", "--no-progress"])
        if rc:
            return rc
        window = ["--fps", "30", "--onset", str(ev.onset - 3), "--offset", str(ev.offset + 3), "--no-progress"]
        questions = ["What are the action units present, and based on them, what is the fine-grained expression "
                     "and the coarse expression class?", "Is the action unit brow lowerer shown on the face?"]
        print(f"\n$ faceqa ask {clip.name} {' '.join(window[:6])} \"{questions[0]}\" \"{questions[1]}\" "
              "--answerer llm   (the LLM with the installed bundle)")
        rc = cli(["ask", str(clip), *questions, *window, "--answerer", "llm"])
        if rc:
            return rc
        print(f"\n$ faceqa ask {clip.name} ... --no-llm   (the grounded composer)")
        rc = cli(["ask", str(clip), *questions, *window, "--no-llm"])
        if rc:
            return rc
        print(f"\n$ faceqa ask {clip.name} ...   (default: auto, each question type to the answerer measured better)")
        rc = cli(["ask", str(clip), *questions, *window])
    return rc


if __name__ == "__main__":
    sys.exit(main())
