import sys

from spec_kitty.cli.main import main

sys.exit(main())
