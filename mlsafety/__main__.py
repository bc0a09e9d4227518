import sys

from mlsafety.cli import main

sys.exit(main())
