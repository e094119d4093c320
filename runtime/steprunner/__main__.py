import sys

from steprunner.cli import main

sys.exit(main())
