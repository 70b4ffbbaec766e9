"""``faceqa train-hesitancy --data BAH_FORMAT_DIR --out MODEL``: train the prototype-augmented fusion model."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train-hesitancy`` subcommand."""
    p = sub.add_parser("train-hesitancy", help="train the hesitancy fusion model on a BAH-format folder",
                       description="Measure the cues of every video in labels.csv (cached under features/), train "
                                   "the prototype-augmented fusion model on the train split and report macro F1 on "
                                   "the val split.")
    p.add_argument("--data", required=True, metavar="BAH_FORMAT_DIR", help="folder with labels.csv and the videos")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the model folder")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate, save."""
    from faceqa.hesitancy.train import train_on_folder

    r = train_on_folder(args.data, args.out, epochs=args.epochs, hidden=args.hidden, lr=args.lr, seed=args.seed)
    if args.json:
        print_json(r)
    else:
        print(f"trained on {r['train']} videos ({r['epochs']} epochs, final loss {r['final_loss']:.3f}); "
              f"val macro F1 {r['val_macro_f1'] if r['val_macro_f1'] is not None else 'n/a'}; model in {r['out']}")
    return 0
