"""``faceqa attributes train|predict``: learn a numeric face attribute from labelled images, then score faces."""

from __future__ import annotations

import argparse
import sys

from faceqa.cli._args import parse_params
from faceqa.cli.output import print_json
from faceqa.errors import InvalidInputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``attributes`` subcommand and its ``train`` and ``predict`` actions."""
    from faceqa.attributes.features import FEATURE_SETS
    from faceqa.attributes.regressors import REGRESSORS

    p = sub.add_parser("attributes", help="train a face attribute regressor (BLS) and score faces with it",
                       description="Regress a numeric attribute of faces (a score in a CSV) from transfer features "
                                   "of the largest face of each image, with a Broad Learning System or a baseline.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    t = actions.add_parser("train", help="cross-validate and fit a model on a CSV of image paths and scores",
                           description="Read CSV rows (image path, score), find the largest face of each image, "
                                       "report k-fold Pearson correlation, MAE and RMSE, fit on every face and save "
                                       "the model folder.")
    t.add_argument("--csv", required=True, help="CSV with a header: an image path column and a numeric score column "
                                                "(relative paths are taken from the CSV's folder)")
    t.add_argument("--target", required=True, metavar="COLUMN", help="the numeric column to learn")
    t.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to write the model into")
    t.add_argument("--image-column", default=None,
                   help="column of image paths (default: the first of image, path, file, filename, image_path, img)")
    t.add_argument("--group", default=None, metavar="COLUMN",
                   help="column of group labels: rows of a group stay in one fold (a person, a video)")
    t.add_argument("--model", default="bls", choices=sorted(REGRESSORS), help="regressor (default bls)")
    t.add_argument("--features", default="cnn,geometry",
                   help=f"comma-separated feature sets from {', '.join(FEATURE_SETS)} (default cnn,geometry)")
    t.add_argument("--folds", type=int, default=5, help="k of the k-fold report (0: no report; default 5)")
    t.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="regressor argument, value as JSON (e.g. alpha=3, n_enhancement=800); repeatable")
    t.add_argument("--force", action="store_true", help="replace a model already in MODEL_DIR")
    t.add_argument("--json", action="store_true", help="print the report as JSON")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=run_train)

    r = actions.add_parser("predict", help="score the largest face of each image with a trained model",
                           description="Score the largest face of each image; images without a face are reported "
                                       "on stderr and make the exit code 2.")
    r.add_argument("model_dir", metavar="MODEL_DIR", help="folder written by `faceqa attributes train`")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    r.add_argument("--json", action="store_true",
                   help="print a JSON list of {target, image, score} or {target, image, error}")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    """Train, print the k-fold report and where the model went."""
    from pathlib import Path

    from faceqa.attributes.store import CONFIG_FILE
    from faceqa.attributes.train import train_attribute_model

    out = Path(args.out)
    if (out / CONFIG_FILE).exists() and not args.force:
        raise InvalidInputError(f"{args.out}: already holds a model; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{args.out}: exists and is not a folder")
    report = train_attribute_model(args.csv, args.target, out, model=args.model, feature_sets=args.features,
                                   folds=args.folds, image_column=args.image_column, group_column=args.group,
                                   params=parse_params(args.param), progress=not args.no_progress)
    for line, why in report.skipped.items():
        print(f"faceqa: skipped line {line}: {why}", file=sys.stderr)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"{report.n_faces} faces of {report.n_rows} rows; model {args.model} on {args.features}")
    if report.cv:
        cv = report.cv
        kind = "grouped " if cv["grouped"] else ""
        print(f"{cv['folds']}-fold {kind}cross-validation: Pearson {cv['pearson']:.3f} (+-{cv['std']['pearson']:.3f}), "
              f"MAE {cv['mae']:.4g}, RMSE {cv['rmse']:.4g}, fit {cv['fit_s']:.2f} s per fold")
    print(f"fitted on all faces in {report.fit_s:.2f} s; saved to {report.out}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Print one score per image; exit 2 when any image had no face or could not be read."""
    from faceqa.attributes.store import AttributeModel

    model = AttributeModel.load(args.model_dir)
    results = model.predict_images(args.images, progress=not args.no_progress)
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"faceqa: error: {r['error']}", file=sys.stderr)
    if args.json:
        print_json([{"target": model.target, **r} for r in results])
    else:
        for r in results:
            if "score" in r:
                print(f"{r['image']}\t{model.target}\t{r['score']:.4g}")
    return 2 if failed else 0
