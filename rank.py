"""Rank backbones before fine-tuning:  python rank.py model=minilm,tiny_bert [--against DIR]"""

import sys

from bakeoff.app.rank import main

if __name__ == "__main__":
    sys.exit(main())
