"""``python -m mlsafety``: the ``mlsafety`` command line."""

import sys

from mlsafety.cli import main

if __name__ == "__main__":  # importing the module (as API doc tools do) runs nothing
    sys.exit(main())
